package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"callhook/internal/browsertest"
	"callhook/web"
)

// Browser and HTTP tests of the operations pages: dashboard, calls, alerts,
// callback inspector and stats, their live regions and their fragments.

// expect waits up to 10 s for a condition on the page (no fixed sleeps).
var expect = playwright.NewPlaywrightAssertions(10000)

// opsChannel creates a generic-provider channel and returns its callback URL.
func (a *testApp) opsChannel(id string) string {
	a.t.Helper()
	var ch struct {
		CallbackURL string `json:"callback_url"`
		Secret      string `json:"secret"`
	}
	if code := a.do("POST", "/api/v1/channels", a.admin, map[string]any{"id": id, "name": "Ops " + id}, &ch); code != http.StatusCreated {
		a.t.Fatalf("create channel %s: %d", id, code)
	}
	return ch.CallbackURL
}

// opsAlert raises an alert on channel (no targets: nothing is dialled).
func (a *testApp) opsAlert(title, channel string) int64 {
	a.t.Helper()
	var al struct {
		ID int64 `json:"id"`
	}
	body := map[string]any{"title": title, "message": "Raised by a test", "severity": "critical"}
	if channel != "" {
		body["channel_id"] = channel
	}
	if code := a.do("POST", "/api/v1/alerts", a.admin, body, &al); code != http.StatusCreated {
		a.t.Fatalf("create alert: %d", code)
	}
	return al.ID
}

// opsCall registers a call placed elsewhere, optionally for an alert.
func (a *testApp) opsCall(channel, providerCallID, to string, alertID int64) int64 {
	a.t.Helper()
	body := map[string]any{"channel_id": channel, "to": to, "provider_call_id": providerCallID, "message": "Disk is full"}
	if alertID > 0 {
		body["alert_id"] = alertID
	}
	var c struct {
		ID int64 `json:"id"`
	}
	if code := a.do("POST", "/api/v1/calls", a.admin, body, &c); code != http.StatusCreated {
		a.t.Fatalf("register call: %d", code)
	}
	return c.ID
}

// callback posts one generic JSON callback and checks its status.
func (a *testApp) callback(cbURL string, want int, body string) {
	a.t.Helper()
	if code, resp := a.post(cbURL, "application/json", []byte(body), nil); code != want {
		a.t.Fatalf("callback %s: got %d %s, want %d", body, code, resp, want)
	}
}

// session signs user in (a session straight from the auth service) and
// returns its cookie value.
func (a *testApp) session(user, password string) string {
	a.t.Helper()
	tok, _, err := a.Auth.Login(context.Background(), user, password)
	if err != nil {
		a.t.Fatalf("login %s: %v", user, err)
	}
	return tok
}

// consolePage opens a browser context signed in as user, with script run
// before every page's own scripts (if not empty).
func (a *testApp) consolePage(user, password, initScript string) (playwright.BrowserContext, playwright.Page) {
	a.t.Helper()
	bc, page, err := chromium(a.t).NewPage()
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { bc.Close() })
	if err := bc.AddCookies([]playwright.OptionalCookie{{Name: web.SessionCookie, Value: a.session(user, password), URL: playwright.String(a.URL())}}); err != nil {
		a.t.Fatal(err)
	}
	if initScript != "" {
		if err := bc.AddInitScript(playwright.Script{Content: playwright.String(initScript)}); err != nil {
			a.t.Fatal(err)
		}
	}
	return bc, page
}

func goTo(t *testing.T, p playwright.Page, u string) {
	t.Helper()
	resp, err := p.Goto(u)
	if err != nil {
		t.Fatalf("goto %s: %v", u, err)
	}
	if resp.Status() != http.StatusOK {
		t.Fatalf("goto %s: status %d", u, resp.Status())
	}
}

// waitLive waits until the page's live connection is open.
func waitLive(t *testing.T, p playwright.Page) {
	t.Helper()
	if err := expect.Locator(p.Locator("#live-indicator")).ToHaveAttribute("data-state", "open"); err != nil {
		t.Fatalf("live connection never opened: %v", err)
	}
}

func contains(t *testing.T, l playwright.Locator, text string) {
	t.Helper()
	if err := expect.Locator(l).ToContainText(text); err != nil {
		t.Fatalf("waiting for %q: %v", text, err)
	}
}

