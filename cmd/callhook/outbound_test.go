package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startAppLogging is startApp with the server's log captured.
func startAppLogging(t *testing.T) (*testApp, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(t.TempDir(), "callhook.db"),
		AdminPassword: testAdminPassword, MaxBody: 1 << 20, BcryptCost: 4, PollInterval: time.Second}
	app, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Shutdown(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	tok, _, err := app.Auth.CreateToken(context.Background(), "test-admin", "admin")
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{App: app, t: t, admin: tok}, logs
}

// TestProviderErrorEchoIsRedacted: a calling service whose error answers
// echo the request (the callback URL with the channel secret, the bearer
// token) must not leak them into the API, the call timeline viewers read, or
// the log.
func TestProviderErrorEchoIsRedacted(t *testing.T) {
	const token = "gw_live_7c1e9a2b4d6f80135792468ace0bdf13"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		http.Error(w, fmt.Sprintf(`{"error":"unsupported field","request":%s,"auth":%q}`, body, r.Header.Get("Authorization")), http.StatusBadRequest)
	}))
	defer api.Close()
	a, logs := startAppLogging(t)
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "generic",
		"config": map[string]string{"api_url": api.URL + "/v1", "api_token": token}}, nil); code != 200 {
		t.Fatalf("save provider: %d", code)
	}
	ch := a.channel(map[string]any{"name": "Ops"})
	check := func(where, text string) {
		t.Helper()
		for _, s := range []string{ch.Secret, token, ch.Secret[:8], token[:8]} {
			if strings.Contains(text, s) {
				t.Errorf("%s leaks %q: %s", where, s, text)
			}
		}
	}

	var apiErr struct{ Error string }
	if code := a.do("POST", "/api/v1/calls", a.admin, map[string]any{"channel_id": ch.ID, "to": "+15550001", "message": "Disk full"}, &apiErr); code != http.StatusBadGateway {
		t.Fatalf("place call: %d %+v, want 502", code, apiErr)
	}
	check("the API error", apiErr.Error)
	if !strings.Contains(apiErr.Error, "HTTP 400") {
		t.Errorf("the API error does not name the provider's status: %q", apiErr.Error)
	}

	var al alertJSON
	if code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "Disk full", "channel_id": ch.ID,
		"targets": []string{"+15550002"}}, &al); code != 201 || len(al.Calls) != 1 {
		t.Fatalf("alert: %d %+v", code, al)
	}
	var call callJSON
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", al.Calls[0].ID), a.token("viewer"), nil, &call)
	if call.Status != "failed" || len(call.Events) != 1 || !strings.Contains(call.Events[0].Message, "[redacted]") {
		t.Fatalf("failed call %+v, want one error event with the echo redacted", call)
	}
	check("the call's event", call.Events[0].Message)
	if !strings.Contains(logs.String(), "place call failed") {
		t.Fatalf("the failure was not logged:\n%s", logs.String())
	}
	check("the log", logs.String())
}

// TestProviderURLGuard: an API URL pointing at cloud metadata is refused
// when saved, a gateway on 127.0.0.1 is accepted, and the gateway's
// redirect elsewhere is not followed with the credentials.
func TestProviderURLGuard(t *testing.T) {
	a := startApp(t)
	var apiErr struct{ Error string }
	for _, u := range []string{"http://169.254.169.254/", "http://metadata.google.internal/computeMetadata/v1", "http://[fd00:ec2::254]/"} {
		code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "generic",
			"config": map[string]string{"api_url": u, "api_token": "gw-token-123456"}}, &apiErr)
		if code != http.StatusBadRequest || !strings.Contains(apiErr.Error, "api_url") {
			t.Errorf("save api_url %s: %d %q, want 400 naming api_url", u, code, apiErr.Error)
		}
	}

	var stolen atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Write([]byte(`{"call_id":"c-1","status":"queued"}`))
	}))
	defer elsewhere.Close()
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer gateway.Close()
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "generic",
		"config": map[string]string{"api_url": gateway.URL + "/v1", "api_token": "gw-token-123456"}}, &apiErr); code != 200 {
		t.Fatalf("save a gateway on 127.0.0.1: %d %q", code, apiErr.Error)
	}
	ch := a.channel(map[string]any{"name": "Ops"})
	code := a.do("POST", "/api/v1/calls", a.admin, map[string]any{"channel_id": ch.ID, "to": "+15550001"}, &apiErr)
	if code != http.StatusBadGateway || !strings.Contains(apiErr.Error, "redirect") || !strings.Contains(apiErr.Error, "307") {
		t.Errorf("place call through a redirecting gateway: %d %q, want 502 naming the redirect", code, apiErr.Error)
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the redirect target got the request with the credentials %d times", n)
	}
}
