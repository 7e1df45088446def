package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/auth"
	"callhook/internal/callback"
	"callhook/internal/dispatch"
	"callhook/internal/voice"
)

// httpError is an error with the status it should be answered with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{status: http.StatusBadRequest, msg: msg} }

// statusOf maps an error to an HTTP status and a message safe to show.
func statusOf(err error) (int, string) {
	var he *httpError
	var fe *fiber.Error
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &fe):
		return fe.Code, fe.Message
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized, err.Error()
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, "forbidden: this needs an admin"
	case errors.Is(err, voice.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, voice.ErrConflict), errors.Is(err, callback.ErrNotReplayable):
		return http.StatusConflict, err.Error()
	case errors.Is(err, voice.ErrInvalid):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, dispatch.ErrPlaceFailed):
		return http.StatusBadGateway, err.Error()
	case errors.Is(err, voice.ErrUnavailable):
		return http.StatusServiceUnavailable, "database unavailable; retry later"
	}
	return http.StatusInternalServerError, "internal error"
}

// errorHandler is the one place errors become responses: JSON for the API,
// an HTML page for the console.
func (s *Server) errorHandler(c *fiber.Ctx, err error) (out error) {
	// fasthttp calls this for requests it refused before routing, outside
	// the recover middleware: a panic here must not end the process.
	defer func() {
		if r := recover(); r != nil {
			s.panicked(c, r)
			out = c.Status(http.StatusInternalServerError).SendString("internal error")
		}
	}()
	code, msg := statusOf(err)
	path := c.Path()
	if code == http.StatusRequestEntityTooLarge && strings.HasPrefix(path, callback.Path) {
		// Fiber refused the body before routing: the callback is still the
		// pipeline's to store and answer.
		return s.callbackRefused(c)
	}
	if code >= 500 {
		s.Log.Error("request failed", "method", c.Method(), "path", redactPath(path), "status", code, "err", err)
	}
	if wantsHTML(c) {
		return s.renderError(c, code, msg)
	}
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

func wantsHTML(c *fiber.Ctx) bool {
	p := c.Path()
	if strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
		return false
	}
	return true
}

// redactPath hides the channel secret of callback paths in logs.
func redactPath(p string) string {
	if rest, ok := strings.CutPrefix(p, callback.Path); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return callback.Path + rest[:i] + "/…"
		}
	}
	return p
}