func shot(t *testing.T, p playwright.Page, name string) {
	t.Helper()
	if _, err := browsertest.Screenshot(p, name); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// markPage sets a flag that a reload would lose.
func markPage(t *testing.T, p playwright.Page) {
	t.Helper()
	if _, err := p.Evaluate(`() => { window.__noReload = true; }`); err != nil {
		t.Fatal(err)
	}
}

func notReloaded(t *testing.T, p playwright.Page) {
	t.Helper()
	v, err := p.Evaluate(`() => window.__noReload === true`)
	if err != nil {
		t.Fatal(err)
	}
	if v != true {
		t.Error("the page was reloaded; live updates must not reload")
	}
}

func TestBrowserLiveUpdates(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	cbURL := a.opsChannel("oncall")
	alertID := a.opsAlert("Disk full on db-1", "oncall")
	callID := a.opsCall("oncall", "prov-live-1", "+15550001111", alertID)

	bc, dash := a.consolePage("admin", testAdminPassword, "")
	goTo(t, dash, a.URL()+"/")
	callPage, err := bc.NewPage()
	if err != nil {
		t.Fatal(err)
	}
	goTo(t, callPage, fmt.Sprintf("%s/calls/%d", a.URL(), callID))
	waitLive(t, dash)
	waitLive(t, callPage)
	contains(t, callPage.Locator("#call-status"), "queued")
	contains(t, dash.Locator("#dash-alerts"), "firing")
	markPage(t, dash)
	markPage(t, callPage)

	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-live-1", "event_type": "status", "status": "answered"}`)
	contains(t, callPage.Locator("#call-status"), "answered")
	contains(t, callPage.Locator("#call-timeline"), "answered")
	contains(t, dash.Locator("#dash-calls"), "answered")
	contains(t, dash.Locator("#dash-callbacks"), "accepted")

	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-live-1", "event_type": "dtmf", "digit": "1"}`)
	contains(t, callPage.Locator("#call-alert-state"), "acknowledged")
	contains(t, callPage.Locator("#call-timeline"), "applied")
	contains(t, dash.Locator("#dash-alerts"), "acknowledged")
	contains(t, dash.Locator("#dash-counters"), "Acknowledged alerts")
	if err := expect.Locator(dash.Locator("#dash-counters a.stat").Nth(2).Locator(".n")).ToHaveText("1"); err != nil {
		t.Errorf("acknowledged counter: %v", err)
	}

	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-live-1", "event_type": "status", "status": "completed", "duration_s": 73, "mos": 4.3}`)
	contains(t, callPage.Locator("#call-status"), "completed")
	contains(t, callPage.Locator("#call-facts"), "1m 13s")
	contains(t, dash.Locator("#dash-calls"), "completed")
	notReloaded(t, dash)
	notReloaded(t, callPage)
	shot(t, dash, "dashboard")
	shot(t, callPage, "call")
}

// wsSpy wraps WebSocket so a test can close the live connection and hold off
// reconnects. app.js keeps its socket private; this stands in for a network cut.
const wsSpy = `(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__holdWS = false;
  function Spy(url, protocols) {
    if (window.__holdWS) throw new Error("network cut by the test");
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__sockets.push(ws);
    return ws;
  }
  Spy.prototype = Native.prototype;
  Spy.CONNECTING = 0; Spy.OPEN = 1; Spy.CLOSING = 2; Spy.CLOSED = 3;
  window.WebSocket = Spy;
})();`

func TestBrowserReconnectCatchesUp(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	cbURL := a.opsChannel("oncall")
	alertID := a.opsAlert("API latency", "oncall")
	callID := a.opsCall("oncall", "prov-rc-1", "+15550002222", alertID)

	_, p := a.consolePage("admin", testAdminPassword, wsSpy)
	goTo(t, p, fmt.Sprintf("%s/calls/%d", a.URL(), callID))
	waitLive(t, p)
	markPage(t, p)

	// Cut the connection and keep it cut while callbacks arrive.
	if _, err := p.Evaluate(`() => { window.__holdWS = true; window.__sockets.forEach(ws => ws.close()); }`); err != nil {
		t.Fatal(err)
	}
	if err := expect.Locator(p.Locator("#live-indicator")).ToHaveAttribute("data-state", "stale"); err != nil {
		t.Fatalf("indicator did not show the cut: %v", err)
	}
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-rc-1", "event_type": "status", "status": "answered"}`)
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-rc-1", "event_type": "dtmf", "digit": "2"}`)
	if txt, _ := p.Locator("#call-status").TextContent(); !strings.Contains(txt, "queued") {
		t.Fatalf("status changed while disconnected: %q", txt)
	}

	// Reconnect: app.js resumes with ?after=LAST and refreshes what it missed.
	if _, err := p.Evaluate(`() => { window.__holdWS = false; }`); err != nil {
		t.Fatal(err)
	}
	waitLive(t, p)
	contains(t, p.Locator("#call-status"), "answered")
	contains(t, p.Locator("#call-alert-state"), "resolved")
	contains(t, p.Locator("#call-timeline"), "resolve")
	notReloaded(t, p)
	last, err := p.Evaluate(`() => window.__sockets[window.__sockets.length - 1].url`)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := last.(string); !strings.Contains(s, "after=") {
		t.Errorf("reconnect URL %q does not resume with ?after=", s)
	}
	if n, _ := p.Evaluate(`() => window.__sockets.length`); n != 2 {
		t.Errorf("sockets opened = %v, want 2", n)
	}
}

func TestBrowserViewerAcknowledgesAlert(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	if _, err := a.Auth.CreateUser(context.Background(), "oncall", "viewer-password-1", "viewer"); err != nil {
		t.Fatal(err)
	}
	cbURL := a.opsChannel("pager")
	alertID := a.opsAlert("Payment errors above 5%", "pager")
	a.opsCall("pager", "prov-ack-1", "+15550003333", alertID)
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-ack-1", "event_type": "status", "status": "ringing"}`)

	_, p := a.consolePage("oncall", "viewer-password-1", "")
	goTo(t, p, fmt.Sprintf("%s/alerts/%d", a.URL(), alertID))
	contains(t, p.Locator("#alert-state"), "firing")
	contains(t, p.Locator("#alert-detail"), "ringing")
	if err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Acknowledge alert"}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator(".flash"), "acknowledged by oncall")
	contains(t, p.Locator("#alert-state"), "acknowledged")
	contains(t, p.Locator("#alert-acknowledged-by"), "oncall")
	contains(t, p.Locator("#alert-detail"), "via console")
	if n, _ := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Acknowledge alert"}).Count(); n != 0 {
		t.Errorf("an acknowledged alert still offers Acknowledge")
	}
	shot(t, p, "alert")

	var got struct {
		State          string  `json:"state"`
		AcknowledgedBy *string `json:"acknowledged_by"`
	}
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", alertID), a.admin, nil, &got)
	if got.State != "acknowledged" || got.AcknowledgedBy == nil || *got.AcknowledgedBy != "oncall" {
		t.Errorf("alert after console acknowledge = %+v", got)
	}

	// The alerts list: a viewer sees no "Raise an alert" form and may resolve.
	goTo(t, p, a.URL()+"/alerts")
	if n, _ := p.GetByText("Raise an alert").Count(); n != 0 {
		t.Error("viewers must not see the raise-alert form")
	}
	shot(t, p, "alerts")
	if err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Resolve alert"}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator(".flash"), "resolved by oncall")
	contains(t, p.Locator("#alerts-list"), "resolved")
}

