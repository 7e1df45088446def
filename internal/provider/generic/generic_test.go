package generic

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

func req(body string, hdr map[string]string) *provider.Request {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return &provider.Request{Method: "POST", URL: "http://x/cb", Header: h, Body: []byte(body), Now: time.Unix(1700000000, 0)}
}

func TestParseSeedFormat(t *testing.T) {
	tests := []struct {
		body string
		want []voice.Event
	}{
		{`{"call_id":"abc-123","event_type":"status","status":"answered"}`,
			[]voice.Event{{CallID: "abc-123", Type: voice.EventStatus, Status: voice.StatusAnswered}}},
		{`{"call_id":"abc-123","event_type":"dtmf","digit":"1"}`,
			[]voice.Event{{CallID: "abc-123", Type: voice.EventDTMF, Status: voice.StatusUnknown, Digit: "1"}}},
		{`{"call_id":"abc-123","event_type":"dtmf","action":"acknowledge"}`,
			[]voice.Event{{CallID: "abc-123", Type: voice.EventDTMF, Status: voice.StatusUnknown, Action: voice.ActionAcknowledge}}},
		{`{"call_id":"abc-123","event_type":"error","status":"failed","message":"Insufficient balance"}`,
			[]voice.Event{{CallID: "abc-123", Type: voice.EventError, Status: voice.StatusFailed, Message: "Insufficient balance"}}},
		{`{"call_id":"a","event_type":"status","status":"no-answer"}`,
			[]voice.Event{{CallID: "a", Type: voice.EventStatus, Status: voice.StatusNoAnswer}}},
		{`{"call_id":"a","event_type":"dtmf","digit":787}`,
			[]voice.Event{{CallID: "a", Type: voice.EventDTMF, Status: voice.StatusUnknown, Digit: "787"}}},
		{`{"call_id":"a","status":"ringing"}`,
			[]voice.Event{{CallID: "a", Type: voice.EventStatus, Status: voice.StatusRinging}}},
	}
	for _, tt := range tests {
		got, err := Parse(req(tt.body, nil))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %d events", tt.body, len(got))
		}
		for i, w := range tt.want {
			g := got[i]
			if g.CallID != w.CallID || g.Type != w.Type || g.Status != w.Status || g.Digit != w.Digit || g.Action != w.Action || g.Message != w.Message {
				t.Errorf("%s: got %+v, want %+v", tt.body, g, w)
			}
		}
	}
}

