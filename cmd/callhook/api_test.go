package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"callhook/internal/provider/twilio"
	"callhook/internal/store"
)

type channelJSON struct {
	ID                     string                 `json:"id"`
	Name                   string                 `json:"name"`
	Secret                 string                 `json:"secret"`
	CallbackURL            string                 `json:"callback_url"`
	DTMFMap                map[string]string      `json:"dtmf_map"`
	Provider               *struct{ Type string } `json:"provider"`
	SignatureCheckDisabled bool                   `json:"signature_check_disabled"`
}

type eventJSON struct {
	ID        int64  `json:"id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Digit     string `json:"digit"`
	Action    string `json:"action"`
	Applied   bool   `json:"applied"`
	Message   string `json:"message"`
}

type callJSON struct {
	ID             int64       `json:"id"`
	ChannelID      string      `json:"channel_id"`
	AlertID        *int64      `json:"alert_id"`
	Provider       string      `json:"provider"`
	ProviderCallID string      `json:"provider_call_id"`
	Direction      string      `json:"direction"`
	To             string      `json:"to"`
	Status         string      `json:"status"`
	DurationS      *float64    `json:"duration_s"`
	MOS            *float64    `json:"mos"`
	Events         []eventJSON `json:"events"`
}

type alertJSON struct {
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	State          string     `json:"state"`
	AcknowledgedBy *string    `json:"acknowledged_by"`
	ResolvedBy     *string    `json:"resolved_by"`
	Calls          []callJSON `json:"calls"`
}

type callbackJSON struct {
	ID         int64   `json:"id"`
	ChannelID  string  `json:"channel_id"`
	Outcome    string  `json:"outcome"`
	Reason     string  `json:"reason"`
	StatusCode int     `json:"status_code"`
	Path       string  `json:"path"`
	Body       *string `json:"body"`
	EventCount int     `json:"event_count"`
}

func (a *testApp) channel(body any) channelJSON {
	a.t.Helper()
	var ch channelJSON
	if code := a.do("POST", "/api/v1/channels", a.admin, body, &ch); code != 201 {
		a.t.Fatalf("create channel: %d", code)
	}
	return ch
}

func (a *testApp) registerCall(chID, providerCallID string, alertID *int64) callJSON {
	a.t.Helper()
	var c callJSON
	body := map[string]any{"channel_id": chID, "to": "+15550100", "provider_call_id": providerCallID}
	if alertID != nil {
		body["alert_id"] = *alertID
	}
	if code := a.do("POST", "/api/v1/calls", a.admin, body, &c); code != 201 {
		a.t.Fatalf("register call: %d", code)
	}
	return c
}

// TestGenericScenario is the foundation issue's check, end to end over HTTP.
func TestGenericScenario(t *testing.T) {
	a := startApp(t, func(c *Config) { c.MaxBody = 4096 })
	ch := a.channel(map[string]any{"name": "Ops"})
	if ch.Secret == "" || !strings.HasSuffix(ch.CallbackURL, "/api/integrations/voice/callback/"+ch.ID+"/"+ch.Secret) {
		t.Fatalf("channel %+v", ch)
	}
	if ch.DTMFMap["1"] != "acknowledge" || ch.DTMFMap["2"] != "resolve" {
		t.Errorf("default DTMF map %v", ch.DTMFMap)
	}
	var al alertJSON
	if code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "DB down", "severity": "critical"}, &al); code != 201 || al.State != "firing" {
		t.Fatalf("create alert: %d %+v", code, al)
	}
	call := a.registerCall(ch.ID, "abc-123", &al.ID)
	if call.Status != "queued" || call.Provider != "generic" {
		t.Fatalf("registered call %+v", call)
	}
	cb := ch.CallbackURL
	steps := []struct {
		name, url, ct, body string
		want                int
	}{
		{"ringing", cb, "application/json", `{"call_id":"abc-123","event_type":"status","status":"ringing"}`, 200},
		{"answered", cb, "application/json", `{"call_id":"abc-123","event_type":"status","status":"answered"}`, 200},
		{"dtmf 1", cb, "application/json", `{"call_id":"abc-123","event_type":"dtmf","digit":"1"}`, 200},
		{"duplicate dtmf", cb, "application/json", `{"call_id":"abc-123","event_type":"dtmf","digit":"1"}`, 200},
		{"completed", cb, "application/json; charset=utf-8", `{"call_id":"abc-123","event_type":"status","status":"completed","duration_s":42}`, 200},
		{"late ringing", cb, "application/json", `{"call_id":"abc-123","event_type":"status","status":"ringing","message":"late"}`, 200},
		{"unknown call", cb, "application/json", `{"call_id":"nobody","event_type":"status","status":"ringing"}`, 200},
		{"wrong secret", strings.Replace(cb, ch.Secret, "nope", 1), "application/json", `{"call_id":"abc-123","event_type":"status","status":"failed"}`, 404},
		{"unknown channel", strings.Replace(cb, "/"+ch.ID+"/", "/ghost/", 1), "application/json", `{}`, 404},
		{"malformed", cb, "application/json", `{"call_id":`, 400},
		{"wrong type", cb, "text/xml", `<x/>`, 415},
		{"oversized", cb, "application/json", `{"call_id":"abc-123","pad":"` + strings.Repeat("x", 5000) + `"}`, 413},
		{"far oversized", cb, "application/json", `{"pad":"` + strings.Repeat("x", 20000) + `"}`, 413},
	}
	for _, s := range steps {
		code, body := a.post(s.url, s.ct, []byte(s.body), nil)
		if code != s.want {
			t.Errorf("%s: %d %s, want %d", s.name, code, body, s.want)
		}
		if code == 404 && body != `{"error":"not found"}` {
			t.Errorf("%s: 404 body %s", s.name, body)
		}
	}
	var got callJSON
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", call.ID), a.admin, nil, &got)
	if got.Status != "completed" || got.DurationS == nil || *got.DurationS != 42 {
		t.Errorf("call %+v", got)
	}
	var seq []string
	for _, e := range got.Events {
		seq = append(seq, e.EventType+":"+e.Status)
	}
	if strings.Join(seq, ",") != "status:ringing,status:answered,dtmf:unknown,status:completed,status:ringing" {
		t.Errorf("timeline %v", seq)
	}
	if d := got.Events[2]; d.Digit != "1" || d.Action != "acknowledge" || !d.Applied {
		t.Errorf("dtmf event %+v", d)
	}
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", al.ID), a.admin, nil, &al)
	if al.State != "acknowledged" || al.AcknowledgedBy == nil || !strings.Contains(*al.AcknowledgedBy, "digit 1") || len(al.Calls) != 1 {
		t.Errorf("alert %+v", al)
	}
	var cbs struct {
		Items      []callbackJSON `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
	a.do("GET", "/api/v1/callbacks?limit=100", a.admin, nil, &cbs)
	outcomes := map[string]int{}
	reasons := map[string]bool{}
	for _, c := range cbs.Items {
		outcomes[c.Outcome]++
		reasons[c.Reason] = true
		if strings.Contains(c.Path, ch.Secret) {
			t.Errorf("callback %d path %q leaks the secret", c.ID, c.Path)
		}
	}
	if outcomes["accepted"] != 5 || outcomes["duplicate"] != 1 || outcomes["unmatched"] != 1 || outcomes["rejected"] != 6 {
		t.Errorf("outcomes %v", outcomes)
	}
	for _, r := range []string{"bad_secret", "unknown_channel", "bad_payload", "unsupported_media_type", "too_large"} {
		if !reasons[r] {
			t.Errorf("no callback stored with reason %s (have %v)", r, reasons)
		}
	}
	a.do("GET", "/api/v1/callbacks?outcome=rejected&limit=2", a.admin, nil, &cbs)
	if len(cbs.Items) != 2 || cbs.NextCursor == nil {
		t.Fatalf("paged rejected callbacks: %d items, cursor %v", len(cbs.Items), cbs.NextCursor)
	}
	first := cbs.Items[0].ID
	a.do("GET", "/api/v1/callbacks?outcome=rejected&limit=2&cursor="+*cbs.NextCursor, a.admin, nil, &cbs)
	if len(cbs.Items) != 2 || cbs.Items[0].ID >= first {
		t.Errorf("second page %+v", cbs.Items)
	}
	// The unknown call's events attach when it is registered.
	late := a.registerCall(ch.ID, "nobody", nil)
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", late.ID), a.admin, nil, &got)
	if got.Status != "ringing" || len(got.Events) != 1 {
		t.Errorf("late-registered call %+v", got)
	}
}

func TestAuthAndRoles(t *testing.T) {
	a := startApp(t)
	viewer := a.token("viewer")
	ch := a.channel(map[string]any{"name": "Ops"})
	tests := []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/channels", "", nil, 401},
		{"GET", "/api/v1/channels", "chk_bogus", nil, 401},
		{"GET", "/api/v1/channels", viewer, nil, 200},
		{"POST", "/api/v1/channels", viewer, map[string]any{"name": "x"}, 403},
		{"PATCH", "/api/v1/channels/" + ch.ID, viewer, map[string]any{"name": "x"}, 403},
		{"DELETE", "/api/v1/channels/" + ch.ID, viewer, nil, 403},
		{"POST", "/api/v1/channels/" + ch.ID + "/rotate-secret", viewer, nil, 403},
		{"PUT", "/api/v1/provider", viewer, map[string]any{"type": "generic"}, 403},
		{"POST", "/api/v1/alerts", viewer, map[string]any{"title": "x"}, 403},
		{"POST", "/api/v1/calls", viewer, map[string]any{"channel_id": ch.ID, "provider_call_id": "x"}, 403},
		{"GET", "/api/v1/provider", viewer, nil, 200},
		{"GET", "/api/v1/calls", viewer, nil, 200},
		{"GET", "/api/v1/stats", viewer, nil, 200},
		{"GET", "/api/v1/nothing", viewer, nil, 404},
		{"GET", "/api/v1/calls/999", viewer, nil, 404},
		{"GET", "/api/v1/calls/abc", viewer, nil, 404},
		{"POST", "/api/v1/channels", a.admin, `{"name":`, 400},
		{"POST", "/api/v1/channels", a.admin, map[string]any{"name": "x", "bogus": 1}, 400},
		{"POST", "/api/v1/channels", a.admin, map[string]any{"id": "Bad ID!"}, 400},
		{"POST", "/api/v1/channels", a.admin, map[string]any{"id": ch.ID}, 409},
		{"POST", "/api/v1/channels", a.admin, map[string]any{"name": "x", "dtmf_map": map[string]string{"1a": "acknowledge"}}, 400},
		{"POST", "/api/v1/channels", a.admin, map[string]any{"name": "x", "dtmf_map": map[string]string{"1": "snooze"}}, 400},
		{"GET", "/api/v1/calls?status=flying", a.admin, nil, 400},
		{"GET", "/api/v1/calls?cursor=zz", a.admin, nil, 400},
	}
	for _, tt := range tests {
		var out any
		code := a.do(tt.method, tt.path, tt.token, tt.body, &out)
		if code != tt.want {
			t.Errorf("%s %s: %d, want %d (%v)", tt.method, tt.path, code, tt.want, out)
		}
		if code >= 400 {
			m, _ := out.(map[string]any)
			if msg, _ := m["error"].(string); msg == "" {
				t.Errorf("%s %s: error body %v has no message", tt.method, tt.path, out)
			}
		}
	}
	// Viewers see no secrets.
	var chs []channelJSON
	a.do("GET", "/api/v1/channels", viewer, nil, &chs)
	if len(chs) != 1 || chs[0].Secret != "" || chs[0].CallbackURL != "" {
		t.Errorf("viewer sees %+v", chs)
	}
	// Viewers may acknowledge.
	var al alertJSON
	a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "x"}, &al)
	if code := a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", al.ID), viewer, nil, &al); code != 200 || al.State != "acknowledged" {
		t.Errorf("viewer ack: %d %s", code, al.State)
	}
	if code := a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", al.ID), viewer, nil, &al); code != 200 || al.State != "resolved" || *al.ResolvedBy != "token:t-viewer" {
		t.Errorf("viewer resolve: %d %+v", code, al)
	}
}

