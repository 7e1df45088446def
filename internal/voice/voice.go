// Package voice holds callhook's domain nouns: calls, their normalized
// statuses and events, alerts and the DTMF mapping that turns keypad input
// into alert actions. It imports no framework; every other package speaks it.
package voice

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status is a normalized call status, the same for every provider.
type Status string

// The normalized statuses. Completed, Failed, Busy, NoAnswer and Cancelled are terminal.
const (
	StatusQueued    Status = "queued"
	StatusRinging   Status = "ringing"
	StatusAnswered  Status = "answered"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusBusy      Status = "busy"
	StatusNoAnswer  Status = "no_answer"
	StatusCancelled Status = "cancelled"
	StatusUnknown   Status = "unknown"
)

// Statuses lists every normalized status in lifecycle order.
var Statuses = []Status{StatusQueued, StatusRinging, StatusAnswered, StatusCompleted,
	StatusFailed, StatusBusy, StatusNoAnswer, StatusCancelled, StatusUnknown}

// rank orders statuses along the call lifecycle. Terminal statuses share the
// highest rank so that one terminal status never replaces another.
func (s Status) rank() int {
	switch s {
	case StatusQueued:
		return 1
	case StatusRinging:
		return 2
	case StatusAnswered:
		return 3
	case StatusCompleted, StatusFailed, StatusBusy, StatusNoAnswer, StatusCancelled:
		return 4
	}
	return 0
}

// Valid reports whether s is one of the normalized statuses.
func (s Status) Valid() bool { return s == StatusUnknown || s.rank() > 0 }

// Terminal reports whether a call in status s is over.
func (s Status) Terminal() bool { return s.rank() == 4 }

// Advance returns the status a call moves to when an event with status next
// arrives while it is in cur. The current status never moves backwards: a late
// "ringing" after "answered" or anything after a terminal status is kept in the
// timeline but does not change the call. Unknown never replaces a known status.
func Advance(cur, next Status) (Status, bool) {
	if next.rank() == 0 || cur.Terminal() || next.rank() < cur.rank() {
		return cur, false
	}
	if next == cur {
		return cur, false
	}
	return next, true
}

// ParseStatus accepts a normalized status name (and the common "no-answer"
// and "canceled" spellings); anything else is an error.
func ParseStatus(s string) (Status, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "no-answer", "noanswer":
		v = string(StatusNoAnswer)
	case "canceled":
		v = string(StatusCancelled)
	}
	st := Status(v)
	if !st.Valid() {
		return "", fmt.Errorf("unknown status %q", s)
	}
	return st, nil
}

// EventType says what kind of fact an event carries.
type EventType string

// The event types.
const (
	EventStatus EventType = "status"
	EventDTMF   EventType = "dtmf"
	EventError  EventType = "error"
)

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return t == EventStatus || t == EventDTMF || t == EventError }

// Direction of a call.
type Direction string

// Call directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// Event is one normalized fact taken from a provider callback.
type Event struct {
	// CallID is the provider's call id (Twilio CallSid, Telnyx call_control_id, ...).
	CallID string
	// AltCallID is another id the provider may have given the call when it was
	// placed (Plivo's RequestUUID); a call not found by CallID is looked up by it.
	AltCallID string
	Type      EventType
	Status    Status
	// Digit is the keypad input as a string (multi-digit allowed).
	Digit string
	// Action is an explicit alert action carried by the payload (generic provider);
	// it wins over the channel's DTMF mapping.
	Action Action
	// Native is the provider's own label for the event (status-callback, call.hangup, ...).
	Native  string
	Message string
	// OccurredAt is when the provider says it happened; zero if the provider gave no time.
	OccurredAt time.Time
	// Sequence orders events of one call where the provider numbers them; -1 if not.
	Sequence int64
	// IdempotencyKey is the provider's own retry key (e.g. CallSid+SequenceNumber);
	// empty means "deduplicate by the raw body".
	IdempotencyKey string
	Direction      Direction
	From, To       string
	// DurationS and MOS are set when the provider reports them (terminal events).
	DurationS *float64
	MOS       *float64
	// Notify is a console client identity (e.g. "bob" of Twilio's "client:bob")
	// to which an inbound call notification is delivered live.
	Notify string
	// Raw holds provider-native values worth keeping beside the raw body.
	Raw map[string]string
}

