package web

import "github.com/gofiber/fiber/v2"

// consoleAdminRoutes registers the configuration pages. (Console work fills it in.)
func (s *Server) consoleAdminRoutes(r fiber.Router) {}
