package main

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// stepCallback posts one generic JSON callback from Go (not the browser,
// which may be offline) and returns the stored callback's id.
func stepCallback(t *testing.T, cbURL, body string) int64 {
	t.Helper()
	resp, err := http.Post(cbURL, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id, err := strconv.ParseInt(resp.Header.Get("X-Callhook-Callback-Id"), 10, 64)
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("callback %s: HTTP %d, callback id %q", body, resp.StatusCode, resp.Header.Get("X-Callhook-Callback-Id"))
	}
	return id
}

// TestBrowserPushNetworkCut cuts a dashboard's network while a call goes
// through its steps: the indicator says "stale" within 5 s, and once the
// network is back the page catches up without a reload: every step's
// callback row is there, the call shows its final state, and the
// indicator is live again.
func TestBrowserPushNetworkCut(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	cbURL := a.opsChannel("cut")
	a.opsCall("cut", "prov-cut-1", "+15550002222", 0)
	bc, dash := a.consolePage("admin", testAdminPassword, "")
	goTo(t, dash, a.URL()+"/")
	waitLive(t, dash)
	markPage(t, dash)
	indicator := dash.Locator("#live-indicator")

	if err := bc.SetOffline(true); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	if err := expect.Locator(indicator).ToHaveAttribute("data-state", "stale",
		playwright.LocatorAssertionsToHaveAttributeOptions{Timeout: playwright.Float(5000)}); err != nil {
		t.Fatalf("indicator is not stale within 5 s of the cut: %v", err)
	}
	t.Logf("stale %v after the cut", time.Since(cut).Round(time.Millisecond))
	if err := expect.Locator(indicator).ToHaveText("stale"); err != nil {
		t.Error(err)
	}
	var ids []int64
	for _, body := range []string{
		`{"call_id": "prov-cut-1", "event_type": "status", "status": "ringing"}`,
		`{"call_id": "prov-cut-1", "event_type": "status", "status": "answered"}`,
		`{"call_id": "prov-cut-1", "event_type": "status", "status": "completed", "duration_s": 41}`,
	} {
		ids = append(ids, stepCallback(t, cbURL, body))
	}
	// Nothing of the cut-off steps reaches the page while it is offline:
	// a second is ample for a push that leaks (they take milliseconds).
	time.Sleep(time.Second)
	if n, err := dash.Locator("#dash-callbacks [id^=callback-row-]").Count(); err != nil || n != 0 {
		t.Fatalf("%d callback rows arrived while offline (%v): the cut did not cut", n, err)
	}
	if err := expect.Locator(indicator).ToHaveAttribute("data-state", "stale"); err != nil {
		t.Errorf("indicator left stale while offline: %v", err)
	}
	shot(t, dash, "push-offline-stale")

	if err := bc.SetOffline(false); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	if err := expect.Locator(indicator).ToHaveAttribute("data-state", "open"); err != nil {
		t.Fatalf("indicator is not live again after the network came back: %v", err)
	}
	if err := expect.Locator(indicator).ToHaveText("live"); err != nil {
		t.Error(err)
	}
	t.Logf("live %v after the network came back", time.Since(back).Round(time.Millisecond))
	for _, id := range ids {
		if err := expect.Locator(dash.Locator(fmt.Sprintf("#dash-callbacks #callback-row-%d", id))).ToHaveCount(1); err != nil {
			t.Errorf("callback %d never appeared after the network came back: %v", id, err)
		}
	}
	contains(t, dash.Locator("#dash-calls"), "completed")
	notReloaded(t, dash)
	shot(t, dash, "push-offline-caught-up")
}

// titleCount matches a title that counts n firing alerts.
func titleCount(n int) *regexp.Regexp {
	if n == 0 {
		return regexp.MustCompile(`^Dashboard`)
	}
	return regexp.MustCompile(fmt.Sprintf(`^\(%d\) Dashboard`, n))
}

