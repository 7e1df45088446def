package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"callhook/internal/browsertest"
	"callhook/internal/store"
	"callhook/web"
)

// Browser tests of the admin console: sign-in, provider, channels, secrets,
// keypad mapping, test callbacks, users and tokens, and what viewers see.

// adminUI is one fresh browser context and page against a test app.
type adminUI struct {
	t      *testing.T
	app    *testApp
	page   playwright.Page
	expect playwright.PlaywrightAssertions
}

func newAdminUI(t *testing.T, app *testApp) *adminUI {
	t.Helper()
	ctx, page, err := chromium(t).NewPage()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Close() })
	page.SetDefaultTimeout(10000)
	// Forms with data-confirm ask first; accept like a user who means it.
	page.OnDialog(func(d playwright.Dialog) { d.Accept() })
	return &adminUI{t: t, app: app, page: page, expect: playwright.NewPlaywrightAssertions(10000)}
}

// open loads path and returns the HTTP status.
func (u *adminUI) open(path string) int {
	u.t.Helper()
	resp, err := u.page.Goto(u.app.URL() + path)
	if err != nil {
		u.t.Fatalf("goto %s: %v", path, err)
	}
	return resp.Status()
}

func (u *adminUI) signIn(name, password string) {
	u.t.Helper()
	u.open("/login?next=/channels")
	u.fill("User name", name)
	u.fill("Password", password)
	u.click("Sign in")
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/channels$`)))
}

func (u *adminUI) fill(label, value string) {
	u.t.Helper()
	if err := u.page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill(value); err != nil {
		u.t.Fatalf("fill %q: %v", label, err)
	}
}

func (u *adminUI) click(button string) {
	u.t.Helper()
	b := u.page.GetByRole("button", playwright.PageGetByRoleOptions{Name: button, Exact: playwright.Bool(true)})
	if err := b.Click(); err != nil {
		u.t.Fatalf("click %q: %v", button, err)
	}
}

func (u *adminUI) loc(sel string) playwright.Locator { return u.page.Locator(sel) }

// see waits until the page's main area contains text.
func (u *adminUI) see(text string) {
	u.t.Helper()
	u.ok(u.expect.Locator(u.loc("main")).ToContainText(text))
}

func (u *adminUI) ok(err error) {
	u.t.Helper()
	if err != nil {
		u.t.Fatal(err)
	}
}

func (u *adminUI) html() string {
	u.t.Helper()
	s, err := u.page.Content()
	if err != nil {
		u.t.Fatal(err)
	}
	return s
}

func (u *adminUI) value(sel string) string {
	u.t.Helper()
	v, err := u.loc(sel).InputValue()
	if err != nil {
		u.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (u *adminUI) shot(name string) {
	u.t.Helper()
	if _, err := browsertest.Screenshot(u.page, name); err != nil {
		u.t.Errorf("screenshot %s: %v", name, err)
	}
}

// createChannel makes a channel through the API and returns its secret.
func (a *testApp) createChannel(id, name string) string {
	a.t.Helper()
	var v struct{ Secret string }
	if code := a.do("POST", "/api/v1/channels", a.admin, map[string]string{"id": id, "name": name}, &v); code != http.StatusCreated {
		a.t.Fatalf("create channel %s: %d", id, code)
	}
	return v.Secret
}

func TestBrowserSignIn(t *testing.T) {
	app := startApp(t)
	u := newAdminUI(t, app)

	if code := u.open("/channels"); code != http.StatusOK {
		t.Fatalf("GET /channels signed out: %d after redirect", code)
	}
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/login\?next=%2Fchannels$`)))
	u.ok(u.expect.Locator(u.page.GetByLabel("User name")).ToBeFocused())
	u.shot("01-login")

	u.fill("User name", "admin")
	u.fill("Password", "not-the-password")
	resp, err := u.page.ExpectResponse("**/login", func() error {
		return u.page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in"}).Click()
	})
	u.ok(err)
	if resp.Status() != http.StatusUnauthorized {
		t.Errorf("bad password: status %d, want 401", resp.Status())
	}
	u.ok(u.expect.Locator(u.loc("#login-error")).ToHaveText("Wrong user name or password."))
	u.ok(u.expect.Locator(u.page.GetByLabel("User name")).ToHaveValue("admin"))
	u.ok(u.expect.Locator(u.page.GetByLabel("User name")).ToHaveAttribute("aria-invalid", "true"))
	u.ok(u.expect.Locator(u.page.GetByLabel("Password")).ToHaveValue(""))
	u.shot("02-login-error")

	u.fill("Password", testAdminPassword)
	u.click("Sign in")
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/channels$`)))
	u.ok(u.expect.Locator(u.loc(".who")).ToContainText("admin (admin)"))

	cookies, err := u.page.Context().Cookies(app.URL())
	u.ok(err)
	var session *playwright.Cookie
	for i := range cookies {
		if cookies[i].Name == web.SessionCookie {
			session = &cookies[i]
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite == nil || *session.SameSite != *playwright.SameSiteAttributeLax || session.Path != "/" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", session)
	} else if exp := time.Unix(int64(session.Expires), 0); time.Until(exp) < 11*time.Hour {
		t.Errorf("session cookie expires %v, want about 12 h from now", exp)
	}

	u.click("Sign out")
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/login$`)))
	u.see("You are signed out.")
	if code := u.open("/users"); code != http.StatusOK || !strings.Contains(u.page.URL(), "/login") {
		t.Errorf("after sign-out /users gave %d at %s, want the sign-in page", code, u.page.URL())
	}
}