func TestChannelsAndProviderAPI(t *testing.T) {
	a := startApp(t)
	var pv struct {
		Type           string            `json:"type"`
		Config         map[string]string `json:"config"`
		SignatureCheck string            `json:"signature_check"`
		Warnings       []string          `json:"warnings"`
		Capabilities   []string          `json:"capabilities"`
	}
	a.do("GET", "/api/v1/provider", a.admin, nil, &pv)
	if pv.Type != "generic" || pv.SignatureCheck != "off" || len(pv.Warnings) == 0 {
		t.Errorf("default provider %+v", pv)
	}
	token := "0123456789abcdef0123456789abcdef"
	code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio",
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token, "from": "+14155550123"}}, &pv)
	if code != 200 || pv.Type != "twilio" || pv.SignatureCheck != "on" || strings.Contains(pv.Config["auth_token"], "0123") {
		t.Fatalf("put provider: %d %+v", code, pv)
	}
	// Blank keeps the stored secret.
	a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio",
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": ""}}, &pv)
	if pv.SignatureCheck != "on" {
		t.Errorf("blank auth_token dropped the stored one: %+v", pv)
	}
	// Clearing the signing credential turns the check off, and says so.
	a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio",
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef"}, "clear": []string{"auth_token"}, "callbacks_only": true}, &pv)
	if pv.SignatureCheck != "off" || len(pv.Warnings) == 0 {
		t.Errorf("after clearing auth_token: %+v", pv)
	}
	a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio",
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token}}, &pv)
	var e map[string]string
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio", "clear": []string{"colour"}}, &e); code != 400 {
		t.Errorf("clearing an unknown key: %d", code)
	}
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "nope"}, &e); code != 400 {
		t.Errorf("unknown type: %d", code)
	}
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio", "config": map[string]string{"colour": "red"}}, &e); code != 400 || !strings.Contains(e["error"], "colour") {
		t.Errorf("unknown key: %d %v", code, e)
	}

	ch := a.channel(map[string]any{"name": "Ops", "dtmf_map": map[string]string{"787": "resolve", "1": "ack"},
		"provider": map[string]any{"type": "generic", "config": map[string]string{"signing_secret": "sekret-value-123"}}})
	if ch.DTMFMap["787"] != "resolve" || ch.DTMFMap["1"] != "acknowledge" || ch.Provider == nil || ch.Provider.Type != "generic" {
		t.Errorf("created %+v", ch)
	}
	var patched channelJSON
	a.do("PATCH", "/api/v1/channels/"+ch.ID, a.admin, map[string]any{"name": "Ops EU", "provider": nil}, &patched)
	if patched.Name != "Ops EU" || patched.Provider != nil || patched.DTMFMap["787"] != "resolve" {
		t.Errorf("patched %+v", patched)
	}
	old := ch.Secret
	var rotated struct {
		channelJSON
		PrevExpires *time.Time `json:"previous_secret_expires_at"`
	}
	a.do("POST", "/api/v1/channels/"+ch.ID+"/rotate-secret", a.admin, map[string]any{"grace_seconds": 3600}, &rotated)
	if rotated.Secret == old || rotated.PrevExpires == nil || rotated.PrevExpires.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("rotated %+v", rotated)
	}
	// The old secret still passes the secret check during the grace period;
	// the channel now uses the global Twilio provider, whose signature this
	// unsigned request lacks: 401, not the 404 of a wrong secret.
	if code, body := a.post(a.URL()+"/api/integrations/voice/callback/"+ch.ID+"/"+old, "application/x-www-form-urlencoded", []byte(`CallSid=CA1&CallStatus=ringing`), nil); code != 401 {
		t.Errorf("old secret during grace: %d %s", code, body)
	}
	if code, _ := a.post(a.URL()+"/api/integrations/voice/callback/"+ch.ID+"/wrong", "application/x-www-form-urlencoded", []byte(`CallSid=CA1&CallStatus=ringing`), nil); code != 404 {
		t.Errorf("wrong secret: %d", code)
	}
	if code := a.do("DELETE", "/api/v1/channels/"+ch.ID, a.admin, nil, nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code := a.do("GET", "/api/v1/channels/"+ch.ID, a.admin, nil, nil); code != 404 {
		t.Errorf("deleted channel: %d", code)
	}
}

