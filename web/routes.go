package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"callhook/internal/voice"
	"callhook/static"
)

// routes lists every route of the app in one place. Handler names say what
// they serve: api… for the JSON API, …Page and …Fragment for the console's
// pages and live regions, noun + verb (channelCreate, alertRaise) for the
// console's forms, callbackReceive for the providers' callbacks.
func (s *Server) routes(app *fiber.App) {
	// Operations.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.Metrics.handler)

	// Provider callbacks: authenticated by the channel secret in the path.
	// Every request under the prefix goes to the pipeline, which stores it
	// (a malformed path as unknown_channel) and answers.
	app.All("/api/integrations/voice/callback/*", s.callbackReceive)

	// JSON API: viewers read, admins write.
	api := app.Group("/api/v1", s.identify, s.requireAPI)
	api.Get("/stream", s.apiStream)
	api.Get("/providers", s.apiListProviders)
	api.Get("/provider", s.apiGetProvider)
	api.Put("/provider", s.requireAdmin, s.apiPutProvider)

	api.Get("/channels", s.apiListChannels)
	api.Post("/channels", s.requireAdmin, s.apiCreateChannel)
	api.Get("/channels/:id", s.apiGetChannel)
	api.Patch("/channels/:id", s.requireAdmin, s.apiPatchChannel)
	api.Delete("/channels/:id", s.requireAdmin, s.apiDeleteChannel)
	api.Post("/channels/:id/rotate-secret", s.requireAdmin, s.apiRotateSecret)
	api.Post("/channels/:id/test-callback", s.requireAdmin, s.apiTestCallback)

	api.Get("/alerts", s.apiListAlerts)
	api.Post("/alerts", s.requireAdmin, s.apiCreateAlert)
	api.Get("/alerts/:id", s.apiGetAlert)
	// On-call staff (viewers) may acknowledge and resolve.
	api.Post("/alerts/:id/acknowledge", s.apiAlertAction(voice.ActionAcknowledge))
	api.Post("/alerts/:id/resolve", s.apiAlertAction(voice.ActionResolve))
	api.Post("/alerts/:id/call-again", s.requireAdmin, s.apiCallAgain)

	api.Get("/calls.csv", s.apiCallsCSV)
	api.Get("/calls", s.apiListCalls)
	api.Post("/calls", s.requireAdmin, s.apiCreateCall)
	api.Get("/calls/:id", s.apiGetCall)

	api.Get("/callbacks", s.apiListCallbacks)
	api.Get("/callbacks/:id", s.apiGetCallback)
	api.Post("/callbacks/:id/replay", s.requireAdmin, s.apiReplayCallback)

	api.Get("/stats", s.apiStats)
	api.All("/*", func(c *fiber.Ctx) error { return &httpError{status: fiber.StatusNotFound, msg: "no such API route"} })

	// Browser console: static files, sign-in, then the signed-in pages.
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 3600}))
	login := s.newSignIn()
	app.Get("/login", login.form)
	app.Post("/login", login.login)
	app.Post("/logout", s.identify, login.logout)
	app.Get("/live", s.identify, s.requireSession, s.liveStream)
	con := app.Group("", s.identify, s.requireSession)

	// Operations: dashboard, calls, alerts, callback inspector, stats, and
	// the HTML fragments their live regions re-fetch (each renders the same
	// templ component as the region on the full page).
	con.Get("/", s.dashboardPage)

	con.Get("/calls", s.callsPage)
	con.Get("/calls/:id", s.callPage)

	con.Get("/alerts", s.alertsPage)
	con.Post("/alerts", s.adminOnly, s.alertRaise)
	con.Get("/alerts/:id", s.alertPage)
	// On-call staff (viewers) may acknowledge and resolve.
	con.Post("/alerts/:id/acknowledge", s.alertAction(voice.ActionAcknowledge))
	con.Post("/alerts/:id/resolve", s.alertAction(voice.ActionResolve))
	con.Post("/alerts/:id/call-again", s.adminOnly, s.alertCallAgain)

	con.Get("/callbacks", s.callbacksPage)
	con.Get("/callbacks/:id", s.callbackPage)
	con.Post("/callbacks/:id/replay", s.adminOnly, s.callbackReplay)

	con.Get("/stats", s.statsPage)
	con.Get("/stats.csv", s.statsCSV)

	f := con.Group("/fragments", opsNoStore)
	f.Get("/dashboard/counters", s.dashboardCountersFragment)
	f.Get("/dashboard/alerts", s.dashboardAlertsFragment)
	f.Get("/dashboard/calls", s.dashboardCallsFragment)
	f.Get("/dashboard/callbacks", s.dashboardCallbacksFragment)
	f.Get("/calls", s.callsFragment)
	f.Get("/call/:id/facts", s.callFactsFragment)
	f.Get("/call/:id/timeline", s.callTimelineFragment)
	f.Get("/alerts", s.alertsFragment)
	f.Get("/alert/:id", s.alertFragment)
	f.Get("/callbacks", s.callbacksFragment)
	f.Get("/stats", s.statsFragment)

	// Configuration. Viewers may look at the channels (without secrets or
	// callback URLs); everything else, and every change, is for admins.
	con.Get("/settings/provider", s.adminOnly, s.providerPage)
	con.Post("/settings/provider", s.adminOnly, s.providerSave)

	con.Get("/channels", s.channelsPage)
	con.Post("/channels", s.adminOnly, s.channelCreate)
	con.Get("/channels/:id", s.channelPage)
	con.Post("/channels/:id/rename", s.adminOnly, s.channelRename)
	con.Post("/channels/:id/inbound", s.adminOnly, s.channelInbound)
	con.Post("/channels/:id/delete", s.adminOnly, s.channelDelete)
	con.Post("/channels/:id/provider", s.adminOnly, s.channelOverride)
	con.Post("/channels/:id/reveal", s.adminOnly, s.channelReveal)
	con.Post("/channels/:id/callback-url", s.adminOnly, s.channelCopyURL)
	con.Post("/channels/:id/rotate", s.adminOnly, s.channelRotate)
	con.Post("/channels/:id/dtmf", s.adminOnly, s.channelDTMF)
	con.Post("/channels/:id/dtmf/reset", s.adminOnly, s.channelDTMFReset)
	con.Post("/channels/:id/test", s.adminOnly, s.channelTest)

	con.Get("/users", s.adminOnly, s.usersPage)
	con.Post("/users", s.adminOnly, s.userCreate)
	con.Get("/users/tokens", s.adminOnly, s.tokensPage)
	con.Post("/users/tokens", s.adminOnly, s.tokenCreate)
	con.Post("/users/tokens/:id/revoke", s.adminOnly, s.tokenRevoke)
	con.Post("/users/:id/disable", s.adminOnly, s.userSetDisabled(true))
	con.Post("/users/:id/enable", s.adminOnly, s.userSetDisabled(false))
	con.Post("/users/:id/password", s.adminOnly, s.userPassword)

	app.Use(func(c *fiber.Ctx) error {
		return &httpError{status: fiber.StatusNotFound, msg: "There is no page at " + c.Path() + "."}
	})
}
