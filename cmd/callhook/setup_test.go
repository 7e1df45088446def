package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Setup that cannot silently break: provider saves that could not place a
// call, keypad wording from the mapping, test callbacks that exercise the
// mapping, the channel's recent keypad actions, and the first-run CLI.

// TestConsoleSetupHTTP walks the console's setup forms in order, as an
// admin without JavaScript would, each step checked by status and page text.
func TestConsoleSetupHTTP(t *testing.T) {
	app := startApp(t)
	app.createChannel("setup-ch", "Setup")
	alertID := app.opsAlert("Disk full", "setup-ch")
	callID := app.opsCall("setup-ch", "real-call-1", "+15550100199", alertID)
	admin := newFormClient(t, app.URL())
	csrf := admin.login("admin", testAdminPassword)
	form := func(kv ...string) url.Values {
		v := url.Values{"_csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	// A real keypad action: key 1 on a call with an alert acknowledges it.
	ch, err := app.Store.Channel(context.Background(), "setup-ch")
	if err != nil {
		t.Fatal(err)
	}
	cbURL := app.Config.PublicURL + "/api/integrations/voice/callback/setup-ch/" + ch.Secret
	app.callback(cbURL, http.StatusOK, `{"call_id":"real-call-1","event_type":"dtmf","digit":"1"}`)

	tests := []struct {
		name     string
		method   string
		path     string
		form     url.Values
		want     int
		location string
		contains []string
		absent   []string
	}{
		{"test callback select offers the mapped keys", "GET", "/channels/setup-ch", nil, 200, "",
			[]string{`<option value="" selected>Status only</option>`, `<option value="1">Key 1 (acknowledge)</option>`, `<option value="2">Key 2 (resolve)</option>`}, nil},
		{"test callback with key 1 is matched and shows the action", "POST", "/channels/setup-ch/test", form("digit", "1"), 200, "",
			[]string{">accepted<", "Would acknowledge the call&#39;s alert", "no alert changed"}, []string{"unmatched"}},
		{"test callback status only is matched too", "POST", "/channels/setup-ch/test", form("digit", ""), 200, "",
			[]string{">accepted<"}, []string{"unmatched"}},
		{"test callback with an unmapped key", "POST", "/channels/setup-ch/test", form("digit", "5"), 200, "",
			[]string{">accepted<", "Key 5 is not mapped"}, nil},
		{"test callback with junk keys", "POST", "/channels/setup-ch/test", form("digit", "1a"), 400, "",
			[]string{"Test callback not sent"}, nil},
		{"recent keypad actions list both calls", "GET", "/channels/setup-ch", nil, 200, "",
			[]string{`id="keypad-actions"`, "Recent keypad actions", "applied: alert acknowledged", "not applied: the call has no alert",
				"not mapped: nothing done", fmt.Sprintf(`href="/calls/%d"`, callID), fmt.Sprintf(`href="/alerts/%d"`, alertID)}, nil},
		{"remap 9 to acknowledge", "POST", "/channels/setup-ch/dtmf", form("op", "save", "rows", "2", "digits_0", "9", "action_0", "acknowledge", "digits_1", "2", "action_1", "resolve"), 303, "/channels/setup-ch#dtmf", nil, nil},
		{"alerts page uses the mapping", "GET", "/alerts", nil, 200, "", []string{"Press 2 to resolve. Press 9 to acknowledge."}, []string{"Press 1"}},
		{"alert page history uses the mapping", "GET", fmt.Sprintf("/alerts/%d", app.opsAlert("Fresh", "setup-ch")), nil, 200, "",
			[]string{"Press 2 to resolve. Press 9 to acknowledge."}, []string{"press 1 or 2"}},
		{"channel page says the prompt", "GET", "/channels/setup-ch", nil, 200, "", []string{"Press 9 to acknowledge.", `<option value="9">Key 9 (acknowledge)</option>`}, nil},
		{"a mapping without acknowledge asks first", "POST", "/channels/setup-ch/dtmf", form("op", "save", "rows", "1", "digits_0", "2", "action_0", "resolve"), 200, "",
			[]string{`id="dtmf-warning"`, "nobody can acknowledge an alert by phone", `name="confirm_no_ack" value="1"`, "Save without an acknowledge key"}, nil},
		{"not saved before confirmation", "GET", "/channels/setup-ch", nil, 200, "", []string{"Press 9 to acknowledge."}, nil},
		{"saved on the confirmed submit", "POST", "/channels/setup-ch/dtmf", form("op", "save", "rows", "1", "digits_0", "2", "action_0", "resolve", "confirm_no_ack", "1"), 303, "/channels/setup-ch#dtmf", nil, nil},
		{"the mapping without acknowledge is in use", "GET", "/channels/setup-ch", nil, 200, "", []string{"Calls on this channel say: <q>Press 2 to resolve.</q>"}, []string{"Press 9"}},
		{"empty Twilio is refused naming the fields", "POST", "/settings/provider", form("type", "twilio", "action", "save", "cfg_account_sid", "", "cfg_auth_token", "", "cfg_from", ""), 400, "",
			[]string{"Not saved: Twilio needs Account SID, Auth token, Caller ID to place calls", `id="cfg-account_sid-error"`, `id="cfg-from-error"`, "Receive callbacks only"}, nil},
		{"verify says what is missing too", "POST", "/settings/provider", form("type", "twilio", "action", "verify"), 200, "",
			[]string{"Verification failed: Twilio needs Account SID, Auth token, Caller ID to place calls"}, nil},
		{"empty Twilio saved as callbacks only", "POST", "/settings/provider", form("type", "twilio", "action", "save", "callbacks_only", "1"), 303, "/settings/provider", nil, nil},
		{"the page says calls cannot be placed", "GET", "/settings/provider", nil, 200, "",
			[]string{"Calls cannot be placed: Twilio is saved to receive callbacks only", `id="cfg-callbacks-only" aria-describedby="cfg-callbacks-only-hint" checked`}, nil},
		{"a full Twilio saves without the box", "POST", "/settings/provider", form("type", "twilio", "action", "save",
			"cfg_account_sid", "AC0123456789abcdef0123456789abcdef", "cfg_auth_token", "0123456789abcdef0123456789abcdef", "cfg_from", "+14155550123"), 303, "/settings/provider", nil, nil},
		{"no callbacks-only warning once complete", "GET", "/settings/provider", nil, 200, "", nil, []string{"is saved to receive callbacks only"}},
		{"where the URL goes, per provider", "GET", "/settings/provider?type=vonage", nil, 200, "",
			[]string{"Answer URL and Event URL", "Calls callhook places carry their callback URL already"}, nil},
		{"loopback callback URLs are warned about", "GET", "/settings/provider", nil, 200, "",
			[]string{`id="loopback-warning"`, "CALLHOOK_PUBLIC_URL"}, nil},
		{"the channel page warns too", "GET", "/channels/setup-ch", nil, 200, "", []string{`id="loopback-warning"`, "Twilio"}, nil},
		{"empty override refused naming the fields", "POST", "/channels/setup-ch/provider", form("type", "plivo"), 400, "",
			[]string{"Not saved: Plivo Voice needs Auth ID, Auth token, From number to place calls", `id="ov-auth_id-error"`}, nil},
		{"empty override saved as callbacks only", "POST", "/channels/setup-ch/provider", form("type", "plivo", "callbacks_only", "1"), 303, "/channels/setup-ch#provider", nil, nil},
		{"the override keeps its box ticked", "GET", "/channels/setup-ch", nil, 200, "",
			[]string{"Calls cannot be placed: Plivo Voice is saved to receive callbacks only", `id="ov-callbacks-only" aria-describedby="ov-callbacks-only-hint" checked`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin.t = t
			resp, body := admin.do(tc.method, tc.path, tc.form)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s = %d, want %d\n%s", tc.method, tc.path, resp.StatusCode, tc.want, body)
			}
			if tc.location != "" && resp.Header.Get("Location") != tc.location {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tc.location)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q", s)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", body)
			}
		})
	}
}

