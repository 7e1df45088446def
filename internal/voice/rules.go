package voice

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// The ingest rules: given the current state of the calls and alerts a
// callback's events name, what the callback changes. They are pure functions
// of their inputs; the store loads the state, calls them and writes what they
// decide (docs/architecture.md, "The ingest rules").

// Callback outcomes.
const (
	OutcomeAccepted  = "accepted"
	OutcomeDuplicate = "duplicate"
	OutcomeUnmatched = "unmatched"
	OutcomeRejected  = "rejected"
)

// CallState is what the rules read and change of one call.
type CallState struct {
	// ID is 0 for a call the rules decided to create (an inbound call).
	ID             int64
	ChannelID      string
	Provider       string
	ProviderCallID string
	// AlertID is the alert the call is about; 0 for none.
	AlertID   int64
	Direction Direction
	From, To  string
	Status    Status
	DurationS *float64
	MOS       *float64
}

// Apply moves the call by event e: its status only forward (keypad input
// on a queued or ringing call means someone answered), and the facts the
// provider reports (duration, MOS, numbers) copied. It reports whether the
// call changed.
func (c *CallState) Apply(e Event) bool {
	changed := false
	if e.Type != EventDTMF || c.Status == StatusQueued || c.Status == StatusRinging {
		st := e.Status
		if e.Type == EventDTMF && (st == StatusUnknown || st == "") {
			st = StatusAnswered
		}
		if next, ok := Advance(c.Status, st); ok {
			c.Status = next
			changed = true
		}
	}
	if e.DurationS != nil && (c.DurationS == nil || *c.DurationS != *e.DurationS) {
		d := *e.DurationS
		c.DurationS = &d
		changed = true
	}
	if e.MOS != nil && (c.MOS == nil || *c.MOS != *e.MOS) {
		m := *e.MOS
		c.MOS = &m
		changed = true
	}
	if c.From == "" && e.From != "" {
		c.From, changed = e.From, true
	}
	if c.To == "" && e.To != "" {
		c.To, changed = e.To, true
	}
	return changed
}

// Caller is the number on the far end of the call: the callee of an
// outbound call, the caller of an inbound one.
func (c *CallState) Caller() string {
	who := c.To
	if c.Direction == Inbound {
		who = c.From
	}
	if who == "" {
		who = "unknown number"
	}
	return who
}

// DTMFActor is how an alert change made by keypad is recorded: who pressed
// which keys, on which channel and call.
func DTMFActor(c *CallState, digit string) string {
	actor := fmt.Sprintf("phone %s (channel %s, call %d", c.Caller(), c.ChannelID, c.ID)
	if digit != "" {
		actor += ", digit " + digit
	}
	return actor + ")"
}

// AlertSnapshot is what the rules read and change of one alert.
type AlertSnapshot struct {
	ID      int64
	Title   string
	Message string
	State   AlertState
}

// Decision is what one event of a callback did.
type Decision struct {
	Event Event
	// Call is the call the event matched (nil: unmatched).
	Call   *CallState
	Action Action
	// Applied is true when Action changed the alert.
	Applied bool
}

// AlertChange is one alert state change decided by a keypad action.
type AlertChange struct {
	AlertID  int64
	From, To AlertState
	Call     *CallState
	Digit    string
}

// IngestInput is the state a callback's events are applied to.
type IngestInput struct {
	ChannelID    string
	Provider     string
	DTMF         DTMFMap
	InboundAllow []string
	Events       []Event
	// Calls are the channel's calls of this provider the events name, by
	// provider call id, as they stand. Apply updates them in place and adds
	// the inbound calls it creates, so a batch of callbacks sees each
	// other's changes.
	Calls map[string]*CallState
	// Alerts are the alerts of those calls, by id, as they stand; updated in place.
	Alerts map[int64]*AlertSnapshot
	// NewestFiring is the channel's newest firing alert, which a new inbound
	// call from an allowed number is about (0: none).
	NewestFiring int64
}