func TestBrowserAdminRaisesAlert(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	a.opsChannel("pager")
	_, p := a.consolePage("admin", testAdminPassword, "")
	goTo(t, p, a.URL()+"/alerts")
	if err := p.GetByText("Raise an alert").Click(); err != nil {
		t.Fatal(err)
	}
	fill := func(label, value string) {
		if err := p.GetByLabel(label).Fill(value); err != nil {
			t.Fatalf("fill %s: %v", label, err)
		}
	}
	fill("Title", "Queue backlog")
	fill("Numbers to call", "not-a-number")
	if _, err := p.GetByLabel("Channel").SelectOption(playwright.SelectOptionValues{Values: &[]string{"pager"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Raise alert"}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator(".raise [role=alert]"), "not a phone number")
	if v, _ := p.GetByLabel("Title").InputValue(); v != "Queue backlog" {
		t.Errorf("title not kept after an error: %q", v)
	}
	shot(t, p, "alerts-raise-error")
	fill("Numbers to call", "")
	if err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Raise alert"}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator(".flash"), "raised")
	contains(t, p.Locator("h1"), "Queue backlog")
	contains(t, p.Locator("#alert-state"), "firing")
}

func TestBrowserCallbackInspector(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	cbURL := a.opsChannel("inbox")
	a.opsCall("inbox", "prov-cb-1", "+15550004444", 0)
	wrongSecret := cbURL[:strings.LastIndex(cbURL, "/")+1] + "not-the-secret"
	a.callback(wrongSecret, http.StatusNotFound, `{"call_id": "prov-cb-1", "event_type": "status", "status": "ringing"}`)
	a.callback(cbURL, http.StatusBadRequest, `{"call_id": "prov-cb-1", "event_type": `)

	_, p := a.consolePage("admin", testAdminPassword, "")
	goTo(t, p, a.URL()+"/callbacks?outcome=rejected")
	list := p.Locator("#callbacks-list")
	contains(t, list, "Wrong secret")
	contains(t, list, "Body could not be read")
	shot(t, p, "callbacks")

	// The malformed body: the reason, the parser's error and the raw body.
	if err := list.GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "#2", Exact: playwright.Bool(true)}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator("#callback-reason"), "could not be parsed")
	contains(t, p.Locator("#callback-error"), "JSON")
	contains(t, p.Locator("#callback-body"), `"event_type": `)
	if err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Replay callback"}).Click(); err != nil {
		t.Fatal(err)
	}
	contains(t, p.Locator("#replay-result"), "rejected")
	contains(t, p.Locator(".flash"), "still rejected (Body could not be read)")
	shot(t, p, "callback-rejected")

	// The wrong-secret one never named the channel's secret: it is kept for
	// reading, and cannot be replayed.
	goTo(t, p, a.URL()+"/callbacks/1")
	contains(t, p.Locator("#callback-reason"), "secret")
	contains(t, p.Locator("#callback-reason"), "cannot be replayed")
	contains(t, p.Locator("#callback-body"), `"status": "ringing"`)
	if n, err := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Replay callback"}).Count(); err != nil || n != 0 {
		t.Errorf("a wrong-secret callback offers replay (%d buttons, %v)", n, err)
	}
	shot(t, p, "callback")

	var call struct {
		Items []struct {
			Status string `json:"status"`
		} `json:"items"`
	}
	a.do("GET", "/api/v1/calls?provider_call_id=prov-cb-1", a.admin, nil, &call)
	if len(call.Items) != 1 || call.Items[0].Status != "queued" {
		t.Errorf("call = %+v, want queued: a wrong-secret callback changes nothing", call.Items)
	}
}

