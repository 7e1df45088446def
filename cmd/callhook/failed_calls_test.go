package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// HTTP tests of calls that fail out loud: the failed-alert banner, Call again
// (console and API), the call page's acknowledge/resolve forms and what its
// timeline says about refused placements and keypad actions not applied.

func TestConsoleFailedCallsHTTP(t *testing.T) {
	t.Parallel()
	b := newBusyConsole(t)
	admin, viewer := b.session("admin", testAdminPassword), b.session(viewerName, viewerPassword)
	failed, called := fmt.Sprint(b.failedAlert), fmt.Sprint(b.calledAlert)
	failedCall, dtmfCall, plainCall := fmt.Sprint(b.failedCall), fmt.Sprint(b.dtmfCall), fmt.Sprint(b.plainCall)
	const banner = "Nobody has been reached."

	// Firing alerts lead the dashboard and the alerts list; on the dashboard
	// the one that reached nobody leads them.
	for _, tc := range []struct {
		path  string
		order []string // data-row values, in the order they must appear
	}{
		{"/fragments/dashboard/alerts", []string{"alert-" + failed + "-firing", "alert-5-firing", "alert-4-firing", "alert-3-acknowledged", "alert-2-acknowledged"}},
		{"/fragments/alerts", []string{"alert-5-firing", "alert-4-firing", "alert-" + failed + "-firing", "alert-3-acknowledged", "alert-2-acknowledged"}},
	} {
		_, _, body := b.consoleRequest("GET", tc.path, viewer, nil)
		last := -1
		for _, row := range tc.order {
			i := strings.Index(body, `data-row="`+row+`"`)
			if i <= last {
				t.Errorf("%s: %s is missing or out of place; want the order %v", tc.path, row, tc.order)
				break
			}
			last = i
		}
	}

	// In order: the later rows see what the earlier ones did.
	for _, tc := range []struct {
		name, method, path, cookie string
		form                       url.Values
		want                       int
		location                   string
		contains, absent           []string
	}{
		{name: "alert page says all calls failed", method: "GET", path: "/alerts/" + failed, cookie: admin, want: 200,
			contains: []string{banner, "All 2 calls ended without reaching anyone (2 failed).", `action="/alerts/` + failed + `/call-again"`}},
		{name: "viewers see the banner without the button", method: "GET", path: "/alerts/" + failed, cookie: viewer, want: 200,
			contains: []string{banner, "An admin can call the same numbers again"}, absent: []string{"/call-again"}},
		{name: "the live region carries the banner", method: "GET", path: "/fragments/alert/" + failed, cookie: viewer, want: 200,
			contains: []string{banner}},
		{name: "an alert still calling has no banner", method: "GET", path: "/alerts/" + called, cookie: admin, want: 200,
			absent: []string{banner, "/call-again"}},
		{name: "dashboard says so", method: "GET", path: "/", cookie: viewer, want: 200,
			contains: []string{"Every call failed for 1 firing alert; nobody has been reached:", "#1 Primary database down", "All 2 calls ended"}},
		{name: "alerts list says so, with the button for admins", method: "GET", path: "/fragments/alerts", cookie: admin, want: 200,
			contains: []string{"Every call failed for 1 firing alert; nobody has been reached:", "Call again for alert #" + failed}},
		{name: "call page of a firing alert can acknowledge", method: "GET", path: "/calls/" + failedCall, cookie: viewer, want: 200,
			contains: []string{`action="/alerts/` + failed + `/acknowledge"`, `action="/alerts/` + failed + `/resolve"`, `value="/calls/` + failedCall + `"`}},
		{name: "refused placement shows the error in words, with no callback link", method: "GET", path: "/fragments/call/" + failedCall + "/timeline", cookie: viewer, want: 200,
			contains: []string{"The provider did not place the call.", "21211", "the number to call (To) is not a valid phone number"},
			absent:   []string{"callback #0", `href="/callbacks/0"`}},
		{name: "call page of an acknowledged alert can resolve", method: "GET", path: "/calls/" + dtmfCall, cookie: viewer, want: 200,
			contains: []string{`action="/alerts/` + called + `/resolve"`}, absent: []string{`/acknowledge"`}},
		{name: "a repeated key says the alert was already in that state", method: "GET", path: "/fragments/call/" + dtmfCall + "/timeline", cookie: viewer, want: 200,
			contains: []string{"the alert was already in that state"}, absent: []string{"the call has no alert"}},
		{name: "a key on a call without alert says so", method: "GET", path: "/fragments/call/" + plainCall + "/timeline", cookie: viewer, want: 200,
			contains: []string{"the call has no alert"}, absent: []string{"already in that state"}},
		{name: "call page without alert has no alert buttons", method: "GET", path: "/calls/" + plainCall, cookie: viewer, want: 200,
			absent: []string{"/acknowledge\"", "/resolve\""}},
		{name: "a provider's error code in words beside its text", method: "GET", path: fmt.Sprintf("/fragments/call/%d/timeline", b.dtmfCall+1), cookie: viewer, want: 200,
			contains: []string{"ErrorCode=30003 ErrorMessage=Unreachable destination handset", "the phone is unreachable: switched off or out of coverage", `href="/callbacks/`}},
		{name: "viewer cannot call again", method: "POST", path: "/alerts/" + failed + "/call-again", cookie: viewer, form: url.Values{}, want: 403},
		{name: "call again needs the CSRF token", method: "POST", path: "/alerts/" + failed + "/call-again", cookie: admin, form: url.Values{"skip_csrf": {"1"}}, want: 403},
		{name: "admin calls again", method: "POST", path: "/alerts/" + failed + "/call-again", cookie: admin, form: url.Values{"next": {"/alerts"}}, want: 303, location: "/alerts"},
		{name: "the banner is gone while the new calls ring", method: "GET", path: "/alerts/" + failed, cookie: admin, want: 200,
			absent: []string{banner}, contains: []string{"queued"}},
		{name: "viewer acknowledges from the call page", method: "POST", path: "/alerts/" + failed + "/acknowledge", cookie: viewer,
			form: url.Values{"next": {"/calls/" + failedCall}}, want: 303, location: "/calls/" + failedCall},
		{name: "the call page shows the alert acknowledged", method: "GET", path: "/fragments/call/" + failedCall + "/facts", cookie: viewer, want: 200,
			contains: []string{"acknowledged", `action="/alerts/` + failed + `/resolve"`}, absent: []string{`/acknowledge"`}},
		{name: "viewer resolves from the call page", method: "POST", path: "/alerts/" + failed + "/resolve", cookie: viewer,
			form: url.Values{"next": {"/calls/" + failedCall}}, want: 303, location: "/calls/" + failedCall},
		{name: "a resolved alert is not called again", method: "POST", path: "/alerts/" + failed + "/call-again", cookie: admin, form: url.Values{}, want: 303, location: "/alerts/" + failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := b.consoleRequest(tc.method, tc.path, tc.cookie, tc.form)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %.300s", code, tc.want, body)
			}
			if tc.location != "" && hdr.Get("Location") != tc.location {
				t.Errorf("redirected to %q, want %q", hdr.Get("Location"), tc.location)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body has %q", s)
				}
			}
		})
	}
	if got := b.gw.calls(); len(got) != 3 || got[1] != "+15550000001" || got[2] != "+15550000002" {
		t.Errorf("the gateway placed %q; want the first alert's call, then one call to each number of the failed alert", got)
	}
}

