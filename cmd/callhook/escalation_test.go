package main

import (
	"net/url"
	"strings"
	"testing"
)

// The alert API and the console's raise form take the calling mode.
func TestAlertModeAPIAndConsole(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "Esc", "provider": map[string]any{"type": "simulator", "config": map[string]string{}}})
	var out struct {
		Mode           string   `json:"mode"`
		PendingTargets []string `json:"pending_targets"`
		Calls          []struct {
			To string `json:"to"`
		} `json:"calls"`
		Error string `json:"error"`
	}
	if code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "x", "channel_id": ch.ID, "mode": "loud"}, &out); code != 400 || !strings.Contains(out.Error, "mode") {
		t.Fatalf("unknown mode: %d %+v", code, out)
	}
	out.Error = ""
	code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "DB down", "channel_id": ch.ID, "mode": "sequential",
		"targets": []string{"+15550001", "+15550002"}}, &out)
	if code != 201 || out.Mode != "sequential" || len(out.Calls) != 1 || out.Calls[0].To != "+15550001" ||
		len(out.PendingTargets) != 1 || out.PendingTargets[0] != "+15550002" {
		t.Fatalf("sequential alert: %d %+v", code, out)
	}
	f := newFormClient(t, a.URL())
	csrf := f.login("admin", testAdminPassword)
	resp, body := f.do("POST", "/alerts", url.Values{"_csrf": {csrf}, "title": {"From the form"}, "channel_id": {ch.ID},
		"targets": {"+15550003\n+15550004"}, "mode": {"sequential"}})
	if resp.StatusCode != 303 {
		t.Fatalf("raise form: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", resp.Header.Get("Location"), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "One number after another") || !strings.Contains(body, "1 number left") {
		t.Errorf("alert page after a sequential raise: %d", resp.StatusCode)
	}
}