func TestSimulatorAlertEndToEnd(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "Sim", "provider": map[string]any{"type": "simulator", "config": map[string]string{}}})
	var al alertJSON
	code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "Checkout down", "channel_id": ch.ID,
		"targets": []string{"+15550001", "+15550002"}}, &al)
	if code != 201 || len(al.Calls) != 2 {
		t.Fatalf("alert: %d %+v", code, al)
	}
	// The simulator posts callbacks back through the real endpoint; wait until
	// both calls finish.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", al.ID), a.admin, nil, &al)
		done := 0
		for _, c := range al.Calls {
			if c.Status == "completed" || c.Status == "busy" || c.Status == "no_answer" || c.Status == "failed" {
				done++
			}
		}
		if done == 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var calls struct{ Items []callJSON }
	a.do("GET", "/api/v1/calls?channel_id="+ch.ID, a.admin, nil, &calls)
	if len(calls.Items) != 2 {
		t.Fatalf("%d calls", len(calls.Items))
	}
	for _, c := range calls.Items {
		var full callJSON
		a.do("GET", fmt.Sprintf("/api/v1/calls/%d", c.ID), a.admin, nil, &full)
		if len(full.Events) < 2 {
			t.Errorf("call %s has %d events; the simulator's callbacks did not arrive (status %s)", c.ProviderCallID, len(full.Events), full.Status)
		}
	}
}

