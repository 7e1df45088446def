package web

import (
	"testing"

	"callhook/internal/store"
	"callhook/internal/voice"
)

// TestLoopbackWarning: callback URLs on 127.0.0.0/8, ::1 or localhost get
// a warning naming CALLHOOK_PUBLIC_URL; reachable ones get none.
func TestLoopbackWarning(t *testing.T) {
	tests := []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://LOCALHOST", true},
		{"http://app.localhost", true},
		{"https://callhook.example.com", false},
		{"http://10.0.0.5:8080", false},
		{"http://[2001:db8::1]", false},
		{"http://localhost.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		got := loopbackWarning(tt.url)
		if (got != "") != tt.warn {
			t.Errorf("loopbackWarning(%q) = %q, want a warning: %v", tt.url, got, tt.warn)
		}
	}
}

// TestHasAcknowledge judges a mapping as the pipeline applies it: an empty
// one is the default, which acknowledges with 1.
func TestHasAcknowledge(t *testing.T) {
	tests := []struct {
		m    map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"9": "acknowledge"}, true},
		{map[string]string{"2": "resolve"}, false},
		{map[string]string{"2": "resolve", "787": "acknowledge"}, true},
	}
	for _, tt := range tests {
		if got := hasAcknowledge(tt.m); got != tt.want {
			t.Errorf("hasAcknowledge(%v) = %v, want %v", tt.m, got, tt.want)
		}
	}
	if got, want := keypadPrompt(&store.Channel{DTMFMap: map[string]string{"9": "acknowledge"}}), "Press 9 to acknowledge."; got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
	if got := keypadPrompt(nil); got != "Press 1 to "+string(voice.ActionAcknowledge)+". Press 2 to resolve." {
		t.Errorf("default prompt %q", got)
	}
}
