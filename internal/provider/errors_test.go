package provider

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	const secret = "s3cr/et+Tok<en>42" // has characters every escaping changes
	r := NewRedactor(secret, "old-key-1111, new-key-2222", "abc", "")
	tests := []struct {
		name, in, want string
	}{
		{"raw", "token " + secret + " refused", "token [redacted] refused"},
		{"query-escaped", "callback_url=https%3A%2F%2Fh%2Fcb%2Fs3cr%2Fet%2BTok%3Cen%3E42", "callback_url=https%3A%2F%2Fh%2Fcb%2F[redacted]"},
		{"path-escaped", "/cb/s3cr%2Fet+Tok%3Cen%3E42", "/cb/[redacted]"},
		{"JSON-escaped", `{"t":"s3cr/et+Tok\u003cen\u003e42"}`, `{"t":"[redacted]"}`},
		{"JSON without HTML escaping", `{"t":"s3cr/et+Tok<en>42"}`, `{"t":"[redacted]"}`},
		{"each key of a list", "keys old-key-1111 and new-key-2222", "keys [redacted] and [redacted]"},
		{"the list itself", "keys old-key-1111, new-key-2222.", "keys [redacted]."},
		{"cut at the end", "body: {\"token\":\"s3cr/et+To", "body: {\"token\":\"[redacted]"},
		{"too short to look for", "abc abc", "abc abc"},
		{"nothing secret", "HTTP 404: no such call", "HTTP 404: no such call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorError(t *testing.T) {
	const secret = "0123456789abcdefghijklmnopqrstuv"
	r := NewRedactor(secret)
	// The secret straddles the 200-byte cut of HTTPError's message.
	body := strings.Repeat("x", MaxErrorText-10) + secret + strings.Repeat("y", 100)
	err := fmt.Errorf("POST /v1/calls: %w", &HTTPError{Status: 400, Body: []byte(body)})
	got := r.Error(err)
	if strings.Contains(got, secret[:4]) || !strings.HasPrefix(got, "POST /v1/calls: HTTP 400: xxx") || len(got) > MaxErrorText || !strings.HasSuffix(got, "…") {
		t.Errorf("Error = %q (%d bytes), want the status, no part of the secret, at most %d bytes", got, len(got), MaxErrorText)
	}
	if got := r.Error(nil); got != "" {
		t.Errorf("Error(nil) = %q", got)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "0123456…"},
		{"ééééé", 8, "éé…"}, // never half a character
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
