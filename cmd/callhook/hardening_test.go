package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawRequest writes req to the app's listener as it is and reads one answer.
func (a *testApp) rawRequest(req string) (*http.Response, error) {
	a.t.Helper()
	u, _ := url.Parse(a.URL())
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

func (a *testApp) healthy() bool {
	resp, err := http.Get(a.URL() + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

func (a *testApp) rejected() []callbackJSON {
	a.t.Helper()
	var cbs struct{ Items []callbackJSON }
	if code := a.do("GET", "/api/v1/callbacks?outcome=rejected", a.admin, nil, &cbs); code != 200 {
		a.t.Fatalf("list rejected: %d", code)
	}
	return cbs.Items
}

// A Content-Length far over the limit with no body used to reach the error
// handler before routing, where reading route params crashed the process.
func TestHugeContentLengthIsRefusedAndStored(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "Big"})
	for _, path := range []string{"/api/integrations/voice/callback/x/y", "/api/integrations/voice/callback/" + ch.ID + "/" + ch.Secret} {
		resp, err := a.rawRequest("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n")
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if resp.StatusCode != 413 {
			t.Errorf("%s: status %d, want 413", path, resp.StatusCode)
		}
		if !a.healthy() {
			t.Fatalf("server down after a huge Content-Length to %s", path)
		}
	}
	rows := a.rejected()
	if len(rows) != 2 {
		t.Fatalf("stored %d rejected rows, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.Reason != "too_large" || r.StatusCode != 413 {
			t.Errorf("row %+v, want too_large 413", r)
		}
	}
}

// An event posted to channel B's URL naming channel A's call must not touch
// A's call or alert: it is B's unmatched event.
func TestChannelIsolation(t *testing.T) {
	a := startApp(t)
	chA := a.channel(map[string]any{"name": "A"})
	chB := a.channel(map[string]any{"name": "B"})
	var al alertJSON
	if code := a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "A down", "channel_id": chA.ID}, &al); code != 201 {
		t.Fatalf("alert: %d", code)
	}
	call := a.registerCall(chA.ID, "shared-1", &al.ID)
	for _, body := range []string{
		`{"call_id":"shared-1","event_type":"status","status":"answered"}`,
		`{"call_id":"shared-1","event_type":"dtmf","digit":"1"}`,
		`{"call_id":"shared-1","event_type":"status","status":"completed"}`,
	} {
		if code, out := a.post(chB.CallbackURL, "application/json", []byte(body), nil); code != 200 {
			t.Fatalf("post to B: %d %s", code, out)
		}
	}
	var got alertJSON
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", al.ID), a.admin, nil, &got)
	if got.State != "firing" {
		t.Errorf("A's alert is %s after B's DTMF 1, want firing", got.State)
	}
	var c callJSON
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", call.ID), a.admin, nil, &c)
	if c.Status != "queued" || len(c.Events) != 0 {
		t.Errorf("A's call changed by B's callbacks: %+v", c)
	}
	var cbs struct{ Items []callbackJSON }
	a.do("GET", "/api/v1/callbacks?channel_id="+chB.ID, a.admin, nil, &cbs)
	if len(cbs.Items) != 3 {
		t.Fatalf("B has %d callbacks, want 3", len(cbs.Items))
	}
	for _, cb := range cbs.Items {
		if cb.Outcome != "unmatched" {
			t.Errorf("B's callback %d is %s, want unmatched", cb.ID, cb.Outcome)
		}
	}
	// The same provider call id registered on B is B's own call.
	callB := a.registerCall(chB.ID, "shared-1", nil)
	var gotB callJSON
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", callB.ID), a.admin, nil, &gotB)
	if gotB.Status != "completed" || len(gotB.Events) != 3 {
		t.Errorf("B's call after registering: status %s, %d events; want completed with B's 3 events", gotB.Status, len(gotB.Events))
	}
	a.do("GET", fmt.Sprintf("/api/v1/calls/%d", call.ID), a.admin, nil, &c)
	if c.Status != "queued" || len(c.Events) != 0 {
		t.Errorf("A's call took B's events: %+v", c)
	}
}