func TestStreamResumesWithoutGaps(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "S"})
	a.registerCall(ch.ID, "ws-1", nil)
	dial := func(after string) *websocket.Conn { return dialStream(t, a.URL(), a.admin, after) }
	type msg = streamMsg
	read := func(c *websocket.Conn) msg { t.Helper(); return readStream(t, c) }
	conn := dial("")
	hello := read(conn)
	if hello.Type != "hello" || hello.Seq == 0 {
		t.Fatalf("hello %+v", hello)
	}
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"ws-1","event_type":"status","status":"ringing"}`), nil)
	var live []msg
	for len(live) == 0 || live[len(live)-1].Type != "callback" {
		live = append(live, read(conn))
	}
	conn.Close()
	// Events committed while disconnected arrive on resume, in order.
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"ws-1","event_type":"status","status":"answered"}`), nil)
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"ws-1","event_type":"status","status":"completed"}`), nil)
	conn = dial(fmt.Sprintf("?after=%d", live[len(live)-1].Seq))
	defer conn.Close()
	var statuses []string
	last := live[len(live)-1].Seq
	for len(statuses) < 2 {
		m := read(conn)
		if m.Seq != last+1 {
			t.Fatalf("gap: seq %d after %d", m.Seq, last)
		}
		last = m.Seq
		if m.Type == "event" {
			var ev eventJSON
			json.Unmarshal(m.Data, &ev)
			statuses = append(statuses, ev.Status)
		}
	}
	if strings.Join(statuses, ",") != "answered,completed" {
		t.Errorf("resumed events %v", statuses)
	}
	// Unauthenticated stream is refused.
	_, resp, err := websocket.DefaultDialer.Dial(strings.Replace(a.URL(), "http://", "ws://", 1)+"/api/v1/stream", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("anonymous stream: %v %v", err, resp)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	a := startApp(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(a.URL() + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, err, resp)
		}
	}
	ch := a.channel(map[string]any{"name": "M"})
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"m","event_type":"status","status":"ringing"}`), nil)
	resp, err := http.Get(a.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte(`callhook_callbacks_total{outcome="unmatched",provider="generic",reason="",status="200"} 1`)) {
		t.Errorf("metrics lack the callback counter:\n%s", body)
	}
	// The write path's, the hub's, the poller's and the build's series
	// (docs/scale-out.md, "Metrics"); a commit holds at least one write.
	for _, want := range []string{"callhook_store_commit_seconds_count ", "callhook_store_commit_jobs_bucket{le=\"1\"} ",
		"callhook_live_dropped_total 0", "callhook_poll_lag_seconds_count ", "callhook_build_info{goversion=\"go"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if bytes.Contains(body, []byte(`callhook_store_commit_seconds_count 0`)) {
		t.Error("no commit observed")
	}
	if bytes.Contains(body, []byte(ch.Secret)) {
		t.Error("metrics leak a channel secret")
	}
}