// IngestPlan is what a callback changes.
type IngestPlan struct {
	Outcome   string
	Decisions []Decision
	// Created are the inbound calls to create (ID 0), in event order.
	Created []*CallState
	// Changed are the calls whose state changed, in first-change order
	// (created calls included).
	Changed      []*CallState
	AlertChanges []AlertChange
	// Alert is the alert of the first matched call that has one, after the
	// changes: what a reply reads out.
	Alert *AlertSnapshot
}

// Plan applies a callback's events, in order, to the calls and alerts of
// in. An event matches only a call of the channel that received it (the
// caller looks calls up within the channel); an unknown inbound call is
// created, about the channel's newest firing alert only when the caller is
// on the channel's allow-list. A keypad action changes the call's alert at
// most once per state: repeating it changes nothing.
func Plan(in IngestInput) IngestPlan {
	var p IngestPlan
	changed := map[*CallState]bool{}
	matched := 0
	for _, e := range in.Events {
		c := in.Calls[e.CallID]
		if c == nil && e.AltCallID != "" {
			c = in.Calls[e.AltCallID]
		}
		if c == nil && e.Direction == Inbound && e.CallID != "" {
			c = &CallState{ChannelID: in.ChannelID, Provider: in.Provider, ProviderCallID: e.CallID,
				Direction: Inbound, From: e.From, To: e.To, Status: StatusQueued}
			if in.NewestFiring != 0 && CallerAllowed(in.InboundAllow, e.From) {
				c.AlertID = in.NewestFiring
			}
			in.Calls[e.CallID] = c
			p.Created = append(p.Created, c)
			changed[c] = true
			p.Changed = append(p.Changed, c)
		}
		d := Decision{Event: e, Call: c, Action: in.DTMF.Resolve(e)}
		if c != nil {
			matched++
			if c.Apply(e) && !changed[c] {
				changed[c] = true
				p.Changed = append(p.Changed, c)
			}
			if al := in.Alerts[c.AlertID]; al != nil && d.Action != ActionNone {
				if next, ok := ApplyAction(al.State, d.Action); ok {
					p.AlertChanges = append(p.AlertChanges, AlertChange{AlertID: al.ID, From: al.State, To: next, Call: c, Digit: e.Digit})
					al.State = next
					d.Applied = true
				}
			}
			if p.Alert == nil && c.AlertID != 0 {
				p.Alert = in.Alerts[c.AlertID]
			}
		}
		p.Decisions = append(p.Decisions, d)
	}
	p.Outcome = OutcomeAccepted
	if matched == 0 && len(in.Events) > 0 {
		p.Outcome = OutcomeUnmatched
	}
	return p
}

// Prompt renders the keypad instruction of the mapping, shortest keys
// first: "Press 1 to acknowledge. Press 2 to resolve." A mapping without
// keys gives "".
func (m DTMFMap) Prompt() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		var spoken []string
		for _, r := range k {
			switch r {
			case '*':
				spoken = append(spoken, "star")
			case '#':
				spoken = append(spoken, "pound")
			default:
				spoken = append(spoken, string(r))
			}
		}
		fmt.Fprintf(&b, "Press %s to %s.", strings.Join(spoken, " "), m[k])
	}
	return b.String()
}

// MaxDigits is the length of the longest key sequence of the mapping, at
// least 1: how many keys a keypad capture waits for.
func (m DTMFMap) MaxDigits() int {
	n := 1
	for k := range m {
		n = max(n, utf8.RuneCountInString(k))
	}
	return n
}

// Alert modes: call every target at once, or one after another.
const (
	ModeAll        = "all"
	ModeSequential = "sequential"
)

// Escalate reports whether a sequential alert calls its next target: it is
// still firing (nobody pressed the acknowledge key), it has a target left,
// and every call placed so far has ended.
func Escalate(state AlertState, pending int, calls []Status) bool {
	if state != AlertFiring || pending == 0 {
		return false
	}
	for _, s := range calls {
		if !s.Terminal() {
			return false
		}
	}
	return true
}