// Action is what a DTMF input does to an alert.
type Action string

// The alert actions.
const (
	ActionNone        Action = ""
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// ParseAction accepts "acknowledge" or "resolve" (case-insensitive, "ack" too).
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "acknowledge", "ack", "acknowledged":
		return ActionAcknowledge, nil
	case "resolve", "resolved":
		return ActionResolve, nil
	}
	return "", fmt.Errorf("unknown action %q (want acknowledge or resolve)", s)
}

// DTMFMap maps exact digit strings to actions.
type DTMFMap map[string]Action

// DefaultDTMFMap is the mapping a new channel gets: 1 acknowledges, 2 resolves.
func DefaultDTMFMap() DTMFMap {
	return DTMFMap{"1": ActionAcknowledge, "2": ActionResolve}
}

// ErrInvalidDTMFMap is wrapped by Validate's errors.
var ErrInvalidDTMFMap = errors.New("invalid DTMF mapping")

// Validate checks that every key is 1–16 characters of 0-9 * # and every value a known action.
func (m DTMFMap) Validate() error {
	for k, a := range m {
		if k == "" || len(k) > 16 {
			return fmt.Errorf("%w: digits %q must be 1 to 16 characters", ErrInvalidDTMFMap, k)
		}
		for _, r := range k {
			if !strings.ContainsRune("0123456789*#", r) {
				return fmt.Errorf("%w: digits %q may only use 0-9, * and #", ErrInvalidDTMFMap, k)
			}
		}
		if a != ActionAcknowledge && a != ActionResolve {
			return fmt.Errorf("%w: action %q for %q must be acknowledge or resolve", ErrInvalidDTMFMap, a, k)
		}
	}
	return nil
}

// Resolve returns the action for an event: an explicit action in the payload
// wins, else the mapping of the exact digit string, else none. A trailing "#"
// (a finish key some providers include) is tried without it too.
func (m DTMFMap) Resolve(e Event) Action {
	if e.Action != ActionNone {
		return e.Action
	}
	if e.Type != EventDTMF || e.Digit == "" {
		return ActionNone
	}
	if a, ok := m[e.Digit]; ok {
		return a
	}
	if d := strings.TrimSuffix(e.Digit, "#"); d != e.Digit && d != "" {
		return m[d]
	}
	return ActionNone
}

// AlertState is where an alert is in its lifecycle.
type AlertState string

// Alert states.
const (
	AlertFiring       AlertState = "firing"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// ApplyAction returns the state an alert moves to when action is applied in
// state cur, and whether anything changes. Acknowledge only moves a firing
// alert; resolve moves a firing or acknowledged one. Repeating an action
// changes nothing, so a DTMF action changes the alert exactly once.
func ApplyAction(cur AlertState, a Action) (AlertState, bool) {
	switch {
	case a == ActionAcknowledge && cur == AlertFiring:
		return AlertAcknowledged, true
	case a == ActionResolve && (cur == AlertFiring || cur == AlertAcknowledged):
		return AlertResolved, true
	}
	return cur, false
}

// Severity values accepted on alerts.
var Severities = []string{"critical", "high", "warning", "info"}

// NormalizeNumber returns a phone number in E.164 form ("+" and 6 to 15
// digits), dropping the spaces, dashes, dots and parentheses people write.
func NormalizeNumber(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("number %q may only hold digits, a leading +, spaces, dashes, dots and parentheses", s)
		}
	}
	n := b.String()
	if !strings.HasPrefix(n, "+") || len(n) < 7 || len(n) > 16 {
		return "", fmt.Errorf("number %q must be in international form: + and 6 to 15 digits", s)
	}
	return n, nil
}

// CallerAllowed reports whether an inbound caller's number is on a channel's
// allow-list. An empty list allows nobody: the call is recorded, and no alert
// is read out or changed.
func CallerAllowed(allow []string, from string) bool {
	n, err := NormalizeNumber(from)
	if err != nil {
		return false
	}
	for _, a := range allow {
		if a == n {
			return true
		}
	}
	return false
}
