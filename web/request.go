package web

// Request helpers: reading ids, bodies, forms, filters and headers out of a
// Fiber request. Every handler file uses these.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func paramID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &httpError{status: fiber.StatusNotFound, msg: "not found"}
	}
	return id, nil
}

// afterParam reads ?after=SEQ, where a live stream resumes: -1 when absent.
func afterParam(c *fiber.Ctx) (int64, error) {
	v := c.Query("after")
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("after must be a sequence number")
	}
	return n, nil
}

// decode reads a JSON body strictly.
func decode(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return badRequest("request body is empty; send JSON")
	}
	dec := json.NewDecoder(strings.NewReader(string(c.Body())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON: " + err.Error())
	}
	return nil
}

func listFilter(c *fiber.Ctx) (store.ListFilter, error) {
	f := store.ListFilter{
		Status: c.Query("status"), ChannelID: c.Query("channel_id"), ProviderCallID: c.Query("provider_call_id"),
		Outcome: c.Query("outcome"), Cursor: c.Query("cursor"),
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, badRequest("limit must be a positive number")
		}
		f.Limit = n
	}
	if v := c.Query("alert_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return f, badRequest("alert_id must be a number")
		}
		f.AlertID = n
	}
	return f, nil
}

func who(c *fiber.Ctx) string {
	p, _ := principal(c)
	return p.Name
}

// formText is a trimmed copy of a form field, and pathParam a copy of a path
// parameter: Fiber reuses the request buffer after the handler returns, and
// services may keep what they are given (the live feed publishes after commit).
func formText(c *fiber.Ctx, key string) string {
	return strings.Clone(strings.TrimSpace(c.FormValue(key)))
}

func pathParam(c *fiber.Ctx, key string) string { return strings.Clone(c.Params(key)) }

func requestHeader(c *fiber.Ctx) http.Header {
	h := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) {
		h.Add(string(k), string(v))
	})
	return h
}
