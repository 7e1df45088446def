package store

import (
	"encoding/json"
	"time"
)

// The JSON shapes of SPEC §3, shared by the API, the live feed and the console.

// EventView is an event as the API shows it.
type EventView struct {
	ID         int64      `json:"id"`
	CallID     *int64     `json:"call_id,omitempty"`
	EventType  string     `json:"event_type"`
	Status     string     `json:"status"`
	Digit      string     `json:"digit"`
	Action     string     `json:"action"`
	Applied    bool       `json:"applied"`
	Native     string     `json:"provider_event"`
	Message    string     `json:"message"`
	Seq        *int64     `json:"sequence,omitempty"`
	OccurredAt *time.Time `json:"occurred_at"`
	ReceivedAt time.Time  `json:"received_at"`
	CallbackID int64      `json:"callback_id"`
}

// View returns the API shape of e.
func (e *Event) View() EventView {
	v := EventView{ID: e.ID, CallID: e.CallID, EventType: e.EventType, Status: e.Status, Digit: e.Digit,
		Action: e.Action, Applied: e.Applied, Native: e.Native, Message: e.Message,
		OccurredAt: e.OccurredAt, ReceivedAt: e.ReceivedAt, CallbackID: e.CallbackID}
	if e.Seq >= 0 {
		s := e.Seq
		v.Seq = &s
	}
	return v
}

// CallView is a call as the API shows it.
type CallView struct {
	ID             int64       `json:"id"`
	ChannelID      string      `json:"channel_id"`
	AlertID        *int64      `json:"alert_id"`
	Provider       string      `json:"provider"`
	ProviderCallID string      `json:"provider_call_id"`
	Direction      string      `json:"direction"`
	From           string      `json:"from"`
	To             string      `json:"to"`
	Message        string      `json:"message,omitempty"`
	Status         string      `json:"status"`
	DurationS      *float64    `json:"duration_s"`
	MOS            *float64    `json:"mos"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	Events         []EventView `json:"events,omitempty"`
}

// View returns the API shape of c, without events.
func (c *Call) View() CallView {
	return CallView{ID: c.ID, ChannelID: c.ChannelID, AlertID: c.AlertID, Provider: c.Provider,
		ProviderCallID: c.ProviderCallID, Direction: c.Direction, From: c.From, To: c.To, Message: c.Message,
		Status: c.Status, DurationS: c.DurationS, MOS: c.MOS, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// AlertView is an alert as the API shows it.
type AlertView struct {
	ID             int64        `json:"id"`
	Title          string       `json:"title"`
	Message        string       `json:"message"`
	Severity       string       `json:"severity"`
	State          string       `json:"state"`
	ChannelID      *string      `json:"channel_id"`
	AcknowledgedBy *string      `json:"acknowledged_by"`
	AcknowledgedAt *time.Time   `json:"acknowledged_at,omitempty"`
	ResolvedBy     *string      `json:"resolved_by"`
	ResolvedAt     *time.Time   `json:"resolved_at,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Calls          []CallView   `json:"calls"`
	Changes        []ChangeView `json:"changes,omitempty"`
}

// ChangeView is one alert state change.
type ChangeView struct {
	FromState string    `json:"from_state"`
	ToState   string    `json:"to_state"`
	Actor     string    `json:"actor"`
	Via       string    `json:"via"`
	CallID    *int64    `json:"call_id,omitempty"`
	Digit     *string   `json:"digit,omitempty"`
	At        time.Time `json:"at"`
}

// View returns the API shape of a, without calls.
func (a *Alert) View() AlertView {
	return AlertView{ID: a.ID, Title: a.Title, Message: a.Message, Severity: a.Severity, State: a.State,
		ChannelID: a.ChannelID, AcknowledgedBy: a.AcknowledgedBy, AcknowledgedAt: a.AcknowledgedAt,
		ResolvedBy: a.ResolvedBy, ResolvedAt: a.ResolvedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Calls: []CallView{}}
}

// CallbackView is a stored callback as the API shows it.
type CallbackView struct {
	ID            int64               `json:"id"`
	ChannelID     string              `json:"channel_id"`
	Provider      string              `json:"provider"`
	Method        string              `json:"method"`
	Path          string              `json:"path"`
	Query         string              `json:"query"`
	ContentType   string              `json:"content_type"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Body          *string             `json:"body,omitempty"`
	BodySize      int                 `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated"`
	Outcome       string              `json:"outcome"`
	Reason        string              `json:"reason,omitempty"`
	Error         string              `json:"error,omitempty"`
	StatusCode    int                 `json:"status_code"`
	EventCount    int                 `json:"event_count"`
	ReplayOf      *int64              `json:"replay_of,omitempty"`
	Replayable    bool                `json:"replayable"`
	ReceivedAt    time.Time           `json:"received_at"`
	Events        []EventView         `json:"events,omitempty"`
}

// View returns the API shape of cb; full adds headers and the raw body.
func (cb *Callback) View(full bool) CallbackView {
	v := CallbackView{ID: cb.ID, ChannelID: cb.ChannelID, Provider: cb.Provider, Method: cb.Method, Path: cb.Path,
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

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