func TestBrowserGlobalProvider(t *testing.T) {
	app := startApp(t)
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)

	u.open("/settings/provider")
	u.ok(u.expect.Locator(u.loc(`.nav a[aria-current="page"]`)).ToHaveText("Provider"))
	u.see("Generic JSON")
	u.ok(u.expect.Locator(u.loc(".notice.warning").First()).ToContainText("Signature check is OFF"))

	// Switching the type re-renders the form for it (admin.js submits the GET form).
	_, err := u.page.GetByLabel("Provider type").SelectOption(playwright.SelectOptionValues{Values: &[]string{"twilio"}})
	u.ok(err)
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/settings/provider\?type=twilio$`)))
	u.ok(u.expect.Locator(u.loc("#provider-form")).ToContainText("Account SID"))
	u.ok(u.expect.Locator(u.loc(".cap-list")).ToContainText("Places calls"))

	// A malformed value: the error sits next to its field, nothing is saved.
	u.fill("Account SID", "AC123")
	u.click("Save provider")
	u.ok(u.expect.Locator(u.loc("#cfg-account_sid")).ToHaveAttribute("aria-invalid", "true"))
	u.ok(u.expect.Locator(u.loc("#cfg-account_sid-error")).ToContainText("32 hex digits"))
	u.shot("03-provider-invalid")

	// Verify checks without saving.
	sid := "AC" + strings.Repeat("0123456789abcdef", 2)
	u.fill("Account SID", sid)
	u.fill("Caller ID", "+14155550123")
	u.ok(u.page.GetByLabel("Receive callbacks only", playwright.PageGetByLabelOptions{Exact: playwright.Bool(false)}).Check())
	u.click("Verify configuration")
	u.ok(u.expect.Locator(u.loc("#verify-result")).ToContainText("look right"))
	if g, _ := app.Store.GlobalProvider(context.Background()); g != nil {
		t.Fatalf("verify saved the provider: %+v", g.Type)
	}

	// Without the auth token Twilio cannot place calls: it saves only as
	// "receive callbacks only" (ticked above), and the signature warning stays.
	u.click("Save provider")
	u.see("Saved: Twilio is the global provider")
	u.ok(u.expect.Locator(u.loc("div.notice.warning").First()).ToContainText("Signature check is OFF"))
	u.ok(u.expect.Locator(u.loc("div.notice.warning").Last()).ToContainText("Calls cannot be placed"))
	u.ok(u.expect.Locator(u.loc("#cfg-account_sid")).ToHaveValue(sid))

	// With the auth token set, the warning goes and the token is masked.
	token := strings.Repeat("fedcba9876543210", 2)
	u.fill("Auth token (secret)", token)
	u.click("Save provider")
	u.see("Signature check: on")
	u.ok(u.expect.Locator(u.loc("div.notice.warning")).ToHaveCount(0))
	secret := u.loc("#cfg-auth_token")
	u.ok(u.expect.Locator(secret).ToHaveAttribute("type", "password"))
	u.ok(u.expect.Locator(secret).ToHaveValue(""))
	u.ok(u.expect.Locator(secret).ToHaveAttribute("placeholder", "•••••• saved — leave blank to keep"))
	if strings.Contains(u.html(), token) {
		t.Error("the auth token appears in the provider page")
	}
	u.shot("04-provider-saved")

	// Saving again with the secret left blank keeps it.
	u.fill("Caller ID", "+14155550199")
	u.click("Save provider")
	u.see("Signature check: on")
	g, err := app.Store.GlobalProvider(context.Background())
	u.ok(err)
	if g.Type != "twilio" || g.Config["auth_token"] != token || g.Config["from"] != "+14155550199" {
		t.Errorf("stored provider = %s %v", g.Type, g.Config["from"])
	}

	// Clearing the saved token turns the check off again, plainly.
	u.ok(u.page.GetByLabel("Clear the saved Auth token").Check())
	u.ok(u.page.GetByLabel("Receive callbacks only", playwright.PageGetByLabelOptions{Exact: playwright.Bool(false)}).Check())
	u.click("Save provider")
	u.see("Signature check: OFF")
	u.ok(u.expect.Locator(u.loc("div.notice.warning").First()).ToContainText("Signature check is OFF"))
	if g, _ := app.Store.GlobalProvider(context.Background()); g.Config["auth_token"] != "" {
		t.Error("the auth token was not cleared")
	}
}

func TestBrowserChannelAndDTMF(t *testing.T) {
	app := startApp(t)
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)

	u.see("No channels yet")
	u.shot("05-channels-empty")

	u.fill("Name", "Primary on-call")
	u.fill("ID (optional)", "primary")
	u.click("Create channel")
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/channels/primary$`)))
	u.see("Channel “Primary on-call” created")
	u.ok(u.expect.Locator(u.loc("#callback-url")).ToHaveValue(app.URL() + "/api/integrations/voice/callback/primary/••••••••"))

	// The default mapping is there; add 787 → resolve through "Add a row".
	u.ok(u.expect.Locator(u.loc("#dtmf-digits-0")).ToHaveValue("1"))
	u.ok(u.expect.Locator(u.loc("#dtmf-digits-1")).ToHaveValue("2"))
	u.fill("Keys, row 3", "787")
	_, err := u.page.GetByLabel("Action, row 3").SelectOption(playwright.SelectOptionValues{Values: &[]string{"resolve"}})
	u.ok(err)
	u.click("Add a row")
	u.ok(u.expect.Locator(u.loc("#dtmf-digits-3")).ToBeVisible())
	u.fill("Keys, row 4", "9")
	u.click("Save mapping")
	u.see("Keypad mapping saved: 1 → acknowledge · 2 → resolve · 9 → acknowledge · 787 → resolve.")
	ch, err := app.Store.Channel(context.Background(), "primary")
	u.ok(err)
	if ch.DTMFMap["787"] != "resolve" || ch.DTMFMap["9"] != "acknowledge" || len(ch.DTMFMap) != 4 {
		t.Errorf("stored mapping = %v", ch.DTMFMap)
	}

	// Remove a row and rename a key to something invalid, and another to a duplicate.
	u.ok(u.loc(`tr.dtmf-row:has(#dtmf-digits-2) input[type=checkbox]`).Check())
	u.fill("Keys, row 1", "1a")
	u.fill("Keys, row 4", "2")
	u.click("Save mapping")
	u.ok(u.expect.Locator(u.loc("#dtmf-error")).ToContainText("Not saved"))
	u.ok(u.expect.Locator(u.loc("#dtmf-digits-0")).ToHaveAttribute("aria-invalid", "true"))
	u.ok(u.expect.Locator(u.loc("#dtmf-error-0")).ToContainText(`may only use 0-9, * and #`))
	u.ok(u.expect.Locator(u.loc("#dtmf-error-2")).ToContainText("Already mapped in row 2"))
	u.shot("06-dtmf-invalid")
	ch, err = app.Store.Channel(context.Background(), "primary")
	u.ok(err)
	if len(ch.DTMFMap) != 4 {
		t.Errorf("a rejected mapping changed the channel: %v", ch.DTMFMap)
	}

	// Reset to default (confirmed).
	u.click("Reset to default (1 = acknowledge, 2 = resolve)")
	u.see("Keypad mapping reset to the default: 1 → acknowledge · 2 → resolve.")

	// Rename, then the list shows the channel.
	u.fill("Channel name", "Night shift")
	u.click("Rename")
	u.see("Renamed to “Night shift”.")
	u.open("/channels")
	row := u.loc(`tr[data-channel="primary"]`)
	u.ok(u.expect.Locator(row).ToContainText("Night shift"))
	u.ok(u.expect.Locator(row).ToContainText("Generic JSON"))
	u.ok(u.expect.Locator(row).ToContainText("1 → acknowledge · 2 → resolve"))
	u.shot("07-channels-list")

	// Delete needs the typed ID.
	u.open("/channels/primary")
	u.fill("Type the channel ID primary to confirm", "prim")
	u.click("Delete channel")
	u.ok(u.expect.Locator(u.loc("#confirm-id-error")).ToContainText("Nothing was deleted"))
	u.fill("Type the channel ID primary to confirm", "primary")
	u.click("Delete channel")
	u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/channels$`)))
	u.see("Channel “Night shift” deleted")
	u.see("No channels yet")
}

func TestBrowserRotateSecret(t *testing.T) {
	app := startApp(t)
	app.createChannel("ops", "Ops")
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)

	u.open("/channels/ops")
	// "Copy URL" puts the full callback URL on the clipboard without showing
	// the secret on the page.
	copyURL := u.loc("#copy-callback-url")
	u.ok(u.expect.Locator(copyURL).ToBeVisible())
	u.ok(u.page.Context().GrantPermissions([]string{"clipboard-read", "clipboard-write"}))
	u.ok(copyURL.Click())
	u.ok(u.expect.Locator(copyURL).ToHaveText("Copied"))
	clip, err := u.page.Evaluate("navigator.clipboard.readText()")
	u.ok(err)
	full, _ := clip.(string)
	if !strings.HasPrefix(full, app.URL()+"/api/integrations/voice/callback/ops/") || strings.Contains(u.html(), strings.TrimPrefix(full, app.URL()+"/api/integrations/voice/callback/ops/")) {
		t.Errorf("clipboard %q: want the full callback URL, with the secret absent from the page", full)
	}
	u.ok(u.expect.Locator(u.loc("#callback-url")).ToHaveValue(regexp.MustCompile(`/ops/•+$`)))
	u.click("Reveal secret")
	u.ok(u.expect.Locator(u.loc("#channel-secret")).ToBeVisible())
	old := u.value("#channel-secret")
	if old == "" || u.value("#callback-url") != app.URL()+"/api/integrations/voice/callback/ops/"+old || full != u.value("#callback-url") {
		t.Fatalf("revealed secret %q, URL %q, Copy URL %q", old, u.value("#callback-url"), full)
	}
	u.ok(u.expect.Locator(u.page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Copy"}).First()).ToHaveAttribute("data-copy", "#callback-url"))

	u.click("Rotate secret")
	u.see("Secret rotated. The old secret keeps working until")
	u.ok(u.expect.Locator(u.loc("#prev-secret")).ToContainText("UTC"))
	u.ok(u.expect.Locator(u.loc("#channel-secret")).ToHaveCount(0))
	u.click("Reveal secret")
	fresh := u.value("#channel-secret")
	if fresh == "" || fresh == old {
		t.Fatalf("secret after rotation = %q (old %q)", fresh, old)
	}
	u.shot("08-secret-rotated")
	u.ok(u.page.SetViewportSize(390, 844)) // a phone: nothing may overflow the page
	if w, err := u.page.Evaluate("document.documentElement.scrollWidth"); err != nil || w.(int) > 390 {
		wide, _ := u.page.Evaluate(`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 390).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id + " " + e.getBoundingClientRect().right)`)
		t.Errorf("the channel page is %v px wide on a 390 px screen (%v): %v", w, err, wide)
	}
	u.shot("08-secret-rotated-phone")

	body := []byte(`{"call_id":"rot-1","event_type":"status","status":"ringing"}`)
	for _, tc := range []struct {
		name, secret string
		want         int
	}{
		{"old secret in grace", old, http.StatusOK},
		{"new secret", fresh, http.StatusOK},
		{"wrong secret", "not-the-secret", http.StatusNotFound},
	} {
		code, resp := app.post(app.URL()+"/api/integrations/voice/callback/ops/"+tc.secret, "application/json", body, nil)
		if code != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, code, resp, tc.want)
		}
	}
}

func TestBrowserSendTestCallback(t *testing.T) {
	app := startApp(t)
	app.createChannel("probe", "Probe")
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)

	u.open("/channels/probe")
	u.click("Send test callback")
	res := u.loc("#test-result")
	u.ok(u.expect.Locator(res).ToContainText("Test callback:"))
	u.ok(u.expect.Locator(u.loc("#test-status")).ToHaveText("HTTP 200"))
	u.ok(u.expect.Locator(res.Locator(".badge").First()).ToHaveText(regexp.MustCompile(`^(accepted|unmatched)$`)))
	u.ok(u.expect.Locator(res.Locator("table")).ToContainText("status"))
	u.shot("09-test-callback")

	var list struct {
		Items []struct {
			ID      int64  `json:"id"`
			Outcome string `json:"outcome"`
		} `json:"items"`
	}
	if code := app.do("GET", "/api/v1/callbacks?channel_id=probe", app.admin, nil, &list); code != http.StatusOK || len(list.Items) != 1 {
		t.Fatalf("callbacks after a test: %d %+v", code, list)
	}
	u.ok(u.expect.Locator(res.GetByRole("link")).ToHaveAttribute("href", fmt.Sprintf("/callbacks/%d", list.Items[0].ID)))
}

func TestBrowserAPIToken(t *testing.T) {
	app := startApp(t)
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)

	u.open("/users")
	u.ok(u.expect.Locator(u.loc(`tr[data-user="admin"]`)).ToContainText("(you)"))
	u.ok(u.expect.Locator(u.loc(`tr[data-user="admin"]`).GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Disable"})).ToHaveCount(0))

	u.fill("Token name", "alertmanager bridge")
	_, err := u.page.GetByLabel("Role").Nth(1).SelectOption(playwright.SelectOptionValues{Values: &[]string{"admin"}})
	u.ok(err)
	u.click("Create token")
	u.ok(u.expect.Locator(u.loc("#new-token")).ToContainText("This is the only time the token is shown"))
	tok := u.value("#token-value")
	if !strings.HasPrefix(tok, "chk_") {
		t.Fatalf("token = %q", tok)
	}
	u.ok(u.expect.Locator(u.loc(`#new-token button[data-copy="#token-value"]`)).ToBeVisible())
	if strings.Contains(u.page.URL(), tok) {
		t.Error("the token is in the URL")
	}
	u.shot("10-token-created")

	if code := app.do("GET", "/api/v1/channels", tok, nil, nil); code != http.StatusOK {
		t.Errorf("new token: GET /api/v1/channels = %d", code)
	}
	row := u.loc(`tr[data-token="alertmanager bridge"]`)
	u.ok(u.expect.Locator(row).ToContainText(tok[:10]))

	u.open("/users")
	if strings.Contains(u.html(), tok) {
		t.Error("the token is shown again")
	}
	u.ok(row.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Revoke"}).Click())
	u.see("Token revoked")
	u.ok(u.expect.Locator(row).ToContainText("revoked"))
	if code := app.do("GET", "/api/v1/channels", tok, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked token: GET /api/v1/channels = %d", code)
	}

	// Users: add a viewer, disable and enable them.
	u.fill("User name", "night-nurse")
	u.fill("Password", "long-enough-pw")
	u.click("Add user")
	u.see("User “night-nurse” added as viewer.")
	nurse := u.loc(`tr[data-user="night-nurse"]`)
	u.ok(nurse.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Disable"}).Click())
	u.ok(u.expect.Locator(nurse).ToContainText("disabled"))
	u.shot("11-users")
	u.ok(nurse.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Enable"}).Click())
	u.ok(u.expect.Locator(nurse).ToContainText("active"))
}

func TestBrowserViewer(t *testing.T) {
	app := startApp(t)
	secret := app.createChannel("pager", "Pager")
	if _, err := app.Auth.CreateUser(context.Background(), "watcher", "viewer-password", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	u := newAdminUI(t, app)
	u.signIn("watcher", "viewer-password")

	u.ok(u.expect.Locator(u.loc(".nav")).ToContainText("Channels"))
	u.ok(u.expect.Locator(u.loc(".nav")).Not().ToContainText("Provider"))
	u.ok(u.expect.Locator(u.loc(".nav")).Not().ToContainText("Users"))
	u.ok(u.expect.Locator(u.loc(`tr[data-channel="pager"]`)).ToContainText("Pager"))
	u.ok(u.expect.Locator(u.loc("#new-channel")).ToHaveCount(0))

	for _, path := range []string{"/channels", "/channels/pager"} {
		if code := u.open(path); code != http.StatusOK {
			t.Fatalf("viewer GET %s = %d", path, code)
		}
		html := u.html()
		if strings.Contains(html, secret) || strings.Contains(html, "/api/integrations/voice/callback") {
			t.Errorf("viewer sees the secret or callback URL on %s", path)
		}
		if n, _ := u.loc("form[method=post]").Count(); n != 1 { // only "Sign out"
			t.Errorf("viewer gets %d forms on %s, want only sign-out", n, path)
		}
	}
	u.see("Keypad mapping")
	u.shot("12-viewer-channel")

	// Nowhere a viewer can navigate to shows the secret.
	hrefs, err := u.loc(".nav a").EvaluateAll("els => els.map(e => e.getAttribute('href'))")
	u.ok(err)
	for _, h := range hrefs.([]any) {
		u.open(h.(string))
		if strings.Contains(u.html(), secret) {
			t.Errorf("viewer sees the channel secret on %s", h)
		}
	}

	for _, path := range []string{"/settings/provider", "/users"} {
		if code := u.open(path); code != http.StatusForbidden {
			t.Errorf("viewer GET %s = %d, want 403", path, code)
		}
		u.see("This page is for admins")
	}
	u.shot("13-viewer-forbidden")
}

// formClient is a browser-like HTTP client: a cookie jar, no redirects followed.
type formClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newFormClient(t *testing.T, base string) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (f *formClient) do(method, path string, form url.Values) (*http.Response, string) {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf returns the _csrf token of the form at path.
func (f *formClient) csrf(path string) string {
	f.t.Helper()
	resp, body := f.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		f.t.Fatalf("GET %s: %d, no _csrf field", path, resp.StatusCode)
	}
	return m[1]
}

// login signs in and returns the session's CSRF token.
func (f *formClient) login(name, password string) string {
	f.t.Helper()
	tok := f.csrf("/login")
	resp, body := f.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {name}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	return f.csrf("/channels")
}

func TestConsoleAdminHTTP(t *testing.T) {
	app := startApp(t)
	secret := app.createChannel("http-ch", "HTTP")
	ctx := context.Background()
	if _, err := app.Auth.CreateUser(ctx, "viewer1", "viewer-password", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	admin := newFormClient(t, app.URL())
	adminCSRF := admin.login("admin", testAdminPassword)
	viewer := newFormClient(t, app.URL())
	viewerCSRF := viewer.login("viewer1", "viewer-password")
	anon := newFormClient(t, app.URL())
	loginCSRF := anon.csrf("/login")

	tests := []struct {
		name     string
		client   *formClient // nil: a fresh browser that fetched the sign-in form
		method   string
		path     string
		form     url.Values
		want     int
		location string // for redirects
		contains string
		absent   string
	}{
		{"signed out GET goes to sign-in", anon, "GET", "/channels/http-ch", nil, 303, "/login?next=%2Fchannels%2Fhttp-ch", "", ""},
		{"signed out POST is refused", anon, "POST", "/channels", url.Values{"name": {"x"}}, 401, "", "", ""},
		{"login without CSRF cookie token", newFormClient(t, app.URL()), "POST", "/login", url.Values{"name": {"admin"}, "password": {testAdminPassword}}, 403, "", "form has expired", ""},
		{"login with wrong CSRF token", anon, "POST", "/login", url.Values{"_csrf": {"x" + loginCSRF[1:]}, "name": {"admin"}, "password": {testAdminPassword}}, 403, "", "form has expired", ""},
		{"login bad password keeps the name", anon, "POST", "/login", url.Values{"_csrf": {loginCSRF}, "name": {"admin"}, "password": {"nope"}}, 401, "", `value="admin"`, ""},
		{"login goes to a local next", nil, "POST", "/login", url.Values{"name": {"admin"}, "password": {testAdminPassword}, "next": {"/channels/http-ch"}}, 303, "/channels/http-ch", "", ""},
		{"login refuses a foreign next", nil, "POST", "/login", url.Values{"name": {"admin"}, "password": {testAdminPassword}, "next": {"//evil.example/x"}}, 303, "/", "", ""},
		{"login refuses an absolute next", nil, "POST", "/login", url.Values{"name": {"admin"}, "password": {testAdminPassword}, "next": {"https://evil.example/"}}, 303, "/", "", ""},
		{"admin form post without CSRF", admin, "POST", "/channels", url.Values{"name": {"x"}}, 403, "", "CSRF", ""},
		{"admin form post with a wrong CSRF", admin, "POST", "/channels", url.Values{"_csrf": {viewerCSRF}, "name": {"x"}}, 403, "", "CSRF", ""},
		{"logout without CSRF", admin, "POST", "/logout", url.Values{}, 403, "", "CSRF", ""},
		{"admin creates a channel", admin, "POST", "/channels", url.Values{"_csrf": {adminCSRF}, "name": {"Made by form"}, "id": {"form-ch"}}, 303, "/channels/form-ch", "", ""},
		{"duplicate channel id", admin, "POST", "/channels", url.Values{"_csrf": {adminCSRF}, "name": {"Again"}, "id": {"form-ch"}}, 409, "", "already exists", ""},
		{"bad channel id", admin, "POST", "/channels", url.Values{"_csrf": {adminCSRF}, "name": {"Bad"}, "id": {"Bad ID!"}}, 400, "", `id="new-id-error"`, ""},
		{"admin page has no secret", admin, "GET", "/channels/http-ch", nil, 200, "", "Reveal secret", secret},
		{"reveal shows the secret", admin, "POST", "/channels/http-ch/reveal", url.Values{"_csrf": {adminCSRF}}, 200, "", secret, ""},
		{"copy URL answers the URL", admin, "POST", "/channels/http-ch/callback-url", url.Values{"_csrf": {adminCSRF}}, 200, "", "/api/integrations/voice/callback/http-ch/" + secret, ""},
		{"copy URL needs CSRF", admin, "POST", "/channels/http-ch/callback-url", url.Values{}, 403, "", "", secret},
		{"viewer cannot copy the URL", viewer, "POST", "/channels/http-ch/callback-url", url.Values{"_csrf": {viewerCSRF}}, 403, "", "", secret},
		{"rotate with a bad grace", admin, "POST", "/channels/http-ch/rotate", url.Values{"_csrf": {adminCSRF}, "grace_hours": {"-1"}}, 400, "", "grace period", ""},
		{"dtmf unknown action", admin, "POST", "/channels/http-ch/dtmf", url.Values{"_csrf": {adminCSRF}, "op": {"save"}, "rows": {"1"}, "digits_0": {"5"}, "action_0": {"explode"}}, 400, "", "Unknown action", ""},
		{"dtmf add a row without JS", admin, "POST", "/channels/http-ch/dtmf", url.Values{"_csrf": {adminCSRF}, "op": {"add"}, "rows": {"2"}, "digits_0": {"4"}, "action_0": {"resolve"}, "digits_1": {"5"}, "action_1": {"acknowledge"}, "remove_1": {"1"}}, 200, "", `id="dtmf-digits-1" name="digits_1" value=""`, `value="5"`},
		{"dtmf save", admin, "POST", "/channels/http-ch/dtmf", url.Values{"_csrf": {adminCSRF}, "op": {"save"}, "rows": {"2"}, "digits_0": {"*9#"}, "action_0": {"resolve"}, "digits_1": {""}, "action_1": {"acknowledge"}, "confirm_no_ack": {"1"}}, 303, "/channels/http-ch#dtmf", "", ""},
		{"inbound callers with a bad number", admin, "POST", "/channels/http-ch/inbound", url.Values{"_csrf": {adminCSRF}, "inbound_allow": {"+1 555 0100\nnot-a-number"}}, 400, "", `id="inbound-error"`, ""},
		{"inbound callers saved", admin, "POST", "/channels/http-ch/inbound", url.Values{"_csrf": {adminCSRF}, "inbound_allow": {"+1 (555) 010-0199\r\n+44 20 7946 0958"}}, 303, "/channels/http-ch#inbound", "", ""},
		{"inbound callers shown normalized", admin, "GET", "/channels/http-ch", nil, 200, "", "+15550100199\n+442079460958", ""},
		{"viewer cannot change inbound callers", viewer, "POST", "/channels/http-ch/inbound", url.Values{"_csrf": {viewerCSRF}, "inbound_allow": {"+15550100199"}}, 403, "", "", ""},
		{"override with a bad credential", admin, "POST", "/channels/http-ch/provider", url.Values{"_csrf": {adminCSRF}, "type": {"twilio"}, "ov_account_sid": {"nope"}}, 400, "", `id="ov-account_sid-error"`, ""},
		{"override saved", admin, "POST", "/channels/http-ch/provider", url.Values{"_csrf": {adminCSRF}, "type": {"simulator"}}, 303, "/channels/http-ch#provider", "", ""},
		{"override removed", admin, "POST", "/channels/http-ch/provider", url.Values{"_csrf": {adminCSRF}, "type": {""}}, 303, "/channels/http-ch#provider", "", ""},
		{"provider unknown type", admin, "POST", "/settings/provider", url.Values{"_csrf": {adminCSRF}, "type": {"carrier-pigeon"}}, 400, "", "Choose one of the listed", ""},
		{"provider switch by GET", admin, "GET", "/settings/provider?type=plivo", nil, 200, "", "Auth ID", ""},
		{"user with a short password", admin, "POST", "/users", url.Values{"_csrf": {adminCSRF}, "name": {"shorty"}, "password": {"short"}, "role": {"viewer"}}, 400, "", "at least 8 characters", ""},
		{"cannot disable yourself", admin, "POST", "/users/1/disable", url.Values{"_csrf": {adminCSRF}}, 303, "/users", "", ""},
		{"viewer sees channels without secrets", viewer, "GET", "/channels", nil, 200, "", "http-ch", secret},
		{"viewer channel page without URL", viewer, "GET", "/channels/http-ch", nil, 200, "", "Keypad mapping", "/api/integrations/voice/callback"},
		{"viewer provider page", viewer, "GET", "/settings/provider", nil, 403, "", "for admins", ""},
		{"viewer users page", viewer, "GET", "/users", nil, 403, "", "for admins", ""},
		{"viewer creates a channel", viewer, "POST", "/channels", url.Values{"_csrf": {viewerCSRF}, "name": {"nope"}}, 403, "", "for admins", ""},
		{"viewer reveals a secret", viewer, "POST", "/channels/http-ch/reveal", url.Values{"_csrf": {viewerCSRF}}, 403, "", "", secret},
		{"viewer rotates", viewer, "POST", "/channels/http-ch/rotate", url.Values{"_csrf": {viewerCSRF}}, 403, "", "", ""},
		{"viewer creates a token", viewer, "POST", "/users/tokens", url.Values{"_csrf": {viewerCSRF}, "name": {"x"}, "role": {"admin"}}, 403, "", "", "chk_"},
		{"viewer saves the provider", viewer, "POST", "/settings/provider", url.Values{"_csrf": {viewerCSRF}, "type": {"simulator"}}, 403, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.client == nil {
				tc.client = newFormClient(t, app.URL())
				tc.form.Set("_csrf", tc.client.csrf("/login"))
			}
			tc.client.t = t
			resp, body := tc.client.do(tc.method, tc.path, tc.form)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s = %d, want %d\n%s", tc.method, tc.path, resp.StatusCode, tc.want, body)
			}
			if tc.location != "" && resp.Header.Get("Location") != tc.location {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tc.location)
			}
			if tc.contains != "" && !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q:\n%s", tc.contains, body)
			}
			if tc.absent != "" && strings.Contains(body, tc.absent) {
				t.Errorf("body contains %q", tc.absent)
			}
		})
	}
	if u, err := app.Store.UserByName(ctx, "admin"); err != nil || u.Disabled {
		t.Errorf("admin disabled themselves: %v %v", u, err)
	}
	ch, err := app.Store.Channel(ctx, "http-ch")
	if err != nil || ch.Secret != secret || ch.DTMFMap["*9#"] != "resolve" || len(ch.DTMFMap) != 1 || ch.ProviderType != nil {
		t.Errorf("channel after the table: %+v %v", ch, err)
	}
	if _, err := app.Store.UserByName(ctx, "shorty"); err == nil {
		t.Error("a user with a short password was created")
	}
}

