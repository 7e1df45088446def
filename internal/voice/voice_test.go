package voice

import "testing"

func TestAdvance(t *testing.T) {
	tests := []struct {
		cur, next, want Status
		changed         bool
	}{
		{StatusQueued, StatusRinging, StatusRinging, true},
		{StatusRinging, StatusAnswered, StatusAnswered, true},
		{StatusAnswered, StatusCompleted, StatusCompleted, true},
		{StatusCompleted, StatusAnswered, StatusCompleted, false},
		{StatusCompleted, StatusRinging, StatusCompleted, false},
		{StatusCompleted, StatusFailed, StatusCompleted, false},
		{StatusAnswered, StatusRinging, StatusAnswered, false},
		{StatusRinging, StatusUnknown, StatusRinging, false},
		{StatusUnknown, StatusQueued, StatusQueued, true},
		{StatusQueued, StatusBusy, StatusBusy, true},
		{StatusRinging, StatusRinging, StatusRinging, false},
	}
	for _, tt := range tests {
		got, changed := Advance(tt.cur, tt.next)
		if got != tt.want || changed != tt.changed {
			t.Errorf("Advance(%s, %s) = %s, %v; want %s, %v", tt.cur, tt.next, got, changed, tt.want, tt.changed)
		}
	}
}

func TestDTMFMapResolve(t *testing.T) {
	m := DTMFMap{"1": ActionAcknowledge, "2": ActionResolve, "787": ActionResolve}
	tests := []struct {
		e    Event
		want Action
	}{
		{Event{Type: EventDTMF, Digit: "1"}, ActionAcknowledge},
		{Event{Type: EventDTMF, Digit: "787"}, ActionResolve},
		{Event{Type: EventDTMF, Digit: "1#"}, ActionAcknowledge},
		{Event{Type: EventDTMF, Digit: "9"}, ActionNone},
		{Event{Type: EventDTMF, Digit: "12"}, ActionNone},
		{Event{Type: EventDTMF, Digit: "9", Action: ActionResolve}, ActionResolve},
		{Event{Type: EventStatus, Digit: "1"}, ActionNone},
	}
	for _, tt := range tests {
		if got := m.Resolve(tt.e); got != tt.want {
			t.Errorf("Resolve(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestDTMFMapValidate(t *testing.T) {
	good := DTMFMap{"1": ActionAcknowledge, "*9#": ActionResolve}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []DTMFMap{{"": ActionResolve}, {"1a": ActionResolve}, {"1": "snooze"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%v) = nil, want error", bad)
		}
	}
}

func TestApplyAction(t *testing.T) {
	tests := []struct {
		cur     AlertState
		a       Action
		want    AlertState
		changed bool
	}{
		{AlertFiring, ActionAcknowledge, AlertAcknowledged, true},
		{AlertAcknowledged, ActionAcknowledge, AlertAcknowledged, false},
		{AlertFiring, ActionResolve, AlertResolved, true},
		{AlertAcknowledged, ActionResolve, AlertResolved, true},
		{AlertResolved, ActionAcknowledge, AlertResolved, false},
		{AlertResolved, ActionResolve, AlertResolved, false},
	}
	for _, tt := range tests {
		got, changed := ApplyAction(tt.cur, tt.a)
		if got != tt.want || changed != tt.changed {
			t.Errorf("ApplyAction(%s, %s) = %s, %v", tt.cur, tt.a, got, changed)
		}
	}
}