func TestParseFixturesAndExtensions(t *testing.T) {
	body, err := os.ReadFile("testdata/batch.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Parse(req(string(body), nil))
	if err != nil || len(evs) != 3 {
		t.Fatalf("batch: %v %d", err, len(evs))
	}
	evs, err = Parse(req(`{"call_id":"a","event_type":"status","status":"completed","occurred_at":"2026-01-02T03:04:05Z","sequence":4,"event_id":"e1","duration_s":12.5,"mos":4.2,"direction":"inbound","from":"+1555"}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if !e.OccurredAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || e.Sequence != 4 || e.IdempotencyKey != "e1" ||
		*e.DurationS != 12.5 || *e.MOS != 4.2 || e.Direction != voice.Inbound || e.From != "+1555" {
		t.Errorf("extensions: %+v", e)
	}
	evs, _ = Parse(req(`{"call_id":"a","status":"ringing","timestamp":1700000000}`, nil))
	if !evs[0].OccurredAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("unix timestamp: %v", evs[0].OccurredAt)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		ct, body string
		want     error
	}{
		{"text/plain", `{}`, provider.ErrUnsupportedMediaType},
		{"application/json", ``, provider.ErrBadPayload},
		{"application/json", `{"call_id":`, provider.ErrBadPayload},
		{"application/json", `{"event_type":"status","status":"ringing"}`, provider.ErrBadPayload},
		{"application/json", `{"call_id":"a"}`, provider.ErrBadPayload},
		{"application/json", `{"call_id":"a","event_type":"dtmf","digit":{"d":1}}`, provider.ErrBadPayload},
		{"application/json", `{"call_id":"a","event_type":"dtmf","action":"snooze"}`, provider.ErrBadPayload},
		{"application/json", `{"call_id":"a","event_type":"status","status":"ringing"} trailing`, provider.ErrBadPayload},
		{"application/json", `[]`, provider.ErrBadPayload},
		{"application/json", `"string"`, provider.ErrBadPayload},
		{"application/json", `{"call_id":"a","status":"ringing","occurred_at":"yesterday"}`, provider.ErrBadPayload},
	}
	for _, tt := range tests {
		r := req(tt.body, nil)
		r.Header.Set("Content-Type", tt.ct)
		if _, err := Parse(r); !errors.Is(err, tt.want) {
			t.Errorf("%s %q: %v, want %v", tt.ct, tt.body, err, tt.want)
		}
	}
}

func TestVerify(t *testing.T) {
	body := `{"call_id":"a","event_type":"status","status":"ringing"}`
	now := int64(1700000000)
	p := New(provider.Config{"signing_secret": "k"}, provider.Deps{})
	sig := Sign("k", now, []byte(body))
	ts := strconv.FormatInt(now, 10)
	tests := []struct {
		name string
		hdr  map[string]string
		body string
		want error
	}{
		{"valid", map[string]string{HeaderTimestamp: ts, HeaderSignature: sig}, body, nil},
		{"missing", nil, body, provider.ErrBadSignature},
		{"body changed", map[string]string{HeaderTimestamp: ts, HeaderSignature: sig}, body + " ", provider.ErrBadSignature},
		{"wrong key", map[string]string{HeaderTimestamp: ts, HeaderSignature: Sign("other", now, []byte(body))}, body, provider.ErrBadSignature},
		{"not a number", map[string]string{HeaderTimestamp: "soon", HeaderSignature: sig}, body, provider.ErrBadSignature},
		{"stale", map[string]string{HeaderTimestamp: strconv.FormatInt(now-301, 10), HeaderSignature: Sign("k", now-301, []byte(body))}, body, provider.ErrStaleTimestamp},
		{"edge of window", map[string]string{HeaderTimestamp: strconv.FormatInt(now-299, 10), HeaderSignature: Sign("k", now-299, []byte(body))}, body, nil},
	}
	for _, tt := range tests {
		if err := p.Verify(req(tt.body, tt.hdr)); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := New(provider.Config{}, provider.Deps{}).Verify(req(body, nil)); err != nil {
		t.Errorf("no secret configured: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte(`{"call_id":"a","event_type":"dtmf","digit":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Parse(req(string(body), nil))
		if err == nil {
			for _, e := range evs {
				if e.CallID == "" || !e.Type.Valid() || !e.Status.Valid() {
					t.Fatalf("accepted an invalid event %+v", e)
				}
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	b, _ := os.ReadFile("testdata/status.json")
	f.Add(b, "1700000000", Sign("k", 1700000000, b))
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		p := New(provider.Config{"signing_secret": "k"}, provider.Deps{})
		err := p.Verify(req(string(body), map[string]string{HeaderTimestamp: ts, HeaderSignature: sig}))
		if err == nil && strings.TrimSpace(sig) != signString("k", strings.TrimSpace(ts), body) {
			t.Fatalf("accepted a signature that is not ours")
		}
	})
}

func TestParseGET(t *testing.T) {
	r := &provider.Request{Method: "GET", URL: "http://x/cb?call_id=abc-123&event_type=dtmf&digit=1&sequence=3", Header: http.Header{}}
	evs, err := Parse(r)
	if err != nil || len(evs) != 1 || evs[0].Digit != "1" || evs[0].Type != voice.EventDTMF || evs[0].Sequence != 3 {
		t.Fatalf("%+v %v", evs, err)
	}
	r.URL = "http://x/cb?event_type=status"
	if _, err := Parse(r); !errors.Is(err, provider.ErrBadPayload) {
		t.Errorf("GET without call_id: %v", err)
	}
}

// TestTable checks the generic table of docs/providers.md against the
// fixtures and the parser.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "generic", New(provider.Config{}, provider.Deps{}))
}

// TestFixtures parses every fixture of testdata/manifest.json and checks the
// call id and the native label too, which the table does not show.
func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	for _, fx := range m.Fixtures {
		evs, err := Parse(fx.Request(time.Unix(1700000000, 0)))
		if err != nil {
			t.Errorf("%s: %v", fx.File, err)
			continue
		}
		providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
		if evs[0].Message != fx.Expected.Message {
			t.Errorf("%s: message %q, want %q", fx.File, evs[0].Message, fx.Expected.Message)
		}
	}
}

// TestUnmappedStatusKept checks that a status word or an event type callhook
// does not know is accepted and the sender's word kept beside the event.
func TestUnmappedStatusKept(t *testing.T) {
	tests := []struct{ body, native, raw string }{
		{`{"call_id":"a","event_type":"status","status":"voicemail"}`, "status", "voicemail"},
		{`{"call_id":"a","event_type":"call.transferred","status":"answered"}`, "call.transferred", "answered"},
		{`{"call_id":"a","event_type":"Call.Transferred"}`, "Call.Transferred", ""},
	}
	for _, tt := range tests {
		evs, err := Parse(req(tt.body, nil))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		e := evs[0]
		if e.Type != voice.EventStatus || e.Status != voice.StatusUnknown || e.Native != tt.native || e.Raw["status"] != tt.raw {
			t.Errorf("%s: got %+v", tt.body, e)
		}
	}
}
