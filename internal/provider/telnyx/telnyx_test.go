package telnyx

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

// fixtureTime is the telnyx-timestamp of every fixture (2025-01-14T10:15:02Z).
var fixtureTime = time.Unix(1736849702, 0)

func fixtureProvider(t testing.TB, m providertest.Manifest) *Provider {
	t.Helper()
	key := m.Secrets["telnyx_public_key_b64"]
	if key == "" {
		t.Fatal("manifest has no telnyx_public_key_b64")
	}
	return New(provider.Config{"public_key": key}, provider.Deps{})
}

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	p := fixtureProvider(t, m)
	// Our messages add the SIP code when it is not 200 (see the package doc);
	// everything else is the manifest's message.
	messages := map[string]string{
		"call_hangup_busy.json": "user_busy sip_hangup_cause=486",
	}
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			r := fx.Request(fixtureTime)
			if err := p.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			events, err := p.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(events) != 1 {
				t.Fatalf("got %d events, want 1", len(events))
			}
			e := events[0]
			providertest.CheckEvent(t, fx.File, e, fx.Expected)
			want, ok := messages[fx.File]
			if !ok {
				want = fx.Expected.Message
			}
			if e.Message != want {
				t.Errorf("message = %q, want %q", e.Message, want)
			}
			if !strings.HasPrefix(e.Message, fx.Expected.Message) {
				t.Errorf("message %q does not start with the manifest's %q", e.Message, fx.Expected.Message)
			}
			if e.IdempotencyKey == "" || e.OccurredAt.IsZero() || e.Sequence != -1 {
				t.Errorf("idempotency_key=%q occurred_at=%v sequence=%d", e.IdempotencyKey, e.OccurredAt, e.Sequence)
			}
			if e.From != "+13125550100" || e.To != "+13125550199" {
				t.Errorf("from/to = %q/%q", e.From, e.To)
			}
			if got := p.Reply(r, provider.Outcome{}); got.Status != http.StatusOK || string(got.Body) != `{"ok":true}` {
				t.Errorf("reply = %d %s", got.Status, got.Body)
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	m := providertest.Load(t)
	byFile := map[string]providertest.Fixture{}
	for _, fx := range m.Fixtures {
		byFile[fx.File] = fx
	}
	parse := func(file string) voice.Event {
		t.Helper()
		fx, ok := byFile[file]
		if !ok {
			t.Fatalf("fixture %s missing", file)
		}
		e, err := Parse(fx.Request(fixtureTime))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := parse("call_initiated.json")
	if e.Direction != voice.Inbound || e.IdempotencyKey != "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0" {
		t.Errorf("initiated: direction=%q key=%q", e.Direction, e.IdempotencyKey)
	}
	if want := time.Date(2025, 1, 14, 10, 15, 2, 112233000, time.UTC); !e.OccurredAt.Equal(want) {
		t.Errorf("initiated: occurred_at = %v, want %v", e.OccurredAt, want)
	}
	e = parse("call_hangup_busy.json")
	if e.Raw["sip_hangup_cause"] != "486" || e.Raw["hangup_source"] != "callee" || e.Raw["call_session_id"] == "" {
		t.Errorf("hangup raw = %v", e.Raw)
	}
	if e.DurationS != nil {
		t.Errorf("hangup without end_time has duration %v", *e.DurationS)
	}
}

// envelope builds a Call Control webhook body with the given payload fields.
func body(eventType, payload string) []byte {
	return []byte(`{"data":{"record_type":"event","event_type":"` + eventType +
		`","id":"evt-1","occurred_at":"2025-01-14T10:15:02.5Z","payload":{"call_control_id":"v3:abc"` + payload + `}}}`)
}

func jsonRequest(b []byte) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &provider.Request{Method: http.MethodPost, URL: "https://hooks.example.com/cb", Header: h, Body: b, Now: fixtureTime}
}

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		typ       voice.EventType
		status    voice.Status
		digit     string
		native    string
		message   string
		direction voice.Direction
	}{
		{"initiated outgoing", body("call.initiated", `,"direction":"outgoing","state":"bridging"`), voice.EventStatus, voice.StatusQueued, "", "call.initiated", "direction=outgoing", voice.Outbound},
		{"initiated incoming", body("call.initiated", `,"direction":"incoming"`), voice.EventStatus, voice.StatusRinging, "", "call.initiated", "direction=incoming", voice.Inbound},
		{"initiated no direction", body("call.initiated", ``), voice.EventStatus, voice.StatusUnknown, "", "call.initiated", "", ""},
		{"answered", body("call.answered", ``), voice.EventStatus, voice.StatusAnswered, "", "call.answered", "", ""},
		{"bridged", body("call.bridged", ``), voice.EventStatus, voice.StatusAnswered, "", "call.bridged", "", ""},
		{"hangup normal_clearing", body("call.hangup", `,"hangup_cause":"normal_clearing","sip_hangup_cause":"200"`), voice.EventStatus, voice.StatusCompleted, "", "call.hangup", "normal_clearing", ""},
		{"hangup time_limit", body("call.hangup", `,"hangup_cause":"time_limit"`), voice.EventStatus, voice.StatusCompleted, "", "call.hangup", "time_limit", ""},
		{"hangup unspecified", body("call.hangup", `,"hangup_cause":"unspecified","sip_hangup_cause":"unspecified"`), voice.EventStatus, voice.StatusCompleted, "", "call.hangup", "unspecified", ""},
		{"hangup user_busy", body("call.hangup", `,"hangup_cause":"user_busy","sip_hangup_cause":"486"`), voice.EventStatus, voice.StatusBusy, "", "call.hangup", "user_busy sip_hangup_cause=486", ""},
		{"hangup busy (Dograh spelling)", body("call.hangup", `,"hangup_cause":"busy"`), voice.EventStatus, voice.StatusBusy, "", "call.hangup", "busy", ""},
		{"hangup no_answer", body("call.hangup", `,"hangup_cause":"no_answer","sip_hangup_cause":"480"`), voice.EventStatus, voice.StatusNoAnswer, "", "call.hangup", "no_answer sip_hangup_cause=480", ""},
		{"hangup timeout", body("call.hangup", `,"hangup_cause":"timeout","sip_hangup_cause":408`), voice.EventStatus, voice.StatusNoAnswer, "", "call.hangup", "timeout sip_hangup_cause=408", ""},
		{"hangup originator_cancel", body("call.hangup", `,"hangup_cause":"originator_cancel","sip_hangup_cause":"487"`), voice.EventStatus, voice.StatusCancelled, "", "call.hangup", "originator_cancel sip_hangup_cause=487", ""},
		{"hangup call_rejected", body("call.hangup", `,"hangup_cause":"call_rejected","sip_hangup_cause":"603"`), voice.EventStatus, voice.StatusFailed, "", "call.hangup", "call_rejected sip_hangup_cause=603", ""},
		{"hangup not_found", body("call.hangup", `,"hangup_cause":"not_found","sip_hangup_cause":"404"`), voice.EventStatus, voice.StatusFailed, "", "call.hangup", "not_found sip_hangup_cause=404", ""},
		{"hangup unallocated_number", body("call.hangup", `,"hangup_cause":"unallocated_number"`), voice.EventStatus, voice.StatusFailed, "", "call.hangup", "unallocated_number", ""},
		{"hangup unknown cause is completed", body("call.hangup", `,"hangup_cause":"something_new"`), voice.EventStatus, voice.StatusCompleted, "", "call.hangup", "something_new", ""},
		{"dtmf received", body("call.dtmf.received", `,"digit":"#"`), voice.EventDTMF, voice.StatusAnswered, "#", "call.dtmf.received", "", ""},
		{"dtmf digit as number", body("call.dtmf.received", `,"digit":7`), voice.EventDTMF, voice.StatusAnswered, "7", "call.dtmf.received", "", ""},
		{"gather ended valid", body("call.gather.ended", `,"digits":"787","status":"valid"`), voice.EventDTMF, voice.StatusAnswered, "787", "call.gather.ended", "valid", ""},
		{"gather ended invalid keeps digits", body("call.gather.ended", `,"digits":"9","status":"invalid"`), voice.EventDTMF, voice.StatusAnswered, "9", "call.gather.ended", "invalid", ""},
		{"gather ended timeout", body("call.gather.ended", `,"digits":"","status":"timeout"`), voice.EventDTMF, voice.StatusAnswered, "", "call.gather.ended", "timeout", ""},
		{"gather ended without digits field", body("call.gather.ended", `,"status":"call_hangup"`), voice.EventDTMF, voice.StatusAnswered, "", "call.gather.ended", "call_hangup", ""},
		{"dtmf without digit", body("call.dtmf.received", ``), voice.EventDTMF, voice.StatusAnswered, "", "call.dtmf.received", "no digit", ""},
		{"machine detection", body("call.machine.detection.ended", `,"result":"human"`), voice.EventStatus, voice.StatusAnswered, "", "call.machine.detection.ended", "human", ""},
		{"premium greeting", body("call.machine.premium.greeting.ended", `,"result":"beep_detected"`), voice.EventStatus, voice.StatusAnswered, "", "call.machine.premium.greeting.ended", "beep_detected", ""},
		{"playback", body("call.playback.started", ``), voice.EventStatus, voice.StatusUnknown, "", "call.playback.started", "", ""},
		{"playback ended keeps status", body("call.playback.ended", `,"status":"file_not_found"`), voice.EventStatus, voice.StatusUnknown, "", "call.playback.ended", "file_not_found", ""},
		{"streaming failed keeps failure_reason", body("streaming.failed", `,"failure_reason":"connection_failed"`), voice.EventStatus, voice.StatusUnknown, "", "streaming.failed", "connection_failed", ""},
		{"object where a scalar is documented", body("call.ai_gather.ended", `,"status":{"x":1},"result":[1]`), voice.EventStatus, voice.StatusUnknown, "", "call.ai_gather.ended", "", ""},
		{"unknown future event", body("call.something.new", ``), voice.EventStatus, voice.StatusUnknown, "", "call.something.new", "", ""},
		{"streaming underscore", body("streaming_started", ``), voice.EventStatus, voice.StatusUnknown, "", "streaming.started", "", ""},
		{"streaming dotted", body("streaming.stopped", ``), voice.EventStatus, voice.StatusUnknown, "", "streaming.stopped", "", ""},
		{"upper case event", body("Call.Answered", ``), voice.EventStatus, voice.StatusAnswered, "", "call.answered", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(jsonRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if e.CallID != "v3:abc" || e.Type != tt.typ || e.Status != tt.status || e.Digit != tt.digit ||
				e.Native != tt.native || e.Message != tt.message || e.Direction != tt.direction {
				t.Errorf("got call_id=%q type=%q status=%q digit=%q native=%q message=%q direction=%q",
					e.CallID, e.Type, e.Status, e.Digit, e.Native, e.Message, e.Direction)
			}
			if e.IdempotencyKey != "evt-1" {
				t.Errorf("idempotency key = %q", e.IdempotencyKey)
			}
			if !e.Status.Valid() || !e.Type.Valid() {
				t.Errorf("invalid status %q or type %q", e.Status, e.Type)
			}
		})
	}
}

