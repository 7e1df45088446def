package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
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

func TestSecurityHeaders(t *testing.T) {
	app := startApp(t)
	admin := newFormClient(t, app.URL())
	admin.login("admin", testAdminPassword)
	anon := newFormClient(t, app.URL())
	host := strings.TrimPrefix(app.URL(), "http://")
	tests := []struct {
		name   string
		client *formClient
		path   string
		want   int
	}{
		{"sign-in page", anon, "/login", http.StatusOK},
		{"console page", admin, "/channels", http.StatusOK},
		{"dashboard", admin, "/", http.StatusOK},
		{"not found page", admin, "/no-such-page", http.StatusNotFound},
		{"static file", anon, "/static/app.css", http.StatusOK},
		{"API refusal", anon, "/api/v1/channels", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.t = t
			resp, _ := tt.client.do("GET", tt.path, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.want)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
				"base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
				"connect-src 'self' ws://" + host + " wss://" + host} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP lacks %q: %q", d, csp)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", v)
			}
			if v := resp.Header.Get("Referrer-Policy"); v != "same-origin" {
				t.Errorf("Referrer-Policy = %q", v)
			}
			if v := resp.Header.Get("Strict-Transport-Security"); v != "" {
				t.Errorf("HSTS on a plain-http install: %q", v)
			}
		})
	}
}

func TestSecurityHeadersHTTPS(t *testing.T) {
	app := startApp(t, func(c *Config) { c.PublicURL = "https://callhook.example" })
	resp, _ := newFormClient(t, app.URL()).do("GET", "/login", nil)
	if v := resp.Header.Get("Strict-Transport-Security"); v != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q, want max-age=31536000", v)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, " wss://callhook.example") {
		t.Errorf("CSP does not allow the public URL's WebSocket: %q", csp)
	}
}

// A CSRF token is taken from the form body or the X-CSRF-Token header only:
// one in a URL leaks through logs, history and Referer.
func TestCSRFTokenNotFromQuery(t *testing.T) {
	app := startApp(t)
	admin := newFormClient(t, app.URL())
	csrf := admin.login("admin", testAdminPassword)
	anon := newFormClient(t, app.URL())
	loginCSRF := anon.csrf("/login")
	tests := []struct {
		name   string
		client *formClient
		path   string
		form   url.Values
		want   int
	}{
		{"console form", admin, "/channels?_csrf=" + url.QueryEscape(csrf), url.Values{"name": {"From query"}, "id": {"query-ch"}}, http.StatusForbidden},
		{"API with a session", admin, "/api/v1/channels?_csrf=" + url.QueryEscape(csrf), url.Values{"name": {"From query"}}, http.StatusForbidden},
		{"sign-out", admin, "/logout?_csrf=" + url.QueryEscape(csrf), url.Values{}, http.StatusForbidden},
		{"sign-in", anon, "/login?_csrf=" + url.QueryEscape(loginCSRF), url.Values{"name": {"admin"}, "password": {testAdminPassword}}, http.StatusForbidden},
		{"console form, token in the body", admin, "/channels", url.Values{"_csrf": {csrf}, "name": {"From body"}, "id": {"body-ch"}}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.t = t
			resp, body := tt.client.do("POST", tt.path, tt.form)
			if resp.StatusCode != tt.want {
				t.Fatalf("POST %s = %d, want %d\n%s", tt.path, resp.StatusCode, tt.want, body)
			}
		})
	}
	if _, err := app.Store.Channel(context.Background(), "query-ch"); err == nil {
		t.Error("a form with the token only in the query made a channel")
	}
}

// Every console page works under the CSP in a real Chromium: the browser
// helper fails the test on any violation it reports, and the live
// WebSocket connects under connect-src.
func TestBrowserCSP(t *testing.T) {
	a := startApp(t)
	cbURL := a.opsChannel("csp-ch")
	alertID := a.opsAlert("CSP check", "csp-ch")
	callID := a.opsCall("csp-ch", "prov-csp-1", "+15550002222", alertID)
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-csp-1", "event_type": "status", "status": "ringing"}`)

	_, page := a.consolePage("admin", testAdminPassword, "")
	paths := []string{"/", "/calls", fmt.Sprintf("/calls/%d", callID), "/alerts", fmt.Sprintf("/alerts/%d", alertID),
		"/callbacks", "/callbacks/1", "/channels", "/channels/csp-ch", "/settings/provider", "/users", "/users/tokens"}
	for _, p := range paths {
		goTo(t, page, a.URL()+p)
		if err := page.WaitForLoadState(playwright.PageWaitForLoadStateOptions{State: playwright.LoadStateNetworkidle}); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if p == "/" {
			waitLive(t, page)
		}
	}
	signIn := newAdminUI(t, a)
	signIn.open("/login")

	// The helper notices a violation: an inline style on a console page.
	rec := &cspRecorder{TB: t}
	_, probe, err := chromium(t).For(rec).NewPage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Goto(a.URL() + "/login"); err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Evaluate(`() => document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>')`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if rec.count() == 0 {
		t.Error("an inline style was refused without the test noticing")
	}
}

// cspRecorder is a test whose failures are recorded instead of reported.
type cspRecorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *cspRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *cspRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors)
}
