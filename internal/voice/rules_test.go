package voice

import (
	"testing"
)

func TestPlan(t *testing.T) {
	dur := 42.0
	type want struct {
		outcome     string
		status      Status // of call "c1" afterwards ("" if absent)
		alert       AlertState
		applied     []bool
		created     int
		changed     int
		alertChange int
		createdWith int64 // AlertID of the created call
	}
	cases := []struct {
		name     string
		calls    map[string]*CallState
		alert    AlertState
		allow    []string
		newest   int64
		dtmf     DTMFMap
		events   []Event
		want     want
		duration *float64
	}{
		{
			name:   "ringing then answered moves forward",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusQueued, AlertID: 7}},
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventStatus, Status: StatusRinging}, {CallID: "c1", Type: EventStatus, Status: StatusAnswered}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertFiring, applied: []bool{false, false}, changed: 1},
		},
		{
			name:   "late ringing after completed changes nothing",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusCompleted}},
			events: []Event{{CallID: "c1", Type: EventStatus, Status: StatusRinging}},
			want:   want{outcome: OutcomeAccepted, status: StatusCompleted, applied: []bool{false}},
		},
		{
			name:   "keypad 1 acknowledges once; a repeat changes nothing",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusAnswered, AlertID: 7}},
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventDTMF, Digit: "1"}, {CallID: "c1", Type: EventDTMF, Digit: "1"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertAcknowledged, applied: []bool{true, false}, alertChange: 1},
		},
		{
			name:   "keypad on a ringing call means it was answered",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusRinging, AlertID: 7}},
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventDTMF, Digit: "2"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertResolved, applied: []bool{true}, changed: 1, alertChange: 1},
		},
		{
			name:   "remapped keypad: 9 acknowledges, 1 does nothing",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusAnswered, AlertID: 7}},
			alert:  AlertFiring,
			dtmf:   DTMFMap{"9": ActionAcknowledge},
			events: []Event{{CallID: "c1", Type: EventDTMF, Digit: "1"}, {CallID: "c1", Type: EventDTMF, Digit: "9"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertAcknowledged, applied: []bool{false, true}, alertChange: 1},
		},
		{
			name:   "empty keypad input is recorded and changes nothing",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusAnswered, AlertID: 7}},
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventDTMF, Message: "no input"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertFiring, applied: []bool{false}},
		},
		{
			name:   "a call without an alert: keypad changes no alert",
			calls:  map[string]*CallState{"c1": {ID: 1, Status: StatusAnswered}},
			events: []Event{{CallID: "c1", Type: EventDTMF, Digit: "1"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, applied: []bool{false}},
		},
		{
			name:   "unknown call is unmatched",
			calls:  map[string]*CallState{},
			events: []Event{{CallID: "nobody", Type: EventDTMF, Digit: "1"}},
			want:   want{outcome: OutcomeUnmatched, applied: []bool{false}},
		},
		{
			name:  "no events is accepted",
			calls: map[string]*CallState{},
			want:  want{outcome: OutcomeAccepted},
		},
		{
			name:   "inbound call from an allowed number is about the newest firing alert",
			calls:  map[string]*CallState{},
			allow:  []string{"+15550100"},
			newest: 7,
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventStatus, Status: StatusRinging, Direction: Inbound, From: "+1 555 0100"},
				{CallID: "c1", Type: EventDTMF, Digit: "1"}},
			want: want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertAcknowledged, applied: []bool{false, true},
				created: 1, changed: 1, alertChange: 1, createdWith: 7},
		},
		{
			name:   "inbound call from another number is recorded and acts on nothing",
			calls:  map[string]*CallState{},
			allow:  []string{"+15550100"},
			newest: 7,
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventStatus, Status: StatusRinging, Direction: Inbound, From: "+15550199"},
				{CallID: "c1", Type: EventDTMF, Digit: "1"}},
			want: want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertFiring, applied: []bool{false, false},
				created: 1, changed: 1},
		},
		{
			name:   "inbound call with an empty allow-list acts on nothing",
			calls:  map[string]*CallState{},
			newest: 7,
			alert:  AlertFiring,
			events: []Event{{CallID: "c1", Type: EventDTMF, Digit: "1", Direction: Inbound, From: "+15550100"}},
			want:   want{outcome: OutcomeAccepted, status: StatusAnswered, alert: AlertFiring, applied: []bool{false}, created: 1, changed: 1},
		},
		{
			name:     "duration is copied from the terminal event",
			calls:    map[string]*CallState{"c1": {ID: 1, Status: StatusAnswered}},
			events:   []Event{{CallID: "c1", Type: EventStatus, Status: StatusCompleted, DurationS: &dur}},
			want:     want{outcome: OutcomeAccepted, status: StatusCompleted, applied: []bool{false}, changed: 1},
			duration: &dur,
		},
		{
			name:   "matched by the alternative id",
			calls:  map[string]*CallState{"req-1": {ID: 1, Status: StatusQueued}},
			events: []Event{{CallID: "uuid-1", AltCallID: "req-1", Type: EventStatus, Status: StatusRinging}},
			want:   want{outcome: OutcomeAccepted, applied: []bool{false}, changed: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alerts := map[int64]*AlertSnapshot{}
			if tc.alert != "" {
				alerts[7] = &AlertSnapshot{ID: 7, State: tc.alert}
			}
			dtmf := tc.dtmf
			if dtmf == nil {
				dtmf = DefaultDTMFMap()
			}
			p := Plan(IngestInput{ChannelID: "ch", Provider: "generic", DTMF: dtmf, InboundAllow: tc.allow, Events: tc.events,
				Calls: tc.calls, Alerts: alerts, NewestFiring: tc.newest})
			w := tc.want
			if p.Outcome != w.outcome {
				t.Errorf("outcome %s, want %s", p.Outcome, w.outcome)
			}
			if w.status != "" {
				if c := tc.calls["c1"]; c == nil || c.Status != w.status {
					t.Errorf("call c1 %+v, want status %s", c, w.status)
				}
			}
			if w.alert != "" && alerts[7].State != w.alert {
				t.Errorf("alert %s, want %s", alerts[7].State, w.alert)
			}
			if len(p.Decisions) != len(w.applied) {
				t.Fatalf("%d decisions, want %d", len(p.Decisions), len(w.applied))
			}
			for i, d := range p.Decisions {
				if d.Applied != w.applied[i] {
					t.Errorf("event %d applied=%v, want %v", i, d.Applied, w.applied[i])
				}
			}
			if len(p.Created) != w.created || len(p.Changed) != w.changed || len(p.AlertChanges) != w.alertChange {
				t.Errorf("created %d changed %d alert changes %d; want %d %d %d", len(p.Created), len(p.Changed), len(p.AlertChanges),
					w.created, w.changed, w.alertChange)
			}
			if w.created > 0 && p.Created[0].AlertID != w.createdWith {
				t.Errorf("created call about alert %d, want %d", p.Created[0].AlertID, w.createdWith)
			}
			if tc.duration != nil && (tc.calls["c1"].DurationS == nil || *tc.calls["c1"].DurationS != *tc.duration) {
				t.Errorf("duration %v", tc.calls["c1"].DurationS)
			}
		})
	}
}

