package main

import (
	"regexp"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// TestBrowserProviderSignatureFollowsTheForm: switching the provider type
// shows that type's signature state and capabilities, not the saved
// provider's; the saved one stays named as the one in use.
func TestBrowserProviderSignatureFollowsTheForm(t *testing.T) {
	app := startApp(t)
	if code := app.do("PUT", "/api/v1/provider", app.admin, map[string]any{"type": "generic",
		"config": map[string]string{"signing_secret": "sekret-value-123"}}, nil); code != 200 {
		t.Fatalf("save generic: %d", code)
	}
	u := newAdminUI(t, app)
	u.signIn("admin", testAdminPassword)
	sig := u.loc(".sig-explain .badge")

	u.open("/settings/provider")
	u.ok(u.expect.Locator(sig).ToHaveText("on"))
	steps := []struct {
		typ, badge, capability string
		has                    bool
	}{
		{"twilio", "off", "Places calls", true},             // Twilio with no auth token yet
		{"simulator", "none", "Signs its callbacks", false}, // no signature scheme
		{"wavecell", "off", "Places calls", false},
		{"generic", "on", "Signs its callbacks", true}, // the saved one again
	}
	for _, s := range steps {
		_, err := u.page.GetByLabel("Provider type").SelectOption(playwright.SelectOptionValues{Values: &[]string{s.typ}})
		u.ok(err)
		u.ok(u.expect.Page(u.page).ToHaveURL(regexp.MustCompile(`/settings/provider\?type=` + s.typ + `$`)))
		u.ok(u.expect.Locator(sig).ToHaveText(s.badge))
		class := "no"
		if s.has {
			class = "yes"
		}
		u.ok(u.expect.Locator(u.loc(".cap-list li." + class).Filter(playwright.LocatorFilterOptions{HasText: s.capability})).ToHaveCount(1))
		u.ok(u.expect.Locator(u.loc("#callback-help")).Not().ToBeEmpty())
		if s.typ == "twilio" {
			u.ok(u.expect.Locator(u.loc(".page-head")).ToContainText("Generic JSON"))
			u.ok(u.expect.Locator(u.loc("#loopback-warning")).ToContainText("CALLHOOK_PUBLIC_URL"))
			u.shot("03b-provider-switch-signature")
		}
	}
}