// TestBrowserOpsPages fills every operations page with a bit of everything and
// screenshots them; then checks the pages' HTTP behaviour.
func TestBrowserOpsPages(t *testing.T) {
	t.Parallel()
	a := startApp(t)

	// An empty installation first: empty states that say what to do.
	_, p := a.consolePage("admin", testAdminPassword, "")
	goTo(t, p, a.URL()+"/")
	contains(t, p.Locator("#dash-calls"), "CALLHOOK_DEMO=true")
	shot(t, p, "dashboard-empty")

	east, west := a.opsChannel("east"), a.opsChannel("west")
	al1 := a.opsAlert("Primary database down", "east")
	al2 := a.opsAlert("Certificate expires in 3 days", "west")
	a.opsCall("east", "e-1", "+15550000001", al1)
	a.opsCall("east", "e-2", "+15550000002", al1)
	a.opsCall("west", "w-1", "+15550000003", al2)
	a.opsCall("west", "w-2", "+15550000004", 0)
	for _, cb := range []struct{ url, body string }{
		{east, `{"call_id": "e-1", "status": "ringing"}`},
		{east, `{"call_id": "e-1", "status": "answered"}`},
		{east, `{"call_id": "e-1", "digit": "1"}`},
		{east, `{"call_id": "e-1", "status": "completed", "duration_s": 95, "mos": 4.1}`},
		{east, `{"call_id": "e-2", "event_type": "error", "status": "failed", "message": "Insufficient balance"}`},
		{west, `{"call_id": "w-1", "status": "busy"}`},
		{west, `{"call_id": "w-2", "status": "answered"}`},
		{west, `{"call_id": "w-2", "status": "completed", "duration": 31, "mos": 3.6}`},
		{west, `{"call_id": "w-unknown", "status": "ringing"}`},
	} {
		a.callback(cb.url, http.StatusOK, cb.body)
	}
	a.callback(east, http.StatusOK, `{"call_id": "e-1", "status": "ringing"}`)                                           // late: timeline only
	a.callback(west, http.StatusOK, `{"call_id": "w-2", "status": "completed", "duration": 31, "mos": 3.6}`)             // duplicate
	a.post(east+"x", "application/json", []byte(`{"call_id": "e-1", "status": "answered"}`), nil)                        // wrong secret
	a.post(west, "text/plain", []byte(`status=answered`), nil)                                                           // wrong content type
	a.post(west, "application/x-www-form-urlencoded", []byte(`CallSid=CA123&CallStatus=ringing&To=%2B15550000003`), nil) // form to a JSON provider

	var rejected struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	a.do("GET", "/api/v1/callbacks?outcome=rejected", a.admin, nil, &rejected)
	if len(rejected.Items) != 3 {
		t.Fatalf("rejected callbacks = %d, want 3", len(rejected.Items))
	}
	formCallback := fmt.Sprintf("/callbacks/%d", rejected.Items[0].ID)

	for _, pg := range []struct{ path, name, want string }{
		{"/", "dashboard-busy", "Primary database down"},
		{"/calls", "calls", "+15550000001"},
		{"/calls?status=completed", "calls-filtered", "completed"},
		{"/calls/1", "call-with-dtmf", "acknowledge"},
		{"/calls/2", "call-failed", "Insufficient balance"},
		{"/alerts", "alerts-admin", "Certificate expires"},
		{"/alerts/1", "alert-acknowledged", "phone +15550000001"},
		{"/callbacks", "callbacks-all", "duplicate"},
		{formCallback, "callback-form", "CallStatus"},
		{"/stats", "stats", "west"},
	} {
		goTo(t, p, a.URL()+pg.path)
		contains(t, p.Locator("main"), pg.want)
		shot(t, p, pg.name)
	}

	// HTTP: fragments render only their region, never cached; filters are
	// checked; viewers cannot reach admin actions; nothing shows a secret.
	viewer := "viewer-password-1"
	if _, err := a.Auth.CreateUser(context.Background(), "watcher", viewer, "viewer"); err != nil {
		t.Fatal(err)
	}
	adminCookie, viewerCookie := a.session("admin", testAdminPassword), a.session("watcher", viewer)
	secret := east[strings.LastIndex(east, "/")+1:]
	for _, tc := range []struct {
		name, method, path, cookie string
		form                       url.Values
		want                       int
		contains                   string
	}{
		{"dashboard counters", "GET", "/fragments/dashboard/counters", viewerCookie, nil, 200, "Calls in progress"},
		{"dashboard alerts", "GET", "/fragments/dashboard/alerts", viewerCookie, nil, 200, "Primary database down"},
		{"dashboard calls", "GET", "/fragments/dashboard/calls", viewerCookie, nil, 200, "Call #4"},
		{"dashboard callbacks", "GET", "/fragments/dashboard/callbacks", viewerCookie, nil, 200, "Wrong secret"},
		{"calls filtered", "GET", "/fragments/calls?status=busy", viewerCookie, nil, 200, "busy"},
		{"calls by channel", "GET", "/fragments/calls?channel_id=west", viewerCookie, nil, 200, "+15550000004"},
		{"calls bad status", "GET", "/fragments/calls?status=sleeping", viewerCookie, nil, 400, "status"},
		{"call facts", "GET", "/fragments/call/1/facts", viewerCookie, nil, 200, "4.10"},
		{"call timeline", "GET", "/fragments/call/1/timeline", viewerCookie, nil, 200, "applied"},
		{"call missing", "GET", "/fragments/call/99/timeline", viewerCookie, nil, 404, ""},
		{"alerts by state", "GET", "/fragments/alerts?state=acknowledged", viewerCookie, nil, 200, "Primary database down"},
		{"alerts bad state", "GET", "/fragments/alerts?state=asleep", viewerCookie, nil, 400, ""},
		{"alert", "GET", "/fragments/alert/1", viewerCookie, nil, 200, "History"},
		{"callbacks rejected", "GET", "/fragments/callbacks?outcome=rejected", viewerCookie, nil, 200, "Wrong content type"},
		{"callbacks bad outcome", "GET", "/fragments/callbacks?outcome=lost", viewerCookie, nil, 400, ""},
		{"stats", "GET", "/fragments/stats", viewerCookie, nil, 200, "50.0%"},
		{"stats csv", "GET", "/stats.csv", viewerCookie, nil, 200, "east,generic,2,1,0.5000,95"},
		{"calls csv with a session", "GET", "/api/v1/calls.csv?status=busy", viewerCookie, nil, 200, "+15550000003"},
		{"signed out", "GET", "/fragments/stats", "", nil, 303, ""},
		{"viewer replay", "POST", "/callbacks/1/replay", viewerCookie, url.Values{}, 403, ""},
		{"viewer raises alert", "POST", "/alerts", viewerCookie, url.Values{"title": {"x"}}, 403, ""},
		{"no csrf", "POST", "/alerts/2/acknowledge", viewerCookie, url.Values{"skip_csrf": {"1"}}, 403, "CSRF"},
		{"offsite next", "POST", "/alerts/2/acknowledge", viewerCookie, url.Values{"next": {"//evil.example/x"}}, 303, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := a.consoleRequest(tc.method, tc.path, tc.cookie, tc.form)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %.300s", code, tc.want, body)
			}
			if tc.contains != "" && !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q: %.500s", tc.contains, body)
			}
			if strings.HasPrefix(tc.path, "/fragments/") && code == 200 {
				if strings.Contains(body, "<html") || strings.Contains(body, "<body") {
					t.Error("a fragment must render only its region")
				}
				if hdr.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q", hdr.Get("Cache-Control"))
				}
			}
			if tc.name == "offsite next" && hdr.Get("Location") != "/alerts/2" {
				t.Errorf("redirected to %q, want /alerts/2", hdr.Get("Location"))
			}
		})
	}

	for _, path := range []string{"/", "/calls", "/calls/1", "/alerts", "/alerts/1", "/callbacks", "/callbacks/1", "/callbacks/11", "/stats", "/stats.csv"} {
		_, _, body := a.consoleRequest("GET", path, adminCookie, nil)
		if strings.Contains(body, secret) {
			t.Errorf("%s shows the channel secret", path)
		}
	}
	if _, _, body := a.consoleRequest("GET", "/callbacks/1", viewerCookie, nil); strings.Contains(body, "Replay callback") {
		t.Error("viewers must not see the replay button")
	}
}

