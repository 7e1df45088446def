// Package providertest loads provider fixtures (raw callback bodies with the
// normalized event they must give) from a package's testdata/manifest.json
// and runs them through a provider. It is imported only by tests.
package providertest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Expected is the normalized event a fixture must parse to. Action holds the
// provider-native label (voice.Event.Native), not an alert action.
type Expected struct {
	CallID    string `json:"call_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Digit     string `json:"digit"`
	Action    string `json:"action"`
	Message   string `json:"message"`
}

// Fixture is one recorded callback.
type Fixture struct {
	Provider    string            `json:"provider"`
	File        string            `json:"file"`
	Method      string            `json:"method"`
	ContentType string            `json:"content_type"`
	URL         string            `json:"url"`
	Headers     map[string]string `json:"headers"`
	Expected    Expected          `json:"expected"`
	Body        []byte            `json:"-"`
}

// Manifest is testdata/manifest.json.
type Manifest struct {
	Secrets  map[string]string `json:"secrets"`
	Fixtures []Fixture         `json:"fixtures"`
}

// Load reads testdata/manifest.json and every fixture body it names.
func Load(t testing.TB) Manifest {
	t.Helper()
	return LoadDir(t, "testdata")
}

// LoadDir reads dir/manifest.json and the fixture bodies beside it.
func LoadDir(t testing.TB, dir string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Fixtures {
		body, err := os.ReadFile(filepath.Join(dir, m.Fixtures[i].File))
		if err != nil {
			t.Fatal(err)
		}
		m.Fixtures[i].Body = body
	}
	return m
}

// Request builds the provider request the fixture describes, at clock now.
func (f Fixture) Request(now time.Time) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", f.ContentType)
	for k, v := range f.Headers {
		h.Set(k, v)
	}
	method := f.Method
	if method == "" {
		method = http.MethodPost
	}
	return &provider.Request{Method: method, URL: f.URL, Header: h, Body: append([]byte(nil), f.Body...), Now: now}
}

// Tampered returns a new request like r with the body byte at i flipped: a
// request is parsed once (provider.Request.Params), so a changed body is a
// request of its own.
func Tampered(r *provider.Request, i int) *provider.Request {
	body := append([]byte(nil), r.Body...)
	body[i] ^= 0x01
	return &provider.Request{Method: r.Method, URL: r.URL, Header: r.Header, Body: body, Now: r.Now}
}

// CheckEvent compares the core normalized fields of e with want. The free-text
// message is left to the provider's own tests.
func CheckEvent(t testing.TB, name string, e voice.Event, want Expected) {
	t.Helper()
	if e.CallID != want.CallID || string(e.Type) != want.EventType || string(e.Status) != want.Status ||
		e.Digit != want.Digit || e.Native != want.Action {
		t.Errorf("%s: got call_id=%q type=%q status=%q digit=%q native=%q; want call_id=%q type=%q status=%q digit=%q native=%q",
			name, e.CallID, e.Type, e.Status, e.Digit, e.Native,
			want.CallID, want.EventType, want.Status, want.Digit, want.Action)
	}
}

// FuzzSeeds adds every fixture body to a fuzz corpus.
func FuzzSeeds(f *testing.F) Manifest {
	m := Load(f)
	for _, fx := range m.Fixtures {
		f.Add(fx.Body)
	}
	return m
}