func TestConsoleLoginRateLimit(t *testing.T) {
	app := startApp(t)
	f := newFormClient(t, app.URL())
	tok := f.csrf("/login")
	try := func(name, pw string) *http.Response {
		resp, _ := f.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {name}, "password": {pw}})
		return resp
	}
	// 5 guesses at one user, then 5 at others: the address's 10 a minute.
	for i := range 10 {
		name := "admin"
		if i >= 5 {
			name = fmt.Sprintf("user-%d", i)
		}
		if resp := try(name, fmt.Sprintf("wrong-%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := f.do("POST", "/login", url.Values{"_csrf": {tok}, "name": {"admin"}, "password": {testAdminPassword}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th attempt (right password): %d, want 429", resp.StatusCode)
	}
	if !strings.Contains(body, "Too many failed sign-in attempts") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without a clear message or Retry-After: %q %s", resp.Header.Get("Retry-After"), body)
	}
	if resp := try("someone-else", "x"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the address is limited for every user name: %d", resp.StatusCode)
	}
}

func TestConsoleSessionSurvivesRestart(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "restart.db")
	cfg := Config{Addr: "127.0.0.1:0", DB: dsn, AdminPassword: testAdminPassword, MaxBody: 1 << 20, BcryptCost: 4, PollInterval: time.Second}
	first, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := newFormClient(t, first.URL())
	f.login("admin", testAdminPassword)
	if err := first.Shutdown(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	second := startApp(t, func(c *Config) { c.DB = dsn })
	f.base = second.URL() // cookies are per host, not per port
	resp, body := f.do("GET", "/channels", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign out") {
		t.Fatalf("after a restart GET /channels = %d, want the signed-in page", resp.StatusCode)
	}
}
