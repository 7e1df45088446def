// Package browsertest starts Debian's Chromium through playwright-go for the
// browser tests, with the driver that .ci/install-browser put in place (make
// test runs it first). It never downloads anything: a missing browser or
// driver is an error that says how to install it.
package browsertest

import (
	"fmt"
	"os"
	"path/filepath"

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
	p, err := ctx.NewPage()
	if err != nil {
		ctx.Close()
		return nil, nil, err
	}
	return ctx, p, nil
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
