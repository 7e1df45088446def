// Package web is callhook's HTTP layer: a Fiber app whose every route is
// listed in routes.go, thin handlers that parse, call a service and render,
// one error handler, and the WebSocket adapter for live updates.
package web

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"
	fiberrecover "github.com/gofiber/fiber/v2/middleware/recover"

	"callhook/internal/auth"
	"callhook/internal/callback"
	"callhook/internal/channel"
	"callhook/internal/dispatch"
	"callhook/internal/live"
	"callhook/internal/provider"
	"callhook/internal/settings"
	"callhook/internal/store"
)

// Config is what the HTTP layer needs to know about the installation.
type Config struct {
	PublicURL string
	// MaxBody is the callback body limit in bytes.
	MaxBody int
	// SecureCookies sets the Secure flag on cookies (on when PublicURL is https).
	SecureCookies bool
	// LoginLimit is how many failed sign-ins per minute an address may make (default 10).
	LoginLimit int
}

// Server holds the services the handlers call.
type Server struct {
	Config    Config
	Store     *store.Store
	Auth      *auth.Service
	Channels  *channel.Manager
	Dispatch  *dispatch.Dispatcher
	Callbacks *callback.Service
	Settings  *settings.Settings
	Providers *provider.Registry
	Hub       *live.Hub
	Log       *slog.Logger
	Metrics   *Metrics
	// Started is when the process started (shown on the console).
	Started time.Time

	conns *connTracker
}

// New builds the Fiber app with every route.
func New(s *Server) *fiber.App {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics(s.Hub)
	}
	if s.Config.MaxBody <= 0 {
		s.Config.MaxBody = 1 << 20
	}
	s.conns = newConnTracker()
	app := fiber.New(fiber.Config{
		// Fiber refuses bodies over BodyLimit before any handler runs; keep it
		// above MaxBody so the callback handler can store what it rejects.
		BodyLimit:             s.Config.MaxBody*2 + 64<<10,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Room for a callback URL over the pipeline's 4 KiB limit, so that
		// it reaches the pipeline and is stored as refused; a request whose
		// headers overflow even this is refused by fasthttp with 431.
		ReadBufferSize: 16 << 10,
		// Multipart bodies are not parsed before routing: the pipeline
		// refuses them by content type (and stores them).
		DisablePreParseMultipartForm: true,
		AppName:                      "callhook",
		// Values taken from a request (params, headers, form values) outlive
		// the handler: the pipeline publishes them after the reply. Immutable
		// makes Fiber hand out copies instead of views of reused buffers.
		Immutable: true,
	})
	app.Use(fiberrecover.New(fiberrecover.Config{EnableStackTrace: true, StackTraceHandler: s.panicked}))
	app.Use(s.securityHeaders())
	s.routes(app)
	return app
}

// panicked logs a handler's panic with its stack and counts it; the recover
// middleware then answers 500 through the error handler.
func (s *Server) panicked(c *fiber.Ctx, e any) {
	s.Metrics.Panicked()
	s.Log.Error("panic recovered", "method", c.Method(), "path", redactPath(c.Path()), "panic", fmt.Sprint(e),
		"stack", string(debug.Stack()))
}

// recoverLive logs and counts a panic of a live connection's goroutine.
func (s *Server) recoverLive() {
	if e := recover(); e != nil {
		s.Metrics.Panicked()
		s.Log.Error("panic recovered", "in", "live connection", "panic", fmt.Sprint(e), "stack", string(debug.Stack()))
	}
}

// CloseConnections closes hijacked WebSocket connections; Fiber's shutdown
// does not track them.
func (s *Server) CloseConnections() {
	if s.Hub != nil {
		s.Hub.Close()
	}
	s.conns.closeAll()
}