// Twilio inbound calls hear and act on their own channel's alerts only, and
// only from numbers on the channel's allow-list.
func TestInboundCallerAllowList(t *testing.T) {
	a := startApp(t)
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "twilio", "config": map[string]string{}, "callbacks_only": true}, nil); code != 200 {
		t.Fatalf("provider: %d", code)
	}
	other := a.channel(map[string]any{"name": "other"})
	tw := a.channel(map[string]any{"name": "tw"})
	var foreign, own alertJSON
	a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "other's", "channel_id": other.ID}, &foreign)
	inbound := func(sid, from, digits string) (int, string) {
		v := url.Values{"CallSid": {sid}, "AccountSid": {"AC1"}, "From": {from}, "To": {"+15550000"},
			"CallStatus": {"ringing"}, "Direction": {"inbound"}}
		if digits != "" {
			v.Set("Digits", digits)
			v.Set("CallStatus", "in-progress")
		}
		return a.post(tw.CallbackURL, "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
	}
	state := func(id int64) string {
		var al alertJSON
		a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), a.admin, nil, &al)
		return al.State
	}
	// No allow-list: recorded, nothing read out, nothing changed.
	if code, body := inbound("CAin1", "+19990001", ""); code != 200 || strings.Contains(body, "other's") {
		t.Fatalf("inbound with empty allow-list: %d %s", code, body)
	}
	inbound("CAin1", "+19990001", "1")
	if s := state(foreign.ID); s != "firing" {
		t.Fatalf("another channel's alert is %s after an inbound caller pressed 1", s)
	}
	a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "tw's own", "channel_id": tw.ID}, &own)
	// On the list: own alert only.
	if code := a.do("PATCH", "/api/v1/channels/"+tw.ID, a.admin, map[string]any{"inbound_allow": []string{"+1 (999) 000-2"}}, nil); code != 200 {
		t.Fatalf("set allow-list: %d", code)
	}
	var chk struct {
		InboundAllow []string `json:"inbound_allow"`
	}
	a.do("GET", "/api/v1/channels/"+tw.ID, a.admin, nil, &chk)
	if len(chk.InboundAllow) != 1 || chk.InboundAllow[0] != "+19990002" {
		t.Fatalf("allow-list read back as %v", chk.InboundAllow)
	}
	// A caller not on the list still changes nothing.
	inbound("CAin2", "+19990003", "")
	inbound("CAin2", "+19990003", "1")
	if s := state(own.ID); s != "firing" {
		t.Fatalf("own alert %s after an unlisted caller pressed 1", s)
	}
	code, body := inbound("CAin3", "+19990002", "")
	if code != 200 || !strings.Contains(body, "tw&#39;s own") && !strings.Contains(body, "tw's own") || strings.Contains(body, "other's") {
		t.Fatalf("listed caller heard: %d %s", code, body)
	}
	inbound("CAin3", "+19990002", "1")
	if s := state(own.ID); s != "acknowledged" {
		t.Errorf("own alert %s after a listed caller pressed 1, want acknowledged", s)
	}
	if s := state(foreign.ID); s != "firing" {
		t.Errorf("another channel's alert %s, want firing", s)
	}
}