func TestParseDurationAndMOS(t *testing.T) {
	b := body("call.hangup", `,"hangup_cause":"normal_clearing","start_time":"2025-01-14T10:15:02.000000Z","end_time":"2025-01-14T10:15:44.500000Z",`+
		`"call_quality_stats":{"inbound":{"jitter_max_variance":"2.74","mos":"4.50","packet_count":"591"},"outbound":{"packet_count":"0"}}`)
	e, err := Parse(jsonRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	if e.DurationS == nil || *e.DurationS != 42.5 {
		t.Errorf("duration = %v, want 42.5", e.DurationS)
	}
	if e.MOS == nil || *e.MOS != 4.5 {
		t.Errorf("mos = %v, want 4.5", e.MOS)
	}
	for name, stats := range map[string]string{
		"number":       `{"inbound":{"mos":3.9}}`,
		"out of range": `{"inbound":{"mos":"0"}}`,
		"not a number": `{"inbound":{"mos":"n/a"}}`,
		"wrong shape":  `[1,2]`,
		"null":         `null`,
	} {
		e, err := Parse(jsonRequest(body("call.hangup", `,"hangup_cause":"normal_clearing","call_quality_stats":`+stats)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "number" {
			if e.MOS == nil || *e.MOS != 3.9 {
				t.Errorf("%s: mos = %v, want 3.9", name, e.MOS)
			}
		} else if e.MOS != nil {
			t.Errorf("%s: mos = %v, want none", name, *e.MOS)
		}
	}
	// end before start and unparsable times give no duration; a bad
	// occurred_at leaves the time zero instead of failing.
	e, err = Parse(jsonRequest([]byte(`{"data":{"event_type":"call.hangup","id":"x","occurred_at":"yesterday","payload":{"call_control_id":"c","start_time":"2025-01-14T10:15:44Z","end_time":"2025-01-14T10:15:02Z"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if e.DurationS != nil || !e.OccurredAt.IsZero() {
		t.Errorf("duration=%v occurred_at=%v", e.DurationS, e.OccurredAt)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        error
		mention     string
	}{
		{"form body", "application/x-www-form-urlencoded", `a=b`, provider.ErrUnsupportedMediaType, "application/x-www-form-urlencoded"},
		{"no content type", "", `{}`, provider.ErrUnsupportedMediaType, "content type"},
		{"empty", "application/json", ``, provider.ErrBadPayload, "empty"},
		{"not json", "application/json", `hello`, provider.ErrBadPayload, "invalid JSON"},
		{"array", "application/json", `[]`, provider.ErrBadPayload, "invalid JSON"},
		{"no data", "application/json", `{"meta":{}}`, provider.ErrBadPayload, "missing data"},
		{"data null", "application/json", `{"data":null}`, provider.ErrBadPayload, "missing data"},
		{"no event type", "application/json", `{"data":{"id":"x","payload":{"call_control_id":"c"}}}`, provider.ErrBadPayload, "data.event_type"},
		{"no payload", "application/json", `{"data":{"event_type":"call.answered"}}`, provider.ErrBadPayload, "data.payload.call_control_id"},
		{"no call_control_id", "application/json", `{"data":{"event_type":"call.answered","payload":{"call_leg_id":"l"}}}`, provider.ErrBadPayload, "data.payload.call_control_id"},
		{"payload not object", "application/json", `{"data":{"event_type":"call.answered","payload":"x"}}`, provider.ErrBadPayload, "data.payload"},
		{"call_control_id object", "application/json", `{"data":{"event_type":"call.answered","payload":{"call_control_id":{}}}}`, provider.ErrBadPayload, "data.payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsonRequest([]byte(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			if tt.contentType == "" {
				r.Header.Del("Content-Type")
			}
			_, err := New(provider.Config{}, provider.Deps{}).Parse(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err %q does not mention %q", err, tt.mention)
			}
		})
	}
	// A +json media type with parameters is JSON.
	r := jsonRequest(body("call.answered", ``))
	r.Header.Set("Content-Type", "application/vnd.telnyx+json; charset=utf-8")
	if _, err := Parse(r); err != nil {
		t.Errorf("+json: %v", err)
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "telnyx" || s.Title != "Telnyx" || s.SigningKey != "public_key" || s.New == nil || s.Check == nil {
		t.Fatalf("spec = %+v", s)
	}
	for _, c := range []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback, provider.CapPlaceCall, provider.CapSignature} {
		if !s.Has(c) {
			t.Errorf("missing capability %s", c)
		}
	}
	if s.Has(provider.CapStatusPolling) {
		t.Error("telnyx must not claim status polling")
	}
	wantFields := map[string]bool{"api_key": true, "connection_id": false, "public_key": false, "from": false}
	if len(s.Fields) != len(wantFields) {
		t.Errorf("got %d fields, want %d", len(s.Fields), len(wantFields))
	}
	for k, secret := range wantFields {
		f, ok := s.Field(k)
		if !ok {
			t.Errorf("field %s missing", k)
			continue
		}
		if f.Secret != secret {
			t.Errorf("field %s secret = %v, want %v", k, f.Secret, secret)
		}
		if f.Label == "" || f.Help == "" {
			t.Errorf("field %s needs a label and help", k)
		}
	}
	p, err := s.New(provider.Config{"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(provider.Placer); !ok {
		t.Error("provider is not a Placer")
	}
	if _, ok := p.(provider.Reactor); !ok {
		t.Error("provider is not a Reactor")
	}
	if _, ok := p.(provider.Sampler); !ok {
		t.Error("provider is not a Sampler")
	}
	if _, ok := p.(provider.Poller); ok {
		t.Error("provider must not be a Poller")
	}
	if !s.SignatureOff(provider.Config{}) || s.SignatureOff(provider.Config{"public_key": "x"}) {
		t.Error("SignatureOff does not follow public_key")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		cfg     provider.Config
		wantErr string
	}{
		{"empty", provider.Config{}, ""},
		{"valid", provider.Config{"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "from": "+13125550100"}, ""},
		{"unpadded key", provider.Config{"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, ""},
		{"key not base64", provider.Config{"public_key": "not base64!"}, "public_key"},
		{"key too short", provider.Config{"public_key": "AAAA"}, "3 bytes"},
		{"key is a signature", provider.Config{"public_key": "U7036lFCKm/GRo/vGiBJhv8psRpKpuo18aUVq+cP96ejY+sumnq2+pm2fvbjFvtEdzpGjTi9JKvwqCxaCC1lCA=="}, "64 bytes"},
		{"from without plus", provider.Config{"from": "13125550100"}, "from"},
		{"from with letters", provider.Config{"from": "+1312555ABCD"}, "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestSampleCallback(t *testing.T) {
	p := New(provider.Config{"connection_id": "conn-1", "from": "+13125550100"}, provider.Deps{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := p.SampleCallback("https://hooks.example.com/cb/1/s", "v3:sample", now)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "https://hooks.example.com/cb/1/s" || r.Method != http.MethodPost || r.Header.Get(HeaderTimestamp) != "1772366400" {
		t.Errorf("request = %s %s ts=%s", r.Method, r.URL, r.Header.Get(HeaderTimestamp))
	}
	if err := p.Verify(r); err != nil {
		t.Errorf("Verify without a key: %v", err)
	}
	events, err := p.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	e := events[0]
	if e.CallID != "v3:sample" || e.Status != voice.StatusAnswered || e.Native != "call.answered" || e.IdempotencyKey == "" || !e.OccurredAt.Equal(now) {
		t.Errorf("sample event = %+v", e)
	}
	r2, _ := p.SampleCallback("u", "v3:sample", now)
	if e2, _ := Parse(r2); e2.IdempotencyKey == e.IdempotencyKey {
		t.Error("two samples share an idempotency key")
	}
	if _, err := p.SampleCallback("u", "", now); err == nil {
		t.Error("empty call id accepted")
	}
	keyed := New(provider.Config{"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, provider.Deps{})
	if err := keyed.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("unsigned sample with a key configured: %v", err)
	}
}

// TestTable checks the Telnyx table of docs/providers.md against the parser:
// one signed fixture per documented event.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "telnyx", fixtureProvider(t, providertest.Load(t)))
}
