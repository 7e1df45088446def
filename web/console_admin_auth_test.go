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
	l := newLoginLimiter(time.Minute)
	l.now = func() time.Time { return now }
	h := &signIn{addrLimit: 5, pairLimit: 3}
	allow := func(ip, name string) bool {
		_, ok := l.allow(h.loginKeys(ip, name)...)
		return ok
	}

	for i := range 3 {
		if !allow("a", "root") {
			t.Fatalf("attempt %d refused", i+1)
		}
		now = now.Add(10 * time.Second)
	}
	wait, ok := l.allow(h.loginKeys("a", "Root")...)
	if ok || wait != 30*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v, want refused for 30s", ok, wait)
	}
	if !allow("b", "root") {
		t.Error("guesses from one address lock the user out at another")
	}
	if !allow("a", "alice") || !allow("a", "bob") {
		t.Error("the address is limited before its own limit")
	}
	if allow("a", "carol") {
		t.Error("an address may try a 6th user name")
	}

	// A success takes its attempt back.
	if !allow("c", "bob") {
		t.Fatal("first attempt refused")
	}
	l.forgive(h.loginKeys("c", "bob")...)
	if n := len(l.hits["ip:c"]); n != 0 {
		t.Errorf("after forgive ip:c has %d attempts", n)
	}

	// The window slides: the oldest attempt expires first.
	now = now.Add(31 * time.Second)
	if !allow("a", "root") {
		t.Error("an attempt older than the window still counts")
	}
	if allow("a", "root") {
		t.Error("the limit was lifted entirely instead of by one")
	}
}
