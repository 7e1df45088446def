package web

import "github.com/gofiber/fiber/v2"

// consoleAuthRoutes registers sign-in and sign-out. (Console work fills it in.)
func (s *Server) consoleAuthRoutes(app *fiber.App) {}
