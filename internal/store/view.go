package store

import (
	gojson "github.com/goccy/go-json"

	"callhook/internal/voice"
)

// The JSON shapes of the API (docs/architecture.md, "Data model"), shared by the API, the live feed and the console.

// View returns the API shape of e.
func (e *Event) View() voice.EventView {
	v := voice.EventView{ID: e.ID, CallID: e.CallID, EventType: e.EventType, Status: e.Status, Digit: e.Digit,
		Action: e.Action, Applied: e.Applied, Native: e.Native, Message: e.Message,
		OccurredAt: e.OccurredAt, ReceivedAt: e.ReceivedAt, CallbackID: e.CallbackID, ProviderCallID: e.ProviderCallID}
	if e.Seq >= 0 {
		s := e.Seq
		v.Seq = &s
	}
	return v
}

// View returns the API shape of c, without events.
func (c *Call) View() voice.CallView {
	return voice.CallView{ID: c.ID, ChannelID: c.ChannelID, AlertID: c.AlertID, Provider: c.Provider,
		ProviderCallID: c.ProviderCallID, Direction: c.Direction, From: c.From, To: c.To, Message: c.Message,
		Status: c.Status, DurationS: c.DurationS, MOS: c.MOS, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// View returns the API shape of a, without calls.
func (a *Alert) View() voice.AlertView {
	return voice.AlertView{ID: a.ID, Title: a.Title, Message: a.Message, Severity: a.Severity, State: a.State,
		ChannelID: a.ChannelID, Mode: a.Mode, PendingTargets: a.PendingTargets, AcknowledgedBy: a.AcknowledgedBy, AcknowledgedAt: a.AcknowledgedAt,
		ResolvedBy: a.ResolvedBy, ResolvedAt: a.ResolvedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Calls: []voice.CallView{}}
}

// View returns the API shape of cb; full adds headers and the raw body.
func (cb *Callback) View(full bool) voice.CallbackView {
	v := voice.CallbackView{ID: cb.ID, ChannelID: cb.ChannelID, Provider: cb.Provider, Method: cb.Method, Path: cb.Path,
		Query: cb.Query, ContentType: cb.ContentType, BodySize: cb.BodySize, BodyTruncated: cb.BodyTruncated,
		Outcome: cb.Outcome, Reason: cb.Reason, Error: cb.Error, StatusCode: cb.StatusCode,
		EventCount: cb.EventCount, ReplayOf: cb.ReplayOf, Replayable: cb.SecretOK, ReceivedAt: cb.ReceivedAt}
	if full {
		v.Headers = cb.Headers
		b := string(cb.Body)
		v.Body = &b
	}
	return v
}

// encodeJSON is json.Marshal for the write path: the feed's views, a
// callback's headers and an event's values are encoded for every callback,
// and goccy/go-json does it in half encoding/json's time, to the same JSON
// (TestEncodeJSONMatchesEncodingJSON).
func encodeJSON(v any) ([]byte, error) { return gojson.Marshal(v) }

func mustJSON(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
