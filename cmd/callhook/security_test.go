package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Tests of the hardening of the console: sign-in limits, security headers,
// CSRF tokens and WebSocket refusals.

// fromAddr makes f's requests come from the loopback address ip, so tests
// can play several clients against one server.
func (f *formClient) fromAddr(ip string) *formClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	f.c.Transport = &http.Transport{DialContext: d.DialContext}
	return f
}

func TestConsoleLoginLimitIsPerAddress(t *testing.T) {
	app := startApp(t)
	attacker := newFormClient(t, app.URL()).fromAddr("127.0.0.2")
	tok := attacker.csrf("/login")
	limited := 0
	for i := range 15 {
		resp, _ := attacker.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {"admin"}, "password": {fmt.Sprintf("guess-%d", i)}})
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("guess %d: %d", i+1, resp.StatusCode)
		}
	}
	if limited == 0 {
		t.Fatal("15 wrong passwords a minute from one address were never limited")
	}
	// The limited address may still try other names until its own limit.
	resp, _ := attacker.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {"viewer"}, "password": {"guess"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another name from the limited address: %d, want 401", resp.StatusCode)
	}

	admin := newFormClient(t, app.URL()).fromAddr("127.0.0.3")
	tok = admin.csrf("/login")
	resp, body := admin.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {"admin"}, "password": {testAdminPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin from another address after the guesses: %d, want 303\n%s", resp.StatusCode, body)
	}
}