// Anonymous junk keeps at most 1 KiB of its body, and one address that keeps
// sending junk is refused with 429 without a stored row.
func TestAnonymousJunkIsBounded(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "J"})
	junk := []byte(strings.Repeat("x", 64<<10))
	refused := 0
	for i := 0; i < 200; i++ {
		code, _ := a.post(fmt.Sprintf("%s/api/integrations/voice/callback/ghost%d/s", a.URL(), i), "application/json", junk, nil)
		switch code {
		case 404:
		case 429:
			refused++
		default:
			t.Fatalf("junk post %d: status %d", i, code)
		}
	}
	if refused == 0 {
		t.Error("200 junk posts from one address in a burst: none refused")
	}
	var cbs struct {
		Items []struct {
			ID            int64  `json:"id"`
			Reason        string `json:"reason"`
			Body          string `json:"body"`
			BodySize      int    `json:"body_size"`
			BodyTruncated bool   `json:"body_truncated"`
		}
	}
	a.do("GET", "/api/v1/callbacks?outcome=rejected&limit=500", a.admin, nil, &cbs)
	if len(cbs.Items)+refused != 200 {
		t.Errorf("%d stored + %d refused, want 200", len(cbs.Items), refused)
	}
	for _, cb := range cbs.Items[:1] {
		var full struct {
			Body          string `json:"body"`
			BodySize      int    `json:"body_size"`
			BodyTruncated bool   `json:"body_truncated"`
		}
		a.do("GET", fmt.Sprintf("/api/v1/callbacks/%d", cb.ID), a.admin, nil, &full)
		if len(full.Body) > 1024 || !full.BodyTruncated || full.BodySize != 64<<10 {
			t.Errorf("unknown-channel row keeps %d bytes (truncated %v, size %d), want ≤ 1024, true, 65536", len(full.Body), full.BodyTruncated, full.BodySize)
		}
	}
	// A channel's own callbacks from the same address still go through.
	if code, out := a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"ok","event_type":"status","status":"ringing"}`), nil); code != 200 {
		t.Errorf("valid callback after junk from the same address: %d %s", code, out)
	}
}

// More events than CALLHOOK_MAX_EVENTS is refused while decoding.
func TestTooManyEvents(t *testing.T) {
	a := startApp(t, func(c *Config) { c.MaxEvents = 5 })
	ch := a.channel(map[string]any{"name": "E"})
	ev := `{"call_id":"m","event_type":"status","status":"ringing"}`
	ok := "[" + strings.TrimSuffix(strings.Repeat(ev+",", 5), ",") + "]"
	if code, out := a.post(ch.CallbackURL, "application/json", []byte(ok), nil); code != 200 {
		t.Fatalf("5 events: %d %s", code, out)
	}
	big := "[" + strings.TrimSuffix(strings.Repeat("{},", 300000), ",") + "]"
	code, out := a.post(ch.CallbackURL, "application/json", []byte(big), nil)
	if code != 413 || !strings.Contains(out, "too_many_events") {
		t.Fatalf("300,000 events: %d %s, want 413 too_many_events", code, out)
	}
	rows := a.rejected()
	if len(rows) != 1 || rows[0].Reason != "too_many_events" {
		t.Errorf("stored %+v", rows)
	}
}

// Requests under the callback prefix that never reach the pipeline's route
// are stored too.
func TestEveryCallbackPathRequestIsStored(t *testing.T) {
	a := startApp(t, func(c *Config) { c.MaxBody = 4096 })
	ch := a.channel(map[string]any{"name": "P"})
	base := "/api/integrations/voice/callback/"
	chunked := "POST " + base + ch.ID + "/" + ch.Secret + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	for i := 0; i < 3; i++ {
		chunked += "1000\r\n" + strings.Repeat("a", 0x1000) + "\r\n"
	}
	chunked += "0\r\n\r\n"
	cases := []struct {
		name, req string
		status    int
		reason    string
	}{
		{"chunked over the limit", chunked, 413, "too_large"},
		{"long URL", "GET " + base + ch.ID + "/" + ch.Secret + "?q=" + strings.Repeat("z", 5000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "too_large"},
		{"multipart", "POST " + base + ch.ID + "/" + ch.Secret + " HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 4\r\n\r\n--zz", 415, "unsupported_media_type"},
		{"extra segment", "POST " + base + ch.ID + "/" + ch.Secret + "/more HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 404, "unknown_channel"},
		{"empty channel", "POST " + base + "/" + ch.Secret + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 404, "unknown_channel"},
	}
	for i, tc := range cases {
		resp, err := a.rawRequest(tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		rows := a.rejected()
		if len(rows) != i+1 {
			t.Fatalf("%s: %d rejected rows stored, want %d", tc.name, len(rows), i+1)
		}
		if rows[0].Reason != tc.reason || rows[0].StatusCode != tc.status {
			t.Errorf("%s: stored %+v, want %s %d", tc.name, rows[0], tc.reason, tc.status)
		}
	}
	if !a.healthy() {
		t.Fatal("server down")
	}
}

// Replay is offered only for callbacks that passed the secret check.
func TestReplayNeedsTheSecret(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "R"})
	var al alertJSON
	a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "x", "channel_id": ch.ID}, &al)
	a.registerCall(ch.ID, "r1", &al.ID)
	bad := strings.Replace(ch.CallbackURL, ch.Secret, "guess", 1)
	if code, _ := a.post(bad, "application/json", []byte(`{"call_id":"r1","event_type":"dtmf","digit":"2"}`), nil); code != 404 {
		t.Fatalf("bad secret: %d", code)
	}
	rows := a.rejected()
	if len(rows) != 1 || rows[0].Reason != "bad_secret" {
		t.Fatalf("rows %+v", rows)
	}
	var out map[string]any
	if code := a.do("POST", fmt.Sprintf("/api/v1/callbacks/%d/replay", rows[0].ID), a.admin, nil, &out); code != 409 {
		t.Errorf("replay of a bad_secret callback: %d %v, want 409", code, out)
	}
	var got alertJSON
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", al.ID), a.admin, nil, &got)
	if got.State != "firing" {
		t.Errorf("alert %s after replay attempt", got.State)
	}
}

// Stats work when calls have no duration or MOS: a channel whose calls all
// lack a duration beside one whose calls have one.
func TestStatsWithoutDurations(t *testing.T) {
	a := startApp(t)
	ch := a.channel(map[string]any{"name": "S"})
	ch2 := a.channel(map[string]any{"name": "S2"})
	a.registerCall(ch.ID, "s1", nil)
	a.post(ch.CallbackURL, "application/json", []byte(`{"call_id":"s1","event_type":"status","status":"answered"}`), nil)
	a.registerCall(ch2.ID, "s2", nil)
	a.post(ch2.CallbackURL, "application/json", []byte(`{"call_id":"s2","event_type":"status","status":"completed","duration_s":12}`), nil)
	var stats struct {
		Items []struct {
			ChannelID string   `json:"channel_id"`
			Calls     int      `json:"calls"`
			Total     float64  `json:"total_duration_s"`
			Mean      *float64 `json:"mean_duration_s"`
			MOS       *float64 `json:"mean_mos"`
		}
	}
	if code := a.do("GET", "/api/v1/stats", a.admin, nil, &stats); code != 200 || len(stats.Items) != 2 {
		t.Fatalf("stats: %d %+v", code, stats)
	}
	for _, s := range stats.Items {
		switch s.ChannelID {
		case ch.ID:
			if s.Calls != 1 || s.Total != 0 || s.Mean != nil || s.MOS != nil {
				t.Errorf("channel without durations: %+v", s)
			}
		case ch2.ID:
			if s.Calls != 1 || s.Total != 12 || s.Mean == nil || *s.Mean != 12 {
				t.Errorf("channel with a duration: %+v", s)
			}
		}
	}
	resp, err := http.Get(a.URL() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Errorf("/stats answered %d", resp.StatusCode)
	}
}
