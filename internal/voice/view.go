package voice

import "time"

// The read shapes of callhook's entities: what the JSON API returns, what
// the live stream carries and what the console renders (docs/architecture.md,
// "Data model").

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
	// ProviderCallID is the provider's id of the call the event is about,
	// set whether or not the event matched a call.
	ProviderCallID string `json:"provider_call_id"`
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

// AlertView is an alert as the API shows it.
type AlertView struct {
	ID             int64        `json:"id"`
	Title          string       `json:"title"`
	Message        string       `json:"message"`
	Severity       string       `json:"severity"`
	State          string       `json:"state"`
	ChannelID      *string      `json:"channel_id"`
	Mode           string       `json:"mode"`
	PendingTargets []string     `json:"pending_targets,omitempty"`
	AcknowledgedBy *string      `json:"acknowledged_by"`
	AcknowledgedAt *time.Time   `json:"acknowledged_at,omitempty"`
	ResolvedBy     *string      `json:"resolved_by"`
	ResolvedAt     *time.Time   `json:"resolved_at,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Calls          []CallView   `json:"calls"`
	Changes        []ChangeView `json:"changes,omitempty"`
}

// CallsFailed reports whether a firing alert has called and reached nobody:
// it has calls, and every one ended failed, busy or unanswered (so none is
// still in progress). The console says so out loud, with a Call again
// button for admins.
func (a AlertView) CallsFailed() bool {
	if a.State != string(AlertFiring) || len(a.Calls) == 0 {
		return false
	}
	for _, c := range a.Calls {
		switch Status(c.Status) {
		case StatusFailed, StatusBusy, StatusNoAnswer:
		default:
			return false
		}
	}
	return true
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

// Stat is the call statistics of one channel and provider.
type Stat struct {
	ChannelID     string   `json:"channel_id"`
	Provider      string   `json:"provider"`
	Calls         int      `json:"calls"`
	Answered      int      `json:"answered"`
	AnsweredRate  float64  `json:"answered_rate"`
	TotalDuration float64  `json:"total_duration_s"`
	MeanDuration  *float64 `json:"mean_duration_s"`
	MeanMOS       *float64 `json:"mean_mos"`
}

// FeedItem is one row of the live feed: what the console and API streams
// receive, in commit order. Seq is the resume point of /api/v1/stream.
type FeedItem struct {
	Seq       int64     `json:"seq"`
	Type      string    `json:"type"`
	CallID    *int64    `json:"call_id"`
	AlertID   *int64    `json:"alert_id"`
	ChannelID *string   `json:"channel_id"`
	Data      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Feed types.
const (
	FeedCallCreated   = "call.created"
	FeedCallUpdated   = "call.updated"
	FeedEvent         = "event"
	FeedAlertCreated  = "alert.created"
	FeedAlertUpdated  = "alert.updated"
	FeedCallback      = "callback"
	FeedChannelChange = "channel.changed"
)
