package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// fetchLog records the fragment requests a page makes: a pushed page
// makes none, since the server sends the HTML over its WebSocket.
type fetchLog struct {
	mu   sync.Mutex
	urls []string
}

func watchFetches(p playwright.Page) *fetchLog {
	l := &fetchLog{}
	p.OnRequest(func(r playwright.Request) {
		if strings.Contains(r.URL(), "/fragments/") {
			l.mu.Lock()
			l.urls = append(l.urls, r.URL())
			l.mu.Unlock()
		}
	})
	return l
}

func (l *fetchLog) none(t *testing.T, page string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.urls) > 0 {
		t.Errorf("the %s fetched %v instead of taking pushed HTML", page, l.urls)
	}
}

// TestBrowserPushAlertPage: an alert's page, open as a viewer on a phone
// and as an admin on a desktop, takes the alert's changes as pushed HTML
// without fetching anything: a keypad 1 on its call shows it acknowledged,
// and the dashboard's failed-calls summary names an alert whose calls all
// failed, with the admin's Call again button on its page.
func TestBrowserPushAlertPage(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	if _, err := a.Auth.CreateUser(context.Background(), "oncall", "viewer-password-1", "viewer"); err != nil {
		t.Fatal(err)
	}
	cbURL := a.opsChannel("pager")
	ackID := a.opsAlert("Checkout latency above 2 s", "pager")
	a.opsCall("pager", "prov-page-1", "+15550004444", ackID)
	failID := a.opsAlert("Queue backlog above 10k", "pager")
	a.opsCall("pager", "prov-page-2", "+15550005555", failID)
	// A first callback, so the dashboard's callback list is not in its
	// empty state (which loads the list once when a row comes).
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-page-1", "event_type": "status", "status": "ringing"}`)

	_, phone := a.consolePage("oncall", "viewer-password-1", "")
	if err := phone.SetViewportSize(390, 844); err != nil {
		t.Fatal(err)
	}
	_, desk := a.consolePage("admin", testAdminPassword, "")
	if err := desk.SetViewportSize(1366, 900); err != nil {
		t.Fatal(err)
	}
	_, dash := a.consolePage("admin", testAdminPassword, "")
	if err := dash.SetViewportSize(1366, 900); err != nil {
		t.Fatal(err)
	}
	goTo(t, phone, fmt.Sprintf("%s/alerts/%d", a.URL(), ackID))
	goTo(t, desk, fmt.Sprintf("%s/alerts/%d", a.URL(), failID))
	goTo(t, dash, a.URL()+"/")
	var logs []*fetchLog
	for _, p := range []playwright.Page{phone, desk, dash} {
		waitLive(t, p)
		markPage(t, p)
		logs = append(logs, watchFetches(p))
	}
	contains(t, phone.Locator("#alert-state"), "firing")

	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-page-1", "event_type": "status", "status": "answered"}`)
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-page-1", "event_type": "dtmf", "digit": "1"}`)
	contains(t, phone.Locator("#alert-state"), "acknowledged")
	contains(t, phone.Locator("#alert-acknowledged-by"), "+15550004444")
	contains(t, phone.Locator("#alert-detail"), "answered")
	if n, _ := phone.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Acknowledge alert"}).Count(); n != 0 {
		t.Error("the acknowledged alert's page still offers Acknowledge")
	}
	// The pushed forms carry this session's token, filled in by the page.
	if v, err := phone.Locator(`#alert-detail form[action$="/resolve"] input[name=_csrf]`).InputValue(); err != nil || v == "" {
		t.Errorf("the pushed Resolve form has no CSRF token (%q, %v)", v, err)
	}
	shot(t, phone, "push-alert-acknowledged-390")

	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-page-2", "event_type": "status", "status": "busy"}`)
	contains(t, desk.Locator("#alert-detail #failed-calls"), "Nobody has been reached")
	if err := expect.Locator(desk.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Call again"})).ToHaveCount(1); err != nil {
		t.Errorf("the admin's pushed alert page has no Call again button: %v", err)
	}
	contains(t, dash.Locator("#alerts-failed"), "Every call failed for 1 firing alert")
	contains(t, dash.Locator("#alerts-failed"), "Queue backlog above 10k")
	shot(t, desk, "push-alert-failed-1366")
	shot(t, dash, "push-dashboard-failed-1366")

	// The viewer's page of the failed alert offers no Call again.
	goTo(t, phone, fmt.Sprintf("%s/alerts/%d", a.URL(), failID))
	contains(t, phone.Locator("#failed-calls"), "An admin can call")
	if n, _ := phone.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Call again"}).Count(); n != 0 {
		t.Error("a viewer is offered Call again")
	}
	for i, name := range []string{"viewer's alert page", "admin's alert page", "dashboard"} {
		if i > 0 {
			notReloaded(t, []playwright.Page{phone, desk, dash}[i])
		}
		logs[i].none(t, name)
	}
}

// TestBrowserPushStats: the stats table takes a new call's totals as
// pushed HTML, without a fetch or a reload.
func TestBrowserPushStats(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	cbURL := a.opsChannel("stats")
	a.opsCall("stats", "prov-stats-1", "+15550006666", 0)
	_, p := a.consolePage("admin", testAdminPassword, "")
	if err := p.SetViewportSize(1366, 900); err != nil {
		t.Fatal(err)
	}
	goTo(t, p, a.URL()+"/stats")
	waitLive(t, p)
	markPage(t, p)
	log := watchFetches(p)
	row := p.Locator(`#stats-table [data-row^="stat-stats-generic-"]`)
	if err := expect.Locator(row).ToHaveAttribute("data-row", "stat-stats-generic-1-0"); err != nil {
		t.Fatal(err)
	}

	a.opsCall("stats", "prov-stats-2", "+15550007777", 0)
	a.callback(cbURL, http.StatusOK, `{"call_id": "prov-stats-2", "event_type": "status", "status": "answered"}`)
	// The store keeps the totals up to 5 s (internal/store/reads.go); the
	// renderer looks again after that, so the table is current within 6 s.
	if err := expect.Locator(row).ToHaveAttribute("data-row", "stat-stats-generic-2-1",
		playwright.LocatorAssertionsToHaveAttributeOptions{Timeout: playwright.Float(9000)}); err != nil {
		t.Fatalf("the stats table did not count the new call: %v", err)
	}
	contains(t, p.Locator("#stats-table"), "50.0%")
	notReloaded(t, p)
	log.none(t, "stats page")
	shot(t, p, "push-stats-1366")
	if err := p.SetViewportSize(390, 844); err != nil {
		t.Fatal(err)
	}
	shot(t, p, "push-stats-390")
}