func TestCallsCSVStatsAndReplay(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "C"})
	c := a.registerCall(ch.ID, "csv-1", nil)
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"csv-1","event_type":"status","status":"completed","duration_s":30,"mos":4.2}`), nil)
	req, _ := http.NewRequest("GET", a.URL()+"/api/v1/calls.csv", nil)
	req.Header.Set("Authorization", "Bearer "+a.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 2 || !strings.Contains(lines[1], "csv-1") || !strings.Contains(lines[1], ",completed,30,4.2,") {
		t.Errorf("csv %q", body)
	}
	var st struct {
		Items []struct {
			ChannelID    string   `json:"channel_id"`
			Calls        int      `json:"calls"`
			AnsweredRate float64  `json:"answered_rate"`
			MeanMOS      *float64 `json:"mean_mos"`
		} `json:"items"`
	}
	a.do("GET", "/api/v1/stats", a.admin, nil, &st)
	if len(st.Items) != 1 || st.Items[0].Calls != 1 || st.Items[0].AnsweredRate != 1 || *st.Items[0].MeanMOS != 4.2 {
		t.Errorf("stats %+v", st)
	}
	// A callback rejected for an unknown channel keeps its body, but cannot be
	// replayed: it never named a channel and its secret.
	ghost := strings.Replace(ch.CallbackURL, "/"+ch.ID+"/", "/later/", 1)
	a.post(ghost, "application/json", []byte(`{"call_id":"csv-1","event_type":"dtmf","digit":"9"}`), nil)
	var cbs struct{ Items []callbackJSON }
	a.do("GET", "/api/v1/callbacks?outcome=rejected", a.admin, nil, &cbs)
	if len(cbs.Items) != 1 || cbs.Items[0].Reason != "unknown_channel" {
		t.Fatalf("rejected %+v", cbs.Items)
	}
	var full callbackJSON
	a.do("GET", fmt.Sprintf("/api/v1/callbacks/%d", cbs.Items[0].ID), a.admin, nil, &full)
	if full.Body == nil || !strings.Contains(*full.Body, `"digit":"9"`) {
		t.Errorf("raw body %+v", full)
	}
	a.channel(map[string]any{"id": "later", "name": "Later"})
	var rr struct {
		Outcome    string `json:"outcome"`
		CallbackID int64  `json:"callback_id"`
	}
	if code := a.do("POST", fmt.Sprintf("/api/v1/callbacks/%d/replay", full.ID), a.admin, nil, &rr); code != 409 {
		t.Errorf("replay of an unknown_channel callback: %d %+v, want 409", code, rr)
	}
	var got callJSON
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", c.ID), a.admin, nil, &got)
	if len(got.Events) != 1 {
		t.Errorf("the refused replay changed the call: %+v", got.Events)
	}
}

// streamMsg is one message of /api/v1/stream.
type streamMsg struct {
	Seq    int64           `json:"seq"`
	Type   string          `json:"type"`
	CallID *int64          `json:"call_id"`
	Data   json.RawMessage `json:"data"`
}

// readStream reads the next stream message, failing after 5 s.
func readStream(t *testing.T, c *websocket.Conn) streamMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m streamMsg
	if err := c.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStreamEventNamesItsCallbackAndCall: every event on the stream names
// the callback that brought it and the provider's call id, also when it
// matched no call, so a reader can tell what an unmatched event was about.
func TestStreamEventNamesItsCallbackAndCall(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "N"})
	conn := dialStream(t, a.URL(), a.admin, "")
	defer conn.Close()
	read := func() streamMsg { t.Helper(); return readStream(t, conn) }
	if m := read(); m.Type != "hello" {
		t.Fatalf("first message %+v, want the hello", m)
	}
	if code, body := a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"nobody-1","event_type":"status","status":"ringing"}`), nil); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	var ev struct {
		CallbackID     int64  `json:"callback_id"`
		ProviderCallID string `json:"provider_call_id"`
	}
	for m := read(); ; m = read() {
		if m.Type != "event" {
			continue
		}
		if m.CallID != nil {
			t.Fatalf("an unmatched event names call %d", *m.CallID)
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		break
	}
	var cbs struct{ Items []callbackJSON }
	a.do("GET", "/api/v1/callbacks?limit=1", a.admin, nil, &cbs)
	if ev.ProviderCallID != "nobody-1" || len(cbs.Items) != 1 || ev.CallbackID != cbs.Items[0].ID {
		t.Errorf("event names callback %d and call %q; want callback %+v and call nobody-1", ev.CallbackID, ev.ProviderCallID, cbs.Items)
	}
}

