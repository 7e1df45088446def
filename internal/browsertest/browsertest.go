// Package browsertest starts Debian's Chromium through playwright-go for the
// browser tests, with the driver that .ci/install-browser put in place (make
// test runs it first). It never downloads anything: a missing browser or
// driver is an error that says how to install it.
package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// ChromiumPath is Debian's real Chromium binary (not the /usr/bin wrapper).
const ChromiumPath = "/usr/lib/chromium/chromium"

// DriverVersion is the Node driver playwright-go v0.5200.x expects.
const DriverVersion = "1.52.0"

// Browser is a running Chromium.
type Browser struct {
	PW      *playwright.Playwright
	Browser playwright.Browser

	t testing.TB // set by For
}

// For returns b bound to test t: pages it opens fail t when the browser
// refuses something under the Content Security Policy (web/security.go),
// such as an inline style or script, which would otherwise only break the
// page silently.
func (b *Browser) For(t testing.TB) *Browser {
	c := *b
	c.t = t
	return &c
}

// DriverDir returns where the driver lives.
func DriverDir() string {
	if d := os.Getenv("PLAYWRIGHT_DRIVER_PATH"); d != "" {
		return d
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "ms-playwright-go", DriverVersion)
}

// Launch starts the driver and a headless Chromium.
func Launch() (*Browser, error) {
	dir := DriverDir()
	if _, err := os.Stat(filepath.Join(dir, "package", "cli.js")); err != nil {
		return nil, fmt.Errorf("browsertest: no playwright driver in %s: run .ci/install-browser (make test does)", dir)
	}
	if _, err := os.Stat(ChromiumPath); err != nil {
		return nil, fmt.Errorf("browsertest: no Chromium at %s: run .ci/install-browser (make test does)", ChromiumPath)
	}
	os.Setenv("PLAYWRIGHT_DRIVER_PATH", dir)
	pw, err := playwright.Run(&playwright.RunOptions{DriverDirectory: dir, SkipInstallBrowsers: true, Verbose: false})
	if err != nil {
		return nil, fmt.Errorf("browsertest: start driver: %w", err)
	}
	b, err := pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(ChromiumPath),
		Headless:       playwright.Bool(true),
		Args: []string{"--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync"},
	})
	if err != nil {
		pw.Stop()
		return nil, fmt.Errorf("browsertest: launch chromium: %w", err)
	}
	return &Browser{PW: pw, Browser: b}, nil
}

// Close stops the browser and the driver.
func (b *Browser) Close() {
	if b == nil {
		return
	}
	b.Browser.Close()
	b.PW.Stop()
}

// NewPage opens a fresh context (own cookies) and page at a 1280×800 viewport.
func (b *Browser) NewPage() (playwright.BrowserContext, playwright.Page, error) {
	ctx, err := b.Browser.NewContext(playwright.BrowserNewContextOptions{
		Viewport: &playwright.Size{Width: 1280, Height: 800},
	})
	if err != nil {
		return nil, nil, err
	}
	if b.t != nil {
		failOnCSP(b.t, ctx)
	}
	p, err := ctx.NewPage()
	if err != nil {
		ctx.Close()
		return nil, nil, err
	}
	return ctx, p, nil
}

// failOnCSP fails t on every CSP violation Chromium reports in ctx's pages:
// it reports them as console errors ("Refused to apply inline style because
// it violates the following Content Security Policy directive: ...").
func failOnCSP(t testing.TB, ctx playwright.BrowserContext) {
	var mu sync.Mutex
	ended := false
	// Registered before the caller's cleanup that closes ctx, so it runs
	// after it: no message reaches t once the test is over.
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	ctx.OnConsole(func(m playwright.ConsoleMessage) {
		text := m.Text()
		if !strings.Contains(text, "Content Security Policy") && !strings.Contains(text, "Refused to") {
			return
		}
		where := ""
		if l := m.Location(); l != nil {
			where = fmt.Sprintf(" (%s:%d)", l.URL, l.LineNumber+1)
		}
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Errorf("browser console: %s%s", text, where)
		}
	})
}

// ScreenshotDir is where screenshots go: $CALLHOOK_SCREENSHOTS, else
// test-output/screenshots at the module root.
func ScreenshotDir() string {
	if d := os.Getenv("CALLHOOK_SCREENSHOTS"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-output", "screenshots")
		}
	}
	return filepath.Join(os.TempDir(), "callhook-screenshots")
}

// Screenshot saves a full-page PNG named name.png.
func Screenshot(p playwright.Page, name string) (string, error) {
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".png")
	_, err := p.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path), FullPage: playwright.Bool(true)})
	return path, err
}
