package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/playwright-community/playwright-go"

	"callhook/internal/browsertest"
	"callhook/internal/store"
)

// Browser tests of the console on a phone (390×844 CSS px, an iPhone 12–14)
// and on a laptop (1366×900): every page as admin and as viewer, with no
// sideways scroll, and the first Acknowledge button of the dashboard and the
// alerts list on the first screen and big enough for a thumb.

const (
	phoneW, phoneH     = 390, 844
	desktopW, desktopH = 1366, 900
	viewerName         = "oncall"
	viewerPassword     = "viewer-password-1"
)

// gateway is a calling service speaking the generic provider's API; while
// refuse is set it answers placements as Twilio does an invalid number.
type gateway struct {
	refuse atomic.Bool
	mu     sync.Mutex
	placed []string
	srv    *httptest.Server
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/calls" {
			http.NotFound(w, r)
			return
		}
		if g.refuse.Load() {
			http.Error(w, `{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}`, http.StatusBadRequest)
			return
		}
		var body struct {
			To string `json:"to"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		g.placed = append(g.placed, body.To)
		n := len(g.placed)
		g.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"call_id": fmt.Sprintf("gw-%d", n), "status": "queued"})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.placed...)
}

// busyConsole is an installation in the middle of an incident: an alert
// whose two calls the provider refused, a call in progress, several firing
// alerts, an acknowledged one, ten calls and more than ten callbacks.
type busyConsole struct {
	*testApp
	gw *gateway
	// failedAlert's calls all failed; calledAlert's call is in progress.
	failedAlert, calledAlert int64
	// failedCall was refused by the provider; dtmfCall acknowledged by keypad;
	// plainCall has no alert.
	failedCall, dtmfCall, plainCall int64
}

func newBusyConsole(t *testing.T) *busyConsole {
	t.Helper()
	a := startApp(t)
	b := &busyConsole{testApp: a, gw: newGateway(t)}
	if code := a.do("PUT", "/api/v1/provider", a.admin, map[string]any{"type": "generic",
		"config": map[string]string{"api_url": b.gw.srv.URL + "/v1", "api_token": "gw-token-123456"}}, nil); code != http.StatusOK {
		t.Fatalf("save provider: %d", code)
	}
	if _, err := a.Auth.CreateUser(context.Background(), viewerName, viewerPassword, store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	east, west := a.opsChannel("east"), a.opsChannel("west")

	b.gw.refuse.Store(true)
	b.failedAlert = b.raise(t, "Primary database down", "east", "+15550000001", "+15550000002")
	b.gw.refuse.Store(false)
	b.calledAlert = b.raise(t, "Checkout latency above 2 s", "east", "+15550000003")
	acked := b.raise(t, "Certificate expires in 3 days", "west")
	b.raise(t, "Disk 91% full on db-2", "west")
	b.raise(t, "Queue backlog above 12,000 messages", "east")
	if code := a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", acked), a.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("acknowledge: %d", code)
	}
	var al struct {
		Calls []struct {
			ID int64 `json:"id"`
		} `json:"calls"`
	}
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", b.failedAlert), a.admin, nil, &al)
	if len(al.Calls) != 2 {
		t.Fatalf("the failed alert has %d calls, want 2", len(al.Calls))
	}
	b.failedCall = al.Calls[0].ID

	// Seven calls registered from elsewhere, with their callbacks: 10 calls in all.
	b.dtmfCall = a.opsCall("east", "e-1", "+15550000011", b.calledAlert)
	a.opsCall("east", "e-2", "+15550000012", 0)
	a.opsCall("west", "w-1", "+15550000013", 0)
	a.opsCall("west", "w-2", "+15550000014", 0)
	a.opsCall("west", "w-3", "+15550000015", 0)
	a.opsCall("east", "e-3", "+15550000016", 0)
	b.plainCall = a.opsCall("east", "e-4", "+15550000017", 0)
	for _, cb := range []struct{ url, body string }{
		{east, `{"call_id": "e-1", "status": "ringing"}`},
		{east, `{"call_id": "e-1", "status": "answered"}`},
		{east, `{"call_id": "e-1", "digit": "1", "event_id": "key-1"}`},
		{east, `{"call_id": "e-1", "digit": "1", "event_id": "key-2"}`},
		{east, `{"call_id": "e-2", "event_type": "error", "status": "failed", "message": "ErrorCode=30003 ErrorMessage=Unreachable destination handset"}`},
		{west, `{"call_id": "w-1", "status": "busy", "message": "USER_BUSY; 3010 User Busy"}`},
		{west, `{"call_id": "w-2", "status": "answered"}`},
		{west, `{"call_id": "w-2", "status": "completed", "duration_s": 31, "mos": 3.6}`},
		{west, `{"call_id": "w-3", "status": "no_answer", "message": "timeout sip_hangup_cause=480"}`},
		{east, `{"call_id": "e-3", "status": "ringing"}`},
		{east, `{"call_id": "e-4", "status": "answered"}`},
		{east, `{"call_id": "e-4", "digit": "2"}`},
	} {
		a.callback(cb.url, http.StatusOK, cb.body)
	}
	return b
}

// raise creates an alert on channel through the API and returns its id.
func (b *busyConsole) raise(t *testing.T, title, channel string, targets ...string) int64 {
	t.Helper()
	var al struct {
		ID int64 `json:"id"`
	}
	body := map[string]any{"title": title, "message": "Raised by the phone test", "severity": "critical", "channel_id": channel, "targets": targets}
	if code := b.do("POST", "/api/v1/alerts", b.admin, body, &al); code != http.StatusCreated {
		t.Fatalf("create alert %q: %d", title, code)
	}
	return al.ID
}

// consolePages are the pages every signed-in user sees, and the admins' own.
func (b *busyConsole) consolePages(admin bool) []string {
	pages := []string{"/", "/calls", fmt.Sprintf("/calls/%d", b.dtmfCall), fmt.Sprintf("/calls/%d", b.failedCall),
		"/alerts", fmt.Sprintf("/alerts/%d", b.failedAlert), "/callbacks", "/callbacks/3", "/channels", "/channels/east", "/stats"}
	if admin {
		pages = append(pages, "/settings/provider", "/users")
	}
	return pages
}

// shotName turns a path into a screenshot name: "/alerts/1" → "alerts-1".
func shotName(prefix, path string) string {
	n := strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(strings.Trim(path, "/"))
	if n == "" {
		n = "dashboard"
	}
	return prefix + "-" + n
}

// viewportPage opens a signed-in (user != "") or signed-out page at w×h.
func (b *busyConsole) viewportPage(t *testing.T, user, password string, w, h int) playwright.Page {
	t.Helper()
	var p playwright.Page
	if user != "" {
		_, p = b.consolePage(user, password, "")
	} else {
		bc, page, err := chromium(t).NewPage()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bc.Close() })
		p = page
	}
	if err := p.SetViewportSize(w, h); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSidewaysScroll fails t when the page is wider than the viewport.
func noSidewaysScroll(t *testing.T, p playwright.Page, path string, width int) {
	t.Helper()
	v, err := p.Evaluate(`() => document.documentElement.scrollWidth`)
	if err != nil {
		t.Fatal(err)
	}
	sw, ok := v.(int)
	if !ok {
		t.Fatalf("%s: scrollWidth is %T %v, not a number of pixels", path, v, v)
	}
	if sw > width {
		wide, _ := p.Evaluate(`(w) => [...document.querySelectorAll("main *, header *")].filter(e => e.getBoundingClientRect().right > w + 0.5).slice(0, 5).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join("; ")`, width)
		t.Errorf("%s is %d px wide on a %d px screen; widest: %v", path, sw, width, wide)
	}
}

// firstAckOnFirstScreen checks the page's first Acknowledge button: fully in
// the first screen and at least 44×44 CSS px.
func firstAckOnFirstScreen(t *testing.T, p playwright.Page, path string) {
	t.Helper()
	btn := p.Locator(`main button:text-is("Acknowledge")`).First()
	box, err := btn.BoundingBox()
	if err != nil || box == nil {
		t.Fatalf("%s: no Acknowledge button: %v", path, err)
	}
	if box.Y < 0 || box.Y+box.Height > phoneH || box.X < 0 || box.X+box.Width > phoneW {
		t.Errorf("%s: first Acknowledge at x=%.0f y=%.0f %.0f×%.0f, not within the first %d×%d screen", path, box.X, box.Y, box.Width, box.Height, phoneW, phoneH)
	}
	if box.Height < 44 || box.Width < 44 {
		t.Errorf("%s: first Acknowledge is %.0f×%.0f, want at least 44×44 for a thumb", path, box.Width, box.Height)
	}
}

func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	b := newBusyConsole(t)

	t.Run("signed out", func(t *testing.T) {
		p := b.viewportPage(t, "", "", phoneW, phoneH)
		goTo(t, p, b.URL()+"/login")
		noSidewaysScroll(t, p, "/login", phoneW)
		shot(t, p, "phone-login")
	})
	for _, who := range []struct {
		name, user, password string
		admin                bool
	}{
		{"admin", "admin", testAdminPassword, true},
		{"viewer", viewerName, viewerPassword, false},
	} {
		t.Run(who.name, func(t *testing.T) {
			p := b.viewportPage(t, who.user, who.password, phoneW, phoneH)
			for _, path := range b.consolePages(who.admin) {
				goTo(t, p, b.URL()+path)
				noSidewaysScroll(t, p, path, phoneW)
				shot(t, p, shotName("phone-"+who.name, path))
				if path == "/" || path == "/alerts" {
					firstAckOnFirstScreen(t, p, path)
					// What the phone shows before any scrolling.
					screen := filepath.Join(browsertest.ScreenshotDir(), shotName("phone-"+who.name, path)+"-screen.png")
					if _, err := p.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(screen)}); err != nil {
						t.Errorf("screenshot %s: %v", screen, err)
					}
				}
			}
		})
	}

	t.Run("folded menu", func(t *testing.T) {
		p := b.viewportPage(t, viewerName, viewerPassword, phoneW, phoneH)
		goTo(t, p, b.URL()+"/alerts")
		header, err := p.Locator("header.topbar").BoundingBox()
		if err != nil {
			t.Fatal(err)
		}
		if header.Height > 64 {
			t.Errorf("the header is %.0f px tall on a phone, want the menu folded to one line", header.Height)
		}
		calls := p.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Calls", Exact: playwright.Bool(true)})
		if v, _ := calls.IsVisible(); v {
			t.Error("the menu's links show before the Menu button is pressed")
		}
		menu := p.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Menu"})
		if err := menu.Click(); err != nil {
			t.Fatal(err)
		}
		if err := expect.Locator(calls).ToBeVisible(); err != nil {
			t.Fatalf("the menu does not open: %v", err)
		}
		if err := expect.Locator(menu).ToHaveAttribute("aria-expanded", "true"); err != nil {
			t.Error(err)
		}
		shot(t, p, "phone-menu-open")
		// Open or folded, the page still fits.
		noSidewaysScroll(t, p, "/alerts with the menu open", phoneW)
	})

	t.Run("skip link and local times", func(t *testing.T) {
		p := b.viewportPage(t, viewerName, viewerPassword, phoneW, phoneH)
		// The console's own alerts were raised before the walks above, which
		// can take over a minute under -race: raise one now to read "just now".
		b.raise(t, "Replica lag above 30 s", "west")
		goTo(t, p, b.URL()+"/alerts")
		if err := p.Keyboard().Press("Tab"); err != nil {
			t.Fatal(err)
		}
		focused, _ := p.Evaluate(`() => document.activeElement.textContent.trim()`)
		if focused != "Skip to content" {
			t.Errorf("the first Tab reaches %q, want the skip link", focused)
		}
		if err := p.Keyboard().Press("Enter"); err != nil {
			t.Fatal(err)
		}
		if err := expect.Page(p).ToHaveURL(b.URL() + "/alerts#main"); err != nil {
			t.Error(err)
		}
		tm := p.Locator("#alerts-list time").First()
		if err := expect.Locator(tm).ToHaveText("just now"); err != nil {
			t.Errorf("a time raised moments ago does not read \"just now\": %v", err)
		}
		title, _ := tm.GetAttribute("title")
		dt, _ := tm.GetAttribute("datetime")
		if len(dt) < 4 || !strings.Contains(title, dt[:4]) {
			t.Errorf("the hover text %q of %s lacks the year", title, dt)
		}
	})
}

func TestBrowserDesktop(t *testing.T) {
	t.Parallel()
	b := newBusyConsole(t)
	p := b.viewportPage(t, "", "", desktopW, desktopH)
	goTo(t, p, b.URL()+"/login")
	shot(t, p, "desktop-login")
	for _, who := range []struct {
		name, user, password string
		admin                bool
	}{
		{"admin", "admin", testAdminPassword, true},
		{"viewer", viewerName, viewerPassword, false},
	} {
		p := b.viewportPage(t, who.user, who.password, desktopW, desktopH)
		for _, path := range b.consolePages(who.admin) {
			goTo(t, p, b.URL()+path)
			noSidewaysScroll(t, p, path, desktopW)
			shot(t, p, shotName("desktop-"+who.name, path))
		}
	}
}
