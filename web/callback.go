package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"callhook/internal/callback"
)

// handleCallback receives a provider callback. Fiber reuses its buffers after
// the handler returns, so everything the pipeline keeps is copied first.
func (s *Server) handleCallback(c *fiber.Ctx) error {
	start := time.Now()
	body := c.Body()
	in := callback.Inbound{
		ChannelID:  c.Params("channel"),
		Secret:     c.Params("secret"),
		Method:     c.Method(),
		RawQuery:   string(c.Request().URI().QueryString()),
		Header:     requestHeader(c),
		BodySize:   len(body),
		RemoteAddr: c.IP(),
		Scheme:     c.Protocol(),
		Host:       string(c.Request().Host()),
	}
	if len(body) > s.Config.MaxBody {
		in.TooLarge = true
		body = body[:min(len(body), 64<<10)]
	}
	in.Body = bytes.Clone(body)
	res := s.Callbacks.Handle(c.UserContext(), in)
	s.Metrics.observeCallback(res, time.Since(start))
	if res.ContentType != "" {
		c.Set(fiber.HeaderContentType, res.ContentType)
	}
	c.Status(res.Status)
	if res.CallbackID != 0 {
		c.Set("X-Callhook-Callback-Id", itoa(res.CallbackID))
	}
	return c.Send(res.Body)
}

// callbackLimit limits callbacks per channel per second when configured; a
// refused callback is still stored (reason rate_limited) so it can be replayed.
func (s *Server) callbackLimit() fiber.Handler {
	if s.Config.RateLimit <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max:               s.Config.RateLimit,
		Expiration:        time.Second,
		KeyGenerator:      func(c *fiber.Ctx) string { return "cb:" + c.Params("channel") },
		LimiterMiddleware: limiter.SlidingWindow{},
		LimitReached: func(c *fiber.Ctx) error {
			in := callback.Inbound{ChannelID: c.Params("channel"), Method: c.Method(), RateLimited: true,
				RawQuery: string(c.Request().URI().QueryString()), Header: requestHeader(c),
				Body: bytes.Clone(c.Body()), RemoteAddr: c.IP()}
			res := s.Callbacks.Handle(c.UserContext(), in)
			s.Metrics.observeCallback(res, 0)
			c.Set(fiber.HeaderRetryAfter, "1")
			return c.Status(res.Status).Type("json").Send(res.Body)
		},
	})
}

// recordTooLarge stores a callback Fiber refused before reading its body.
func (s *Server) recordTooLarge(c *fiber.Ctx) {
	in := callback.Inbound{
		ChannelID: c.Params("channel"), Method: c.Method(), TooLarge: true,
		RawQuery: string(c.Request().URI().QueryString()), Header: requestHeader(c),
		BodySize: c.Request().Header.ContentLength(), RemoteAddr: c.IP(),
	}
	if in.ChannelID == "" {
		rest := c.Path()[len(callback.Path):]
		if i := bytes.IndexByte([]byte(rest), '/'); i >= 0 {
			in.ChannelID = rest[:i]
		} else {
			in.ChannelID = rest
		}
	}
	res := s.Callbacks.Handle(c.UserContext(), in)
	s.Metrics.observeCallback(res, 0)
}

func requestHeader(c *fiber.Ctx) http.Header {
	h := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) {
		h.Add(string(k), string(v))
	})
	return h
}

func (s *Server) replayCallback(c *fiber.Ctx) error {
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
