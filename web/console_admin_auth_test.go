package web

import (
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/channels", "/channels"},
		{"/calls?status=ringing&limit=5", "/calls?status=ringing&limit=5"},
		{"/channels/ops#dtmf", "/channels/ops#dtmf"},
		{"channels", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/ok\r\nSet-Cookie: x=1", "/"},
		{"/\t/evil.example", "/"},
		{"/login", "/"},
		{"/logout?x=1", "/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLoginLimiter(3, time.Minute)
	l.now = func() time.Time { return now }

	for i := range 3 {
		if _, ok := l.allow("ip:a", "user:root"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		now = now.Add(10 * time.Second)
	}
	wait, ok := l.allow("ip:a", "user:root")
	if ok || wait != 30*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v, want refused for 30s", ok, wait)
	}
	if _, ok := l.allow("ip:b", "user:root"); ok {
		t.Error("another address may still guess root's password")
	}
	if _, ok := l.allow("ip:b", "user:alice"); !ok {
		t.Error("an unrelated address and user are limited")
	}

	// A success takes its attempt back.
	if _, ok := l.allow("ip:c", "user:bob"); !ok {
		t.Fatal("first attempt refused")
	}
	l.forgive("ip:c", "user:bob")
	if n := len(l.hits["ip:c"]); n != 0 {
		t.Errorf("after forgive ip:c has %d attempts", n)
	}

	// The window slides: the oldest attempt expires first.
	now = now.Add(31 * time.Second)
	if _, ok := l.allow("ip:a", "user:root"); !ok {
		t.Error("an attempt older than the window still counts")
	}
	if _, ok := l.allow("ip:a", "user:root"); ok {
		t.Error("the limit was lifted entirely instead of by one")
	}
}
