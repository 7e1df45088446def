package web

import (
	"github.com/gofiber/fiber/v2"

	"callhook/internal/voice"
)

// callAgainResult is the answer to POST /api/v1/alerts/{id}/call-again: the
// new calls' ids and the alert with all its calls.
type callAgainResult struct {
	CallIDs []int64         `json:"call_ids"`
	Alert   voice.AlertView `json:"alert"`
}

// callAgain places a new call to each distinct number the alert's calls
// went to, through the dispatcher as creating an alert does (admins only).
// A resolved alert is a 409; one without outbound calls a 400.
func (s *Server) apiCallAgain(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ids, err := s.Dispatch.CallAgain(c.UserContext(), id)
	if err != nil {
		return err
	}
	v, err := s.Store.AlertView(c.UserContext(), id)
	if err != nil {
		return err
	}
	s.Log.Info("alert called again", "alert", id, "by", who(c), "calls", len(ids))
	return c.JSON(callAgainResult{CallIDs: ids, Alert: v})
}
