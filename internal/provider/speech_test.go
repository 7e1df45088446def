package provider

import (
	"testing"

	"callhook/internal/voice"
)

func TestJoinSentences(t *testing.T) {
	for _, tt := range []struct {
		parts []string
		want  string
	}{
		{nil, ""},
		{[]string{"", "  "}, ""},
		{[]string{"Disk full", "97% used"}, "Disk full. 97% used."},
		{[]string{" Hot! ", "Really?", "Done.", ""}, "Hot! Really? Done."},
		{[]string{"Sorry, that input was not recognized.", "Press 1 to acknowledge."}, "Sorry, that input was not recognized. Press 1 to acknowledge."},
	} {
		if got := JoinSentences(tt.parts...); got != tt.want {
			t.Errorf("JoinSentences(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

func TestAlertText(t *testing.T) {
	for _, tt := range []struct {
		a    *AlertInfo
		want string
	}{
		{nil, ""},
		{&AlertInfo{}, "An alert is firing."},
		{&AlertInfo{Title: " ", Message: " "}, "An alert is firing."},
		{&AlertInfo{Title: "Disk full!", Message: "db1"}, "Alert: Disk full! db1."},
		{&AlertInfo{Title: "CPU high"}, "Alert: CPU high."},
		{&AlertInfo{Message: "load 12 on web1"}, "load 12 on web1."},
	} {
		if got := AlertText(tt.a); got != tt.want {
			t.Errorf("AlertText(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestActionText(t *testing.T) {
	for a, want := range map[voice.Action]string{
		voice.ActionAcknowledge: "Alert acknowledged.",
		voice.ActionResolve:     "Alert resolved.",
		voice.ActionNone:        "Alert acknowledged.",
	} {
		if got := ActionText(a); got != want {
			t.Errorf("ActionText(%q) = %q, want %q", a, got, want)
		}
	}
}

func TestStateText(t *testing.T) {
	for _, tt := range []struct {
		a    *AlertInfo
		want string
	}{
		{nil, "No change was made."},
		{&AlertInfo{Title: "x"}, "No change was made."},
		{&AlertInfo{State: voice.AlertAcknowledged}, "The alert is already acknowledged."},
		{&AlertInfo{State: voice.AlertResolved}, "The alert is already resolved."},
		{&AlertInfo{State: voice.AlertFiring}, "The alert is firing."},
	} {
		if got := StateText(tt.a); got != tt.want {
			t.Errorf("StateText(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestConfirmation(t *testing.T) {
	ack := Applied{Action: voice.ActionAcknowledge}
	res := Applied{Action: voice.ActionResolve}
	changed := func(a Applied) Applied { a.Changed = true; return a }
	for _, tt := range []struct {
		in    Applied
		alert *AlertInfo
		want  string
	}{
		{changed(ack), nil, "Alert acknowledged."},
		{changed(res), nil, "Alert resolved."},
		{res, nil, "Alert resolved."}, // nothing known to say otherwise
		{changed(ack), &AlertInfo{Title: "Disk full", State: voice.AlertAcknowledged}, "Alert acknowledged. Disk full."},
		{changed(res), &AlertInfo{Title: "CPU hot!", State: voice.AlertResolved}, "Alert resolved. CPU hot!"},
		{ack, &AlertInfo{Title: "X", State: voice.AlertResolved}, "Alert is already resolved. X."},
		{ack, &AlertInfo{State: voice.AlertAcknowledged}, "Alert is already acknowledged."},
		{ack, &AlertInfo{Title: "X"}, "Alert acknowledged. X."}, // state not known
	} {
		if got := Confirmation(tt.in, tt.alert); got != tt.want {
			t.Errorf("Confirmation(%+v, %+v) = %q, want %q", tt.in, tt.alert, got, tt.want)
		}
	}
}

func TestDigitLimit(t *testing.T) {
	for _, tt := range []struct{ n, def, limit, want int }{
		{0, 1, 16, 1},
		{0, 4, 20, 4},
		{0, 0, 32, 0},
		{-1, 1, 16, 1},
		{1, 4, 20, 1},
		{3, 1, 16, 3},
		{16, 1, 16, 16},
		{40, 1, 16, 16},
	} {
		if got := DigitLimit(tt.n, tt.def, tt.limit); got != tt.want {
			t.Errorf("DigitLimit(%d, %d, %d) = %d, want %d", tt.n, tt.def, tt.limit, got, tt.want)
		}
	}
}
