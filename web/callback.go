package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/callback"
)

// callbackTarget splits a path under the callback prefix into channel id and
// secret. ok is false for any other shape (an empty segment, an extra one),
// which the pipeline stores as a malformed request. It reads the path itself
// rather than route params, so it also works for requests Fiber refused
// before routing (a body over the limit).
func callbackTarget(path string) (channel, secret string, ok bool) {
	rest, found := strings.CutPrefix(path, callback.Path)
	if !found {
		return "", "", false
	}
	channel, secret, found = strings.Cut(rest, "/")
	if !found || channel == "" || secret == "" || strings.Contains(secret, "/") {
		return channel, "", false
	}
	return channel, secret, true
}

// inboundOf copies what the pipeline keeps of a callback request: Fiber
// reuses its buffers after the handler returns.
func inboundOf(c *fiber.Ctx, body []byte) callback.Inbound {
	channel, secret, ok := callbackTarget(c.Path())
	return callback.Inbound{
		ChannelID:  channel,
		Secret:     secret,
		Malformed:  !ok,
		Method:     c.Method(),
		RawQuery:   string(c.Request().URI().QueryString()),
		URLSize:    len(c.Request().RequestURI()),
		Header:     requestHeader(c),
		Body:       bytes.Clone(body),
		BodySize:   len(body),
		RemoteAddr: c.IP(),
		Scheme:     c.Protocol(),
		Host:       string(c.Request().Host()),
	}
}

// callbackReceive receives every request under the callback prefix, whatever
// its path: the pipeline stores each one, malformed or not.
func (s *Server) callbackReceive(c *fiber.Ctx) error {
	body := c.Body()
	tooLarge := len(body) > s.Config.MaxBody
	if tooLarge {
		body = body[:min(len(body), 64<<10)]
	}
	in := inboundOf(c, body)
	in.TooLarge = tooLarge
	if tooLarge {
		in.BodySize = len(c.Body())
	}
	return s.callbackAnswer(c, in)
}

// callbackRefused stores a callback request Fiber refused before routing
// (its body over Fiber's limit, announced or chunked) and answers it.
func (s *Server) callbackRefused(c *fiber.Ctx) error {
	in := inboundOf(c, nil)
	in.TooLarge = true
	in.BodySize = max(c.Request().Header.ContentLength(), 0)
	return s.callbackAnswer(c, in)
}

// callbackAnswer runs in through the pipeline, counts it and writes the
// pipeline's answer.
func (s *Server) callbackAnswer(c *fiber.Ctx, in callback.Inbound) error {
	start := time.Now()
	res := s.Callbacks.Handle(c.UserContext(), in)
	s.Metrics.observeCallback(res, time.Since(start))
	if res.ContentType != "" {
		c.Set(fiber.HeaderContentType, res.ContentType)
	}
	c.Status(res.Status)
	if res.CallbackID != 0 {
		c.Set("X-Callhook-Callback-Id", itoa(res.CallbackID))
	}
	if res.Status == http.StatusTooManyRequests {
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	return c.Send(res.Body)
}

func (s *Server) apiReplayCallback(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	res, err := s.Callbacks.Replay(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(replayStatus(res)).JSON(replayView(res))
}

func replayStatus(res callback.Result) int {
	if res.Status == http.StatusServiceUnavailable {
		return res.Status
	}
	return http.StatusOK
}

// ReplayResult is the answer to a replay or a test callback.
type ReplayResult struct {
	CallbackID     int64         `json:"callback_id"`
	Outcome        string        `json:"outcome"`
	Reason         string        `json:"reason,omitempty"`
	Error          string        `json:"error,omitempty"`
	ProviderStatus int           `json:"provider_status"`
	Reply          string        `json:"reply"`
	Events         []ReplayEvent `json:"events"`
}

// ReplayEvent is one event of a replay result.
type ReplayEvent struct {
	CallID    string `json:"call_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Digit     string `json:"digit,omitempty"`
	Action    string `json:"action,omitempty"`
	Applied   bool   `json:"applied"`
	Matched   bool   `json:"matched"`
}

func replayView(res callback.Result) ReplayResult {
	out := ReplayResult{CallbackID: res.CallbackID, Outcome: res.Outcome, Reason: res.Reason, Error: res.Error,
		ProviderStatus: res.Status, Reply: string(res.Body), Events: []ReplayEvent{}}
	for _, a := range res.Events {
		out.Events = append(out.Events, ReplayEvent{CallID: a.Event.CallID, EventType: string(a.Event.Type),
			Status: string(a.Event.Status), Digit: a.Event.Digit, Action: string(a.Action), Applied: a.Changed, Matched: a.Matched})
	}
	return out
}
