package web

import "github.com/gofiber/fiber/v2"

// consoleOpsRoutes registers the operations pages. (Console work fills it in.)
func (s *Server) consoleOpsRoutes(r fiber.Router) {}