func TestCallAgainAPI(t *testing.T) {
	t.Parallel()
	b := newBusyConsole(t)
	viewerToken := b.token("viewer")
	var quiet struct {
		ID int64 `json:"id"`
	}
	b.do("POST", "/api/v1/alerts", b.admin, map[string]any{"title": "No targets"}, &quiet)
	for _, tc := range []struct {
		name, token string
		alert       int64
		want        int
		calls       int
	}{
		{"viewer token", viewerToken, b.failedAlert, http.StatusForbidden, 0},
		{"no token", "", b.failedAlert, http.StatusUnauthorized, 0},
		{"admin", b.admin, b.failedAlert, http.StatusOK, 2},
		{"alert without calls", b.admin, quiet.ID, http.StatusBadRequest, 0},
		{"missing alert", b.admin, 999, http.StatusNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				CallIDs []int64 `json:"call_ids"`
				Alert   struct {
					Calls []struct {
						ID     int64  `json:"id"`
						Status string `json:"status"`
					} `json:"calls"`
				} `json:"alert"`
				Error string `json:"error"`
			}
			code := b.do("POST", fmt.Sprintf("/api/v1/alerts/%d/call-again", tc.alert), tc.token, nil, &out)
			if code != tc.want {
				t.Fatalf("status %d, want %d (%s)", code, tc.want, out.Error)
			}
			if len(out.CallIDs) != tc.calls {
				t.Errorf("call_ids %v, want %d", out.CallIDs, tc.calls)
			}
			if tc.calls > 0 {
				last := out.Alert.Calls[len(out.Alert.Calls)-1]
				if len(out.Alert.Calls) != 4 || last.ID != out.CallIDs[1] || last.Status != "queued" {
					t.Errorf("alert calls %+v, want the two failed and two queued", out.Alert.Calls)
				}
			}
		})
	}
	if code := b.do("POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", b.failedAlert), b.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("resolve: %d", code)
	}
	if code := b.do("POST", fmt.Sprintf("/api/v1/alerts/%d/call-again", b.failedAlert), b.admin, nil, nil); code != http.StatusConflict {
		t.Errorf("call again on a resolved alert: %d, want 409", code)
	}
}
