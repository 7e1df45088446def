package web

import (
	"github.com/gofiber/fiber/v2"

	"callhook/internal/voice"
)

// routes lists every route of the app in one place.
func (s *Server) routes(app *fiber.App) {
	// Operations.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.Metrics.handler)

	// Provider callbacks: authenticated by the channel secret in the path.
	// Every request under the prefix goes to the pipeline, which stores it
	// (a malformed path as unknown_channel) and answers.
	app.All("/api/integrations/voice/callback/*", s.handleCallback)

	// JSON API: viewers read, admins write.
	api := app.Group("/api/v1", s.identify, s.requireAPI)
	api.Get("/stream", s.stream)
	api.Get("/providers", s.listProviders)
	api.Get("/provider", s.getProvider)
	api.Put("/provider", s.requireAdmin, s.putProvider)

	api.Get("/channels", s.listChannels)
	api.Post("/channels", s.requireAdmin, s.createChannel)
	api.Get("/channels/:id", s.getChannel)
	api.Patch("/channels/:id", s.requireAdmin, s.patchChannel)
	api.Delete("/channels/:id", s.requireAdmin, s.deleteChannel)
	api.Post("/channels/:id/rotate-secret", s.requireAdmin, s.rotateSecret)
	api.Post("/channels/:id/test-callback", s.requireAdmin, s.testCallback)

	api.Get("/alerts", s.listAlerts)
	api.Post("/alerts", s.requireAdmin, s.createAlert)
	api.Get("/alerts/:id", s.getAlert)
	// On-call staff (viewers) may acknowledge and resolve.
	api.Post("/alerts/:id/acknowledge", s.alertAction(voice.ActionAcknowledge))
	api.Post("/alerts/:id/resolve", s.alertAction(voice.ActionResolve))
	api.Post("/alerts/:id/call-again", s.requireAdmin, s.callAgain)

	api.Get("/calls.csv", s.callsCSV)
	api.Get("/calls", s.listCalls)
	api.Post("/calls", s.requireAdmin, s.createCall)
	api.Get("/calls/:id", s.getCall)

	api.Get("/callbacks", s.listCallbacks)
	api.Get("/callbacks/:id", s.getCallback)
	api.Post("/callbacks/:id/replay", s.requireAdmin, s.replayCallback)

	api.Get("/stats", s.stats)
	api.All("/*", func(c *fiber.Ctx) error { return &httpError{status: fiber.StatusNotFound, msg: "no such API route"} })

	// Browser console: its live fragments, then its pages.
	app.Get("/live", s.identify, s.requireSession, s.consoleStream)
	s.consoleRoutes(app)
}
