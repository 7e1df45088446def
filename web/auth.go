package web

import (
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/auth"
)

// SessionCookie names the console session cookie.
const SessionCookie = "callhook_session"

const principalKey = "principal"

// identify sets the request's principal from a bearer token or a session
// cookie, if either is valid. It never rejects.
func (s *Server) identify(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			p, err := s.Auth.Token(ctx, strings.TrimSpace(tok))
			if err != nil {
				return err
			}
			c.Locals(principalKey, p)
			return c.Next()
		}
	}
	if v := c.Cookies(SessionCookie); v != "" {
		if p, err := s.Auth.Session(ctx, v); err == nil {
			c.Locals(principalKey, p)
		}
	}
	return c.Next()
}

// principal returns the request's principal, if any.
func principal(c *fiber.Ctx) (auth.Principal, bool) {
	p, ok := c.Locals(principalKey).(auth.Principal)
	return p, ok
}

// requireAPI rejects requests without a principal (401) and checks CSRF on
// unsafe requests made with a session cookie.
func (s *Server) requireAPI(c *fiber.Ctx) error {
	p, ok := principal(c)
	if !ok {
		return auth.ErrUnauthorized
	}
	if err := checkCSRF(c, p); err != nil {
		return err
	}
	return c.Next()
}

// requireAdmin rejects non-admins (403).
func (s *Server) requireAdmin(c *fiber.Ctx) error {
	p, ok := principal(c)
	if !ok {
		return auth.ErrUnauthorized
	}
	if !p.Admin() {
		return auth.ErrForbidden
	}
	return c.Next()
}

func isSafe(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// checkCSRF requires the session's CSRF token on unsafe cookie-authenticated
// requests, in the X-CSRF-Token header or the _csrf field of a form body.
func checkCSRF(c *fiber.Ctx, p auth.Principal) error {
	if p.Via != "session" || isSafe(c.Method()) {
		return nil
	}
	tok := c.Get("X-CSRF-Token")
	if tok == "" {
		tok = bodyCSRF(c)
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(p.CSRF)) != 1 {
		return &httpError{status: fiber.StatusForbidden, msg: "invalid or missing CSRF token; reload the page and try again"}
	}
	return nil
}
