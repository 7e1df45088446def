package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
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

// A WebSocket handshake the server refuses gets a whole HTTP response that
// clients and proxies can parse, not bare text on the connection.
func TestStreamRefusalIsHTTP(t *testing.T) {
	app := startApp(t)
	cookie := app.session("admin", testAdminPassword)
	host := strings.TrimPrefix(app.URL(), "http://")
	tests := []struct {
		name, origin string
		want         int
	}{
		{"foreign origin", "https://evil.example", http.StatusForbidden},
		{"other port", "http://" + strings.Split(host, ":")[0] + ":1", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "GET /api/v1/stream HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\nCookie: callhook_session=%s\r\n\r\n",
				host, tt.origin, cookie)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("the refusal is not an HTTP response: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.want || resp.Proto != "HTTP/1.1" {
				t.Errorf("status %s %d, want HTTP/1.1 %d", resp.Proto, resp.StatusCode, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if strings.TrimSpace(string(body)) != http.StatusText(tt.want) {
				t.Errorf("body %q", body)
			}
		})
	}
}