// TestBrowserPushTitleCount: the tab title carries the number of firing
// alerts, up as alerts fire and down as they are acknowledged or resolved,
// without a reload.
func TestBrowserPushTitleCount(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	a.opsChannel("title")
	_, dash := a.consolePage("admin", testAdminPassword, "")
	goTo(t, dash, a.URL()+"/")
	waitLive(t, dash)
	markPage(t, dash)
	if err := expect.Page(dash).ToHaveTitle(titleCount(0)); err != nil {
		t.Fatalf("title counts alerts before any fires: %v", err)
	}
	first := a.opsAlert("Disk full on db-1", "title")
	if err := expect.Page(dash).ToHaveTitle(titleCount(1)); err != nil {
		t.Errorf("one firing alert: %v", err)
	}
	second := a.opsAlert("Replication lag on db-2", "title")
	if err := expect.Page(dash).ToHaveTitle(titleCount(2)); err != nil {
		t.Errorf("two firing alerts: %v", err)
	}
	shot(t, dash, "push-title-two")
	steps := []struct {
		alert  int64
		action string
		want   int
	}{
		{first, "acknowledge", 1},
		{second, "resolve", 0},
	}
	for _, s := range steps {
		if code := a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/%s", s.alert, s.action), a.admin, nil, nil); code/100 != 2 {
			t.Fatalf("%s alert %d: HTTP %d", s.action, s.alert, code)
		}
		if err := expect.Page(dash).ToHaveTitle(titleCount(s.want)); err != nil {
			t.Errorf("after %s of alert %d: %v", s.action, s.alert, err)
		}
	}
	notReloaded(t, dash)
}

// countNotes wraps the browser's Notification so the test can count the
// notifications the page raises while they still go to the real one.
const countNotes = `
(function () {
  var Real = window.Notification;
  window.__notes = [];
  if (!Real) return;
  function Counted(title, options) {
    window.__notes.push(title + ": " + ((options && options.body) || ""));
    return new Real(title, options);
  }
  Counted.prototype = Real.prototype;
  Object.defineProperty(Counted, "permission", { get: function () { return Real.permission; } });
  Counted.requestPermission = function () { return Real.requestPermission.apply(Real, arguments); };
  window.Notification = Counted;
})();
`

// TestBrowserPushNotification: with notifications allowed and the opt-in
// pressed, a newly firing alert raises exactly one notification; its
// acknowledgement raises none.
func TestBrowserPushNotification(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	a.opsChannel("notes")
	bc, dash := a.consolePage("admin", testAdminPassword, countNotes)
	if err := bc.GrantPermissions([]string{"notifications"}, playwright.BrowserContextGrantPermissionsOptions{Origin: playwright.String(a.URL())}); err != nil {
		t.Fatal(err)
	}
	goTo(t, dash, a.URL()+"/")
	waitLive(t, dash)
	toggle := dash.Locator("#attention-toggle")
	if err := toggle.Click(); err != nil {
		t.Fatal(err)
	}
	if err := expect.Locator(toggle).ToHaveAttribute("aria-pressed", "true"); err != nil {
		t.Fatalf("the opt-in did not turn on: %v", err)
	}
	notes := func() []any {
		t.Helper()
		v, err := dash.Evaluate(`() => window.__notes`)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := v.([]any)
		return l
	}
	if n := notes(); len(n) != 0 {
		t.Fatalf("notifications before any alert: %v", n)
	}

	id := a.opsAlert("Disk full on db-1", "notes")
	if err := expect.Page(dash).ToHaveTitle(titleCount(1)); err != nil {
		t.Fatalf("the alert's attention message never arrived: %v", err)
	}
	// The acknowledgement's attention message comes after the firing one's
	// on the same connection: once the title drops, every notification the
	// firing could raise has been raised.
	if code := a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", id), a.admin, nil, nil); code/100 != 2 {
		t.Fatalf("acknowledge: HTTP %d", code)
	}
	if err := expect.Page(dash).ToHaveTitle(titleCount(0)); err != nil {
		t.Fatalf("the acknowledgement never arrived: %v", err)
	}
	n := notes()
	if len(n) != 1 {
		t.Fatalf("notifications %v for one newly firing alert, want exactly one", n)
	}
	if want := fmt.Sprintf("Alert firing: #%d Disk full on db-1", id); n[0] != want {
		t.Errorf("notification %q, want %q", n[0], want)
	}
	shot(t, dash, "push-notification")
}