// TestGracefulShutdownFinishesInFlight: a callback whose body is still
// arriving when shutdown starts is committed and answered; new connections
// are refused meanwhile; the database is closed afterwards.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "G"})
	a.registerCall(ch.ID, "in-flight", nil)
	u, err := url.Parse(ch.CallbackURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"call_id":"in-flight","event_type":"status","status":"answered"}`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		u.Path, u.Host, len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // the server is now reading this request
	done := make(chan error, 1)
	go func() { done <- a.Shutdown(10 * time.Second) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, 200*time.Millisecond)
		if err != nil {
			break // the listener is closed
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections during shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight callback got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("in-flight callback: HTTP %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// What was answered 200 is in the database.
	st, err := store.Open(a.Config.DB, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CallByProviderID(context.Background(), ch.ID, "generic", "in-flight")
	if err != nil || c == nil || c.Status != "answered" {
		t.Errorf("after shutdown the call is %+v (%v), want answered", c, err)
	}
}

func TestCallbackRateLimit(t *testing.T) {
	a := startApp(t, func(c *Config) { c.RateLimit = 3 })
	ch := a.channel(map[string]any{"name": "RL"})
	limited := 0
	for i := 0; i < 8; i++ {
		code, _ := a.post(ch.CallbackURL, "application/json", []byte(fmt.Sprintf(`{"call_id":"r%d","event_type":"status","status":"ringing"}`, i)), nil)
		if code == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("8 callbacks in a burst with a limit of 3/s: none refused")
	}
	var cbs struct{ Items []callbackJSON }
	a.do("GET", "/api/v1/callbacks?outcome=rejected", a.admin, nil, &cbs)
	if len(cbs.Items) != limited || cbs.Items[0].Reason != "rate_limited" || cbs.Items[0].StatusCode != 429 {
		t.Errorf("%d refused, stored %+v", limited, cbs.Items)
	}
}

// TestCallNotificationReachesBoundConsole: a Twilio Call Notification for
// client:bob answers 200 only while bob has the console open, and reaches it.
func TestCallNotificationReachesBoundConsole(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	token := "0123456789abcdef0123456789abcdef"
	ch := a.channel(map[string]any{"name": "Voice SDK", "provider": map[string]any{"type": "twilio", "callbacks_only": true,
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token}}})
	if _, err := a.Auth.CreateUser(ctx, "bob", "bob-password-1", "viewer"); err != nil {
		t.Fatal(err)
	}
	notify := func(msgID string) (int, string) {
		body := []byte(`{"twi_account_sid":"AC0123456789abcdef0123456789abcdef","twi_call_sid":"CA11223344556677889900aabbccdd` + msgID[len(msgID)-4:] +
			`","twi_from":"client:alice","twi_to":"client:bob","twi_bridge_token":"tok","twi_message_id":"` + msgID + `","twi_message_type":"twilio.voice.call"}`)
		u, sig := twilio.SignBody(token, ch.CallbackURL, body)
		return a.post(u, "application/json", body, map[string]string{"X-Twilio-Signature": sig})
	}
	if code, body := notify("WB000000000000000000000000000001"); code != 404 {
		t.Fatalf("no binding: %d %s, want 404", code, body)
	}
	cookie, _, err := a.Auth.Login(ctx, "bob", "bob-password-1")
	if err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(a.URL(), "http://", "ws://", 1) + "/api/v1/stream"
	conn, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Cookie": {"callhook_session=" + cookie}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hello map[string]any
	conn.ReadJSON(&hello) // the hello: bob is bound from here on
	if code, body := notify("WB000000000000000000000000000002"); code != 200 {
		t.Fatalf("bound: %d %s, want 200", code, body)
	}
	for {
		var m map[string]any
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("no notification reached bob's console: %v", err)
		}
		if m["type"] == "call.notification" {
			break
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTailPrintsLiveEvents(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "T"})
	a.registerCall(ch.ID, "tail-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"tail", "--url", a.URL(), "--token", a.admin, "--after", "0"}, nil, out, io.Discard)
	}()
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"tail-1","event_type":"dtmf","digit":"7"}`), nil)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "digit=7") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "call.created") || !strings.Contains(s, "event_type=dtmf") || !strings.Contains(s, "digit=7") {
		t.Errorf("tail printed:\n%s", s)
	}
	if err := run(context.Background(), []string{"tail", "--url", a.URL(), "--token", "chk_wrong"}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("tail with a bad token: %v", err)
	}
}

func TestCLICommands(t *testing.T) {
	db := "sqlite://" + t.TempDir() + "/cli.db"
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"migrate", "--db", db}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"token", "create", "ci", "--role", "admin", "--db", db}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	if !strings.HasPrefix(tok, "chk_") || len(tok) < 40 {
		t.Errorf("token %q", tok)
	}
	if err := run(ctx, []string{"user", "add", "carol", "--role", "viewer", "--db", db}, strings.NewReader("carol-password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"user", "add", "dave", "--role", "root", "--db", db}, strings.NewReader("dave-password\n"), io.Discard, io.Discard); err == nil {
		t.Error("role root accepted")
	}
	if err := run(ctx, []string{"bogus"}, nil, io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
	// The token works against a server on the same database, which holds
	// only its hash.
	a := startApp(t, func(c *Config) { c.DB = db })
	if code := a.do("GET", "/api/v1/channels", tok, nil, nil); code != 200 {
		t.Errorf("CLI token: %d", code)
	}
	raw, err := os.ReadFile(strings.TrimPrefix(db, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(strings.TrimPrefix(db, "sqlite://") + "-wal")
	if bytes.Contains(raw, []byte(tok)) || bytes.Contains(wal, []byte(tok)) {
		t.Error("the database holds the token itself")
	}
}
