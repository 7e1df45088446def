package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callhook/internal/browsertest"
)

var (
	browserOnce sync.Once
	browser     *browsertest.Browser
	browserErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// chromium returns the package's shared browser, started on first use, bound
// to t so that a CSP violation fails it. A missing browser fails the test:
// make test installs it.
func chromium(t *testing.T) *browsertest.Browser {
	t.Helper()
	// make unit skips tests named TestBrowser*: a browser test must say so.
	if !strings.HasPrefix(t.Name(), "TestBrowser") {
		t.Fatalf("%s starts a browser: name it TestBrowser… so make unit leaves it to make test", t.Name())
	}
	browserOnce.Do(func() { browser, browserErr = browsertest.Launch() })
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browser.For(t)
}

// testApp is the whole callhook server on 127.0.0.1:0 with a fresh SQLite file.
type testApp struct {
	*App
	t     *testing.T
	admin string // admin API token
}

const testAdminPassword = "correct-horse-battery"

func startApp(t *testing.T, mod ...func(*Config)) *testApp {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(t.TempDir(), "callhook.db"),
		AdminPassword: testAdminPassword, MaxBody: 1 << 20, BcryptCost: 4, PollInterval: time.Second}
	for _, f := range mod {
		f(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	app, err := Start(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Shutdown(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ta := &testApp{App: app, t: t}
	tok, _, err := app.Auth.CreateToken(context.Background(), "test-admin", "admin")
	if err != nil {
		t.Fatal(err)
	}
	ta.admin = tok
	return ta
}

// token creates an API token with role.
func (a *testApp) token(role string) string {
	a.t.Helper()
	tok, _, err := a.Auth.CreateToken(context.Background(), "t-"+role, role)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// do sends an API request and decodes a JSON answer into out (if not nil).
func (a *testApp) do(method, path, token string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			buf, _ := json.Marshal(b)
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequest(method, a.URL()+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// post sends a raw callback.
func (a *testApp) post(url, contentType string, body []byte, hdr map[string]string) (int, string) {
	a.t.Helper()
	return a.send(http.MethodPost, url, contentType, body, hdr)
}

// send sends a raw callback with method.
func (a *testApp) send(method, url, contentType string, body []byte, hdr map[string]string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