// TestProviderAPIRequiresPlaceCallFields: PUT /api/v1/provider and channel
// overrides refuse a configuration without the settings needed to place
// calls, naming them, unless "callbacks_only": true; and the test-callback
// API takes a key.
func TestProviderAPIRequiresPlaceCallFields(t *testing.T) {
	a := startApp(t)
	var e map[string]string
	var pv struct {
		Type          string   `json:"type"`
		CallbacksOnly bool     `json:"callbacks_only"`
		Missing       []string `json:"missing"`
	}
	tests := []struct {
		name    string
		method  string
		path    string
		body    map[string]any
		want    int
		errHas  string
		missing string
	}{
		{"empty twilio", "PUT", "/api/v1/provider", map[string]any{"type": "twilio"}, 400, "missing account_sid, auth_token, from", ""},
		{"twilio without from", "PUT", "/api/v1/provider", map[string]any{"type": "twilio", "config": map[string]string{
			"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "0123456789abcdef0123456789abcdef"}}, 400, "missing from:", ""},
		{"empty twilio callbacks only", "PUT", "/api/v1/provider", map[string]any{"type": "twilio", "callbacks_only": true}, 200, "", "account_sid,auth_token,from"},
		{"generic needs nothing", "PUT", "/api/v1/provider", map[string]any{"type": "generic"}, 200, "", ""},
		{"empty telnyx override", "POST", "/api/v1/channels", map[string]any{"id": "tx", "provider": map[string]any{"type": "telnyx"}}, 400, "missing api_key, connection_id, from", ""},
		{"empty telnyx override callbacks only", "POST", "/api/v1/channels", map[string]any{"id": "tx", "provider": map[string]any{"type": "telnyx", "callbacks_only": true}}, 201, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, pv.Missing, pv.CallbacksOnly = nil, nil, false
			var out any = &pv
			if tc.want >= 400 {
				out = &e
			}
			code := a.do(tc.method, tc.path, a.admin, tc.body, out)
			if code != tc.want {
				t.Fatalf("%s %s = %d, want %d (%v)", tc.method, tc.path, code, tc.want, e)
			}
			if tc.errHas != "" && !strings.Contains(e["error"], tc.errHas) {
				t.Errorf("error %q lacks %q", e["error"], tc.errHas)
			}
			if tc.method == "PUT" && tc.want == 200 && (strings.Join(pv.Missing, ",") != tc.missing || pv.CallbacksOnly != (tc.missing != "")) {
				t.Errorf("saved %+v, want missing %q", pv, tc.missing)
			}
		})
	}

	a.createChannel("api-test", "API test")
	var res struct {
		Outcome string `json:"outcome"`
		Events  []struct {
			EventType string `json:"event_type"`
			Digit     string `json:"digit"`
			Action    string `json:"action"`
			Applied   bool   `json:"applied"`
			Matched   bool   `json:"matched"`
		} `json:"events"`
	}
	if code := a.do("POST", "/api/v1/channels/api-test/test-callback", a.admin, map[string]string{"digit": "2"}, &res); code != 200 {
		t.Fatalf("test callback: %d", code)
	}
	if res.Outcome != "accepted" || len(res.Events) != 1 || res.Events[0].EventType != "dtmf" || res.Events[0].Digit != "2" ||
		res.Events[0].Action != "resolve" || res.Events[0].Applied || !res.Events[0].Matched {
		t.Errorf("test callback with key 2: %+v", res)
	}
}

// TestUserPasswdThenSignIn: `callhook user passwd` replaces a password (from
// stdin or CALLHOOK_PASSWORD), the new one signs in and the old one does
// not; an unknown user and a short password are refused.
func TestUserPasswdThenSignIn(t *testing.T) {
	ctx := context.Background()
	db := "sqlite://" + filepath.Join(t.TempDir(), "callhook.db")
	var out, errOut bytes.Buffer
	t.Setenv("CALLHOOK_PASSWORD", "first-password-1")
	if err := run(ctx, []string{"user", "add", "admin", "--role", "admin", "--db", db}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("user add: %v %s", err, errOut.String())
	}
	t.Setenv("CALLHOOK_PASSWORD", "")
	cases := []struct {
		name, user, stdin, errHas string
	}{
		{"unknown user", "nobody", "whatever-password\n", "not found"},
		{"short password", "admin", "short\n", "at least 8 characters"},
		{"new password from stdin", "admin", "second-password-2\n", ""},
	}
	for _, tc := range cases {
		out.Reset()
		err := run(ctx, []string{"user", "passwd", tc.user, "--db", db}, strings.NewReader(tc.stdin), &out, &errOut)
		switch {
		case tc.errHas == "" && err != nil:
			t.Fatalf("%s: %v", tc.name, err)
		case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.errHas)
		case tc.errHas == "" && !strings.Contains(out.String(), "password of user admin changed"):
			t.Errorf("%s: printed %q", tc.name, out.String())
		}
	}
	logs := &syncBuffer{}
	app := startAppLogged(t, db, slog.New(slog.NewTextHandler(logs, nil)))
	f := newFormClient(t, app.URL())
	tok := f.csrf("/login")
	if resp, _ := f.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {"admin"}, "password": {"first-password-1"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", resp.StatusCode)
	}
	f.login("admin", "second-password-2")
	// The configured admin password was not applied to the existing database, and the log says so.
	if !strings.Contains(logs.String(), "CALLHOOK_ADMIN_PASSWORD was not applied") || !strings.Contains(logs.String(), "callhook user passwd") {
		t.Errorf("no log line about the ignored admin password:\n%s", logs.String())
	}
	if _, body := newFormClient(t, app.URL()).do("GET", "/login", nil); !strings.Contains(body, "user passwd admin") {
		t.Error("the sign-in page does not tell how to recover the admin password")
	}
}

// startAppLogged starts an app on an existing database with
// CALLHOOK_ADMIN_PASSWORD set, logging to log.
func startAppLogged(t *testing.T, db string, log *slog.Logger) *App {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", DB: db, AdminPassword: testAdminPassword, MaxBody: 1 << 20, BcryptCost: 4, PollInterval: time.Second}
	app, err := Start(context.Background(), cfg, log, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Shutdown(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return app
}

// TestServeBusyAddress: serve on a taken address says which one and what
// to set instead.
func TestServeBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	var next int
	fmt.Sscan(port, &next)
	db := "sqlite://" + filepath.Join(t.TempDir(), "callhook.db")
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", addr, "--db", db}, strings.NewReader(""), &out, &errOut)
	want := fmt.Sprintf("%s is in use (is `make run` or another callhook running?): stop it, or set CALLHOOK_ADDR=127.0.0.1:%d", addr, next+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("serve on a busy address: %v, want %q", err, want)
	}
}
