package voice

import "testing"

func TestAlertCallsFailed(t *testing.T) {
	calls := func(st ...string) []CallView {
		var cs []CallView
		for _, s := range st {
			cs = append(cs, CallView{Status: s})
		}
		return cs
	}
	for _, tt := range []struct {
		name  string
		state string
		calls []CallView
		want  bool
	}{
		{"every call ended unreached", "firing", calls("failed", "busy", "no_answer"), true},
		{"one call still ringing", "firing", calls("failed", "ringing"), false},
		{"one call answered", "firing", calls("busy", "completed"), false},
		{"no calls yet", "firing", nil, false},
		{"acknowledged", "acknowledged", calls("failed"), false},
		{"resolved", "resolved", calls("failed"), false},
	} {
		if got := (AlertView{State: tt.state, Calls: tt.calls}).CallsFailed(); got != tt.want {
			t.Errorf("%s: CallsFailed %v, want %v", tt.name, got, tt.want)
		}
	}
}