func TestConsoleCallsPagination(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	a.opsChannel("bulk")
	for i := range 52 {
		a.opsCall("bulk", fmt.Sprintf("bulk-%02d", i), "+1555010"+fmt.Sprintf("%04d", i), 0)
	}
	cookie := a.session("admin", testAdminPassword)
	_, _, first := a.consoleRequest("GET", "/calls?channel_id=bulk", cookie, nil)
	if !strings.Contains(first, "Call #52") || strings.Contains(first, ">Call #2<") {
		t.Fatal("the first page should hold the newest 50 calls")
	}
	i := strings.Index(first, `href="/calls?channel_id=bulk&amp;cursor=`)
	if i < 0 {
		t.Fatalf("no Older link keeping the filter: %.2000s", first)
	}
	link := strings.ReplaceAll(first[i+6:i+6+strings.Index(first[i+6:], `"`)], "&amp;", "&")
	_, _, older := a.consoleRequest("GET", link, cookie, nil)
	for _, want := range []string{">Call #1<", ">Call #2<", "← Newest", `data-live-src="/fragments/calls?channel_id=bulk&amp;cursor=`} {
		if !strings.Contains(older, want) {
			t.Errorf("older page lacks %q", want)
		}
	}
	if strings.Contains(older, "Call #3<") || strings.Contains(older, "Older →") {
		t.Error("the older page should hold only the last two calls")
	}
}

// consoleRequest sends a console request with a session cookie. Form posts
// carry the session's CSRF token unless the form has skip_csrf.
func (a *testApp) consoleRequest(method, path, cookie string, form url.Values) (int, http.Header, string) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		if form.Get("skip_csrf") == "" && cookie != "" {
			p, err := a.Auth.Session(context.Background(), cookie)
			if err != nil {
				a.t.Fatal(err)
			}
			form.Set("_csrf", p.CSRF)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, a.URL()+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}