func TestPromptAndMaxDigits(t *testing.T) {
	m := DTMFMap{"2": ActionResolve, "1": ActionAcknowledge, "*9#": ActionResolve}
	if got, want := m.Prompt(), "Press 1 to acknowledge. Press 2 to resolve. Press star 9 pound to resolve."; got != want {
		t.Errorf("Prompt = %q, want %q", got, want)
	}
	if m.MaxDigits() != 3 || (DTMFMap{}).MaxDigits() != 1 {
		t.Errorf("MaxDigits %d %d", m.MaxDigits(), (DTMFMap{}).MaxDigits())
	}
	if (DTMFMap{}).Prompt() != "" {
		t.Error("empty mapping has a prompt")
	}
}

func TestDTMFActor(t *testing.T) {
	c := &CallState{ID: 3, ChannelID: "ops", Direction: Inbound, From: "+15550100", To: "+15550000"}
	if got, want := DTMFActor(c, "1"), "phone +15550100 (channel ops, call 3, digit 1)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	c.Direction, c.To = Outbound, ""
	if got, want := DTMFActor(c, ""), "phone unknown number (channel ops, call 3)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestEscalate(t *testing.T) {
	cases := []struct {
		state   AlertState
		pending int
		calls   []Status
		want    bool
	}{
		{AlertFiring, 1, []Status{StatusNoAnswer}, true},
		{AlertFiring, 1, []Status{StatusCompleted}, true}, // answered but nobody acknowledged
		{AlertFiring, 1, []Status{StatusRinging}, false},
		{AlertFiring, 1, []Status{StatusFailed, StatusAnswered}, false},
		{AlertFiring, 0, []Status{StatusFailed}, false},
		{AlertAcknowledged, 2, []Status{StatusCompleted}, false},
		{AlertResolved, 2, []Status{StatusNoAnswer}, false},
	}
	for _, c := range cases {
		if got := Escalate(c.state, c.pending, c.calls); got != c.want {
			t.Errorf("Escalate(%s, %d, %v) = %v, want %v", c.state, c.pending, c.calls, got, c.want)
		}
	}
}
