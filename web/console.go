package web

import (
	"github.com/gofiber/fiber/v2"
)

// consoleRoutes registers the browser console. (Filled in by the console work.)
func (s *Server) consoleRoutes(app *fiber.App) {}

// renderError shows an error page to a browser.
func (s *Server) renderError(c *fiber.Ctx, code int, msg string) error {
	return c.Status(code).SendString(msg)
}
