package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			token := m.Secrets["twilio_auth_token"]
			if fx.URL == vecURL { // the official SDK vector uses token 12345
				token = vecToken
			}
			p := New(provider.Config{"auth_token": token}, provider.Deps{})
			r := fx.Request(time.Now())
			if err := p.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			evs, err := p.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
			if fx.Expected.Message != "" && evs[0].Message != fx.Expected.Message {
				t.Errorf("message = %q, want %q", evs[0].Message, fx.Expected.Message)
			}
			// One changed byte anywhere in the body (the query of a GET)
			// breaks the signature.
			if r.Method == http.MethodGet {
				r.URL = r.URL[:len(r.URL)-2] + string(r.URL[len(r.URL)-2]^0x01) + r.URL[len(r.URL)-1:]
			} else {
				r = providertest.Tampered(r, len(r.Body)-2)
			}
			if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("Verify with a changed body = %v, want ErrBadSignature", err)
			}
			// So does the wrong token.
			wrong := New(provider.Config{"auth_token": strings.Repeat("f", 32)}, provider.Deps{})
			if err := wrong.Verify(fx.Request(time.Now())); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("Verify with a wrong token = %v, want ErrBadSignature", err)
			}
			// And Twilio signing with :443 added still passes.
			port := fx.Request(time.Now())
			port.URL = strings.Replace(port.URL, ".com/", ".com:443/", 1)
			if err := p.Verify(port); err != nil {
				t.Errorf("Verify at %s: %v", port.URL, err)
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	m := providertest.Load(t)
	byFile := map[string]providertest.Fixture{}
	for _, fx := range m.Fixtures {
		byFile[fx.File] = fx
	}
	parse := func(t *testing.T, file string) voice.Event {
		t.Helper()
		evs, err := Parse(byFile[file].Request(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	t.Run("completed", func(t *testing.T) {
		e := parse(t, "status_completed.form")
		if e.Sequence != 3 || e.IdempotencyKey != "CAfedcba9876543210fedcba9876543210:3" {
			t.Errorf("sequence %d key %q", e.Sequence, e.IdempotencyKey)
		}
		if want := time.Date(2025, 1, 14, 10, 15, 58, 0, time.UTC); !e.OccurredAt.Equal(want) {
			t.Errorf("occurred_at %v, want %v", e.OccurredAt, want)
		}
		if e.DurationS == nil || *e.DurationS != 49 {
			t.Errorf("duration %v", e.DurationS)
		}
		if e.Direction != voice.Outbound || e.From != "+12125550199" || e.To != "+14155550123" {
			t.Errorf("direction %q from %q to %q", e.Direction, e.From, e.To)
		}
		if e.Raw["CallStatus"] != "completed" || e.Raw["SequenceNumber"] != "3" || e.Raw["CallbackSource"] != "call-progress-events" {
			t.Errorf("raw %v", e.Raw)
		}
	})
	t.Run("initiated", func(t *testing.T) {
		e := parse(t, "status_initiated.form")
		if e.Sequence != 0 || e.IdempotencyKey != "CAfedcba9876543210fedcba9876543210:0" || e.Message != "" {
			t.Errorf("sequence %d key %q message %q", e.Sequence, e.IdempotencyKey, e.Message)
		}
	})
	t.Run("gather", func(t *testing.T) {
		e := parse(t, "gather_digits.form")
		if e.Sequence != -1 || e.IdempotencyKey != "" || e.Direction != voice.Inbound {
			t.Errorf("sequence %d key %q direction %q", e.Sequence, e.IdempotencyKey, e.Direction)
		}
		if e.Raw["msg"] != "Gather End" || e.Raw["Digits"] != "1234" {
			t.Errorf("raw %v", e.Raw)
		}
	})
	t.Run("partial speech has its own key", func(t *testing.T) {
		e := parse(t, "gather_partial.form")
		if e.Sequence != -1 || e.IdempotencyKey != "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9:partial:2" {
			t.Errorf("sequence %d key %q", e.Sequence, e.IdempotencyKey)
		}
	})
	t.Run("child leg", func(t *testing.T) {
		e := parse(t, "status_child_ringing.form")
		if e.AltCallID != "" || e.Raw["ParentCallSid"] != "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9" || e.Direction != voice.Outbound {
			t.Errorf("alt %q raw %v direction %q", e.AltCallID, e.Raw, e.Direction)
		}
	})
	t.Run("notification", func(t *testing.T) {
		e := parse(t, "call_notification.json")
		if e.Notify != "bob" || e.IdempotencyKey != "WB0123456789abcdef0123456789abcdef" || e.Direction != voice.Inbound {
			t.Errorf("notify %q key %q direction %q", e.Notify, e.IdempotencyKey, e.Direction)
		}
		if e.From != "client:alice" || e.To != "client:bob" || e.Raw["twi_params"] != "ticketId%3D42" {
			t.Errorf("from %q to %q raw %v", e.From, e.To, e.Raw)
		}
		if _, ok := e.Raw["twi_bridge_token"]; ok {
			t.Error("bridge token copied to raw")
		}
	})
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestParseCases(t *testing.T) {
	const sid = "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	type want struct {
		typ     voice.EventType
		status  voice.Status
		digit   string
		native  string
		message string
	}
	tests := []struct {
		name   string
		method string
		ct     string
		body   string
		query  string
		want   want
		err    error
		errHas string
	}{
		{name: "queued", body: form("CallSid", sid, "CallStatus", "queued"), want: want{voice.EventStatus, voice.StatusQueued, "", NativeStatus, ""}},
		{name: "initiated", body: form("CallSid", sid, "CallStatus", "initiated"), want: want{voice.EventStatus, voice.StatusQueued, "", NativeStatus, ""}},
		{name: "ringing", body: form("CallSid", sid, "CallStatus", "ringing"), want: want{voice.EventStatus, voice.StatusRinging, "", NativeStatus, ""}},
		{name: "in-progress", body: form("CallSid", sid, "CallStatus", "in-progress"), want: want{voice.EventStatus, voice.StatusAnswered, "", NativeStatus, ""}},
		{name: "answered (emulators)", body: form("CallSid", sid, "CallStatus", "answered"), want: want{voice.EventStatus, voice.StatusAnswered, "", NativeStatus, ""}},
		{name: "busy with sip code", body: form("CallSid", sid, "CallStatus", "busy", "SipResponseCode", "486"), want: want{voice.EventStatus, voice.StatusBusy, "", NativeStatus, "SipResponseCode=486"}},
		{name: "no-answer", body: form("CallSid", sid, "CallStatus", "no-answer"), want: want{voice.EventStatus, voice.StatusNoAnswer, "", NativeStatus, ""}},
		{name: "canceled", body: form("CallSid", sid, "CallStatus", "canceled"), want: want{voice.EventStatus, voice.StatusCancelled, "", NativeStatus, ""}},
		{name: "failed with error", body: form("CallSid", sid, "CallStatus", "failed", "ErrorCode", "32009", "ErrorMessage", "Number unreachable"),
			want: want{voice.EventStatus, voice.StatusFailed, "", NativeStatus, "ErrorCode=32009 ErrorMessage=Number unreachable"}},
		{name: "odd status", body: form("CallSid", sid, "CallStatus", "paused"), want: want{voice.EventStatus, voice.StatusUnknown, "", NativeStatus, ""}},
		{name: "charset suffix", ct: "application/x-www-form-urlencoded; charset=UTF-8", body: form("CallSid", sid, "CallStatus", "ringing"), want: want{voice.EventStatus, voice.StatusRinging, "", NativeStatus, ""}},
		{name: "GET status", method: http.MethodGet, query: form("CallSid", sid, "CallStatus", "completed", "CallDuration", "7"), want: want{voice.EventStatus, voice.StatusCompleted, "", NativeStatus, "CallDuration=7"}},
		{name: "GET gather", method: http.MethodGet, query: form("CallSid", sid, "CallStatus", "in-progress", "Digits", "2"), want: want{voice.EventDTMF, voice.StatusAnswered, "2", NativeGather, ""}},
		{name: "gather timeout", body: form("CallSid", sid, "CallStatus", "in-progress", "Digits", "", "FinishedOnKey", "", "msg", "Gather End"), want: want{voice.EventDTMF, voice.StatusAnswered, "", NativeGather, noInput}},
		{name: "gather timeout without Digits", body: form("CallSid", sid, "CallStatus", "in-progress", "FinishedOnKey", ""), want: want{voice.EventDTMF, voice.StatusAnswered, "", NativeGather, noInput}},
		{name: "async AMD", body: form("CallSid", sid, "AccountSid", "AC1", "AnsweredBy", "machine_end_silence"), want: want{voice.EventStatus, voice.StatusAnswered, "", nativeAMD, "AnsweredBy=machine_end_silence"}},
		{name: "partial speech", body: form("CallSid", sid, "UnstableSpeechResult", "ack"), want: want{voice.EventStatus, voice.StatusAnswered, "", nativePartial, "UnstableSpeechResult=ack"}},
		{name: "unknown callback with account", body: form("CallSid", sid, "AccountSid", "AC1"), want: want{voice.EventStatus, voice.StatusUnknown, "", nativeCallback, ""}},
		{name: "transcription callback", body: form("CallSid", sid, "TranscriptionStatus", "completed"), want: want{voice.EventStatus, voice.StatusUnknown, "", "transcription-callback", "TranscriptionStatus=completed"}},
		{name: "recording without error", body: form("CallSid", sid, "AccountSid", "AC1", "RecordingStatus", "absent", "ErrorCode", "0"), want: want{voice.EventStatus, voice.StatusUnknown, "", "recording-status-callback", "RecordingStatus=absent"}},
		{name: "gather no CallStatus", body: form("CallSid", sid, "Digits", "1#"), want: want{voice.EventDTMF, voice.StatusUnknown, "1#", NativeGather, ""}},
		{name: "digits on a progress event stay status", body: form("CallSid", sid, "CallStatus", "ringing", "CallbackSource", "call-progress-events", "Digits", "1"), want: want{voice.EventStatus, voice.StatusRinging, "", NativeStatus, ""}},
		{name: "speech gather", body: form("CallSid", sid, "CallStatus", "in-progress", "SpeechResult", "yes"), want: want{voice.EventDTMF, voice.StatusAnswered, "", NativeGather, "SpeechResult=yes"}},
		{name: "notification cancel", ct: "application/json", body: `{"twi_call_sid":"CA1","twi_to":"client:bob","twi_message_type":"twilio.voice.cancel"}`, want: want{voice.EventStatus, voice.StatusCancelled, "", NativeNotification, "twi_to=client:bob"}},
		{name: "notification without type", ct: "application/json; charset=utf-8", body: `{"twi_call_sid":"CA1","twi_to":"client:bob"}`, want: want{voice.EventStatus, voice.StatusRinging, "", NativeNotification, "twi_to=client:bob"}},
		{name: "notification other type", ct: "application/json", body: `{"twi_call_sid":"CA1","twi_message_type":"twilio.voice.other"}`, want: want{voice.EventStatus, voice.StatusUnknown, "", NativeNotification, ""}},
		{name: "missing CallSid", body: form("CallStatus", "ringing"), err: provider.ErrBadPayload, errHas: "CallSid"},
		{name: "empty body", body: "", err: provider.ErrBadPayload, errHas: "CallSid"},
		{name: "missing CallStatus and AccountSid", body: form("CallSid", sid), err: provider.ErrBadPayload, errHas: "CallStatus"},
		{name: "bad form", body: "CallSid=%zz", err: provider.ErrBadPayload},
		{name: "control characters in CallSid", body: form("CallSid", "CA\x00", "CallStatus", "ringing"), err: provider.ErrBadPayload, errHas: "CallSid"},
		{name: "oversized CallSid", body: form("CallSid", strings.Repeat("C", 200), "CallStatus", "ringing"), err: provider.ErrBadPayload, errHas: "CallSid"},
		{name: "text/plain", ct: "text/plain", body: form("CallSid", sid, "CallStatus", "ringing"), err: provider.ErrUnsupportedMediaType},
		{name: "xml", ct: "application/xml", body: "<x/>", err: provider.ErrUnsupportedMediaType},
		{name: "notification missing twi_call_sid", ct: "application/json", body: `{"twi_to":"client:bob"}`, err: provider.ErrBadPayload, errHas: "twi_call_sid"},
		{name: "notification array", ct: "application/json", body: `[]`, err: provider.ErrBadPayload},
		{name: "notification bad json", ct: "application/json", body: `{"twi_call_sid":1}`, err: provider.ErrBadPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tt.ct
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			u := "https://hooks.example.com/cb"
			if tt.query != "" {
				u += "?" + tt.query
			}
			h := http.Header{}
			h.Set("Content-Type", ct)
			evs, err := Parse(&provider.Request{Method: method, URL: u, Header: h, Body: []byte(tt.body)})
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(errString(err), tt.errHas) {
					t.Fatalf("err = %v, want %v naming %q", err, tt.err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := evs[0]
			got := want{e.Type, e.Status, e.Digit, e.Native, e.Message}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if e.CallID == "" {
				t.Error("empty call id")
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseTolerance(t *testing.T) {
	v := url.Values{"CallSid": {"CA1"}, "CallStatus": {"ringing"}, "Timestamp": {"yesterday"}, "SequenceNumber": {"x"}}
	e, err := ParseForm(v)
	if err != nil {
		t.Fatal(err)
	}
	if !e.OccurredAt.IsZero() || e.Sequence != -1 || e.IdempotencyKey != "" || e.Raw["Timestamp"] != "yesterday" {
		t.Errorf("occurred_at %v sequence %d key %q raw %v", e.OccurredAt, e.Sequence, e.IdempotencyKey, e.Raw)
	}
	for _, ts := range []string{"Tue, 14 Jan 2025 10:15:02 +0000", "14 Jan 2025 10:15:02 +0000", "Tue, 14 Jan 2025 10:15:02 GMT", "2025-01-14T10:15:02Z"} {
		got, ok := ParseTimestamp(ts)
		if !ok || !got.Equal(time.Date(2025, 1, 14, 10, 15, 2, 0, time.UTC)) {
			t.Errorf("ParseTimestamp(%q) = %v, %v", ts, got, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte("CallSid=CA1&Digits=%23"))
	f.Add([]byte(`{"twi_call_sid":"CA1","twi_message_type":"twilio.voice.cancel"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json", "text/plain"} {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				h := http.Header{}
				h.Set("Content-Type", ct)
				r := &provider.Request{Method: method, URL: "https://h.example/cb?" + string(body), Header: h, Body: body}
				evs, err := Parse(r)
				if err != nil {
					if !errors.Is(err, provider.ErrBadPayload) && !errors.Is(err, provider.ErrUnsupportedMediaType) {
						t.Fatalf("error %v wraps no sentinel", err)
					}
					continue
				}
				for _, e := range evs {
					if e.CallID == "" || !e.Type.Valid() || !e.Status.Valid() {
						t.Fatalf("invalid event %+v", e)
					}
				}
				_ = RenderReply(r, provider.Outcome{Events: []provider.Applied{{Event: evs[0]}}})
			}
		}
	})
}

func TestAnsweringMachineInMessage(t *testing.T) {
	e, err := ParseForm(url.Values{"CallSid": {"CA2"}, "CallStatus": {"in-progress"}, "AnsweredBy": {"machine_start"},
		"CallbackSource": {"call-progress-events"}, "SequenceNumber": {"2"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != voice.StatusAnswered || e.Message != "AnsweredBy=machine_start" {
		t.Errorf("got status %s message %q", e.Status, e.Message)
	}
}

// TestTable checks the Twilio table of docs/providers.md against the
// fixtures it names.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "twilio", New(provider.Config{}, provider.Deps{}))
}
