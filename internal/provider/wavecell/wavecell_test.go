package wavecell

import (
	"encoding/base64"
	"errors"
	"net/http"
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
	open := New(provider.Config{}, provider.Deps{})
	guarded := New(provider.Config{"callback_token": "s3cret-token", "sub_account_id": "account_x"}, provider.Deps{})
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			r := fx.Request(time.Now())
			if err := open.Verify(r); err != nil {
				t.Fatalf("Verify without a token: %v", err)
			}
			events, err := open.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(events) != 1 {
				t.Fatalf("got %d events, want 1", len(events))
			}
			e := events[0]
			providertest.CheckEvent(t, fx.File, e, fx.Expected)
			if e.Message != fx.Expected.Message {
				t.Errorf("message = %q, want %q", e.Message, fx.Expected.Message)
			}
			// Session summaries and Voice Messaging callbacks name no
			// direction or numbers; call events do.
			callEvent := fx.Expected.Action == eventCallStatus || fx.Expected.Action == eventCallAction
			if e.OccurredAt.IsZero() || e.Sequence != -1 || (callEvent && (e.Direction == "" || e.From == "" || e.To == "")) {
				t.Errorf("occurred_at=%v sequence=%d direction=%q from=%q to=%q", e.OccurredAt, e.Sequence, e.Direction, e.From, e.To)
			}
			// The same fixture with the configured token passes the guarded provider.
			if err := guarded.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("guarded Verify without a token: %v", err)
			}
			r.Header.Set("Authorization", "Bearer s3cret-token")
			if err := guarded.Verify(r); err != nil {
				t.Errorf("guarded Verify with the token: %v", err)
			}
			if _, err := guarded.Parse(r); err != nil {
				t.Errorf("guarded Parse: %v", err)
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	m := providertest.Load(t)
	get := func(file string) voice.Event {
		t.Helper()
		for _, fx := range m.Fixtures {
			if fx.File == file {
				events, err := Parse(fx.Request(time.Now()))
				if err != nil {
					t.Fatal(err)
				}
				return events[0]
			}
		}
		t.Fatalf("fixture %s missing", file)
		return voice.Event{}
	}
	e := get("call_received.json")
	if e.Direction != voice.Inbound || e.From != "6512345678" || e.To != "6587654321" || e.IdempotencyKey != "" ||
		e.DurationS != nil || e.Raw["sessionId"] != "a1d6a5e2-efec-11e9-b999-efc71013a78f" || e.Raw["referenceId"] != "vn-ref-001" {
		t.Errorf("call_received: %+v", e)
	}
	if want := time.Date(2019, 10, 16, 8, 12, 1, 0, time.UTC); !e.OccurredAt.Equal(want) {
		t.Errorf("call_received occurred_at = %v", e.OccurredAt)
	}
	e = get("dtmf_received.json")
	if e.DurationS == nil || *e.DurationS != 8 {
		t.Errorf("dtmf_received duration = %v, want 8", e.DurationS)
	}
	e = get("vcs_call_status_disconnected.json")
	if e.DurationS == nil || *e.DurationS != 42 || e.IdempotencyKey != "fc10d81a-9693-11ea-454d-1705dde98182" || e.Direction != voice.Outbound {
		t.Errorf("disconnected: duration=%v key=%q direction=%q", e.DurationS, e.IdempotencyKey, e.Direction)
	}
	e = get("vcs_call_status_connected.json")
	if e.DurationS != nil || e.Raw["subAccountId"] != "account_x" || e.From != "+6568888888" || e.To != "+6598888888" {
		t.Errorf("connected: duration=%v raw=%v", e.DurationS, e.Raw)
	}
	e = get("vca_call_action_dtmf.json")
	if e.IdempotencyKey != "77e6a667-133a-11ef-9dd4-e911cc6fc82f" || e.Raw["clientActionId"] != "ivr1_level1" {
		t.Errorf("vca: key=%q raw=%v", e.IdempotencyKey, e.Raw)
	}
	if want := time.Date(2024, 5, 16, 4, 12, 11, 217000000, time.UTC); !e.OccurredAt.Equal(want) {
		t.Errorf("vca occurred_at = %v", e.OccurredAt)
	}
}

func jsonRequest(body string) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &provider.Request{Method: http.MethodPost, URL: "https://hooks.example.com/cb", Header: h, Body: []byte(body), Now: time.Now()}
}

// legacy builds a handleURL event.
func legacy(eventType, extra string) string {
	return `{"callId":"leg-1","sessionId":"s-1","eventType":"` + eventType + `","timestamp":"2019-10-16T08:12:01Z","sourceMsisdn":"6512345678","targetMsisdn":"6587654321"` + extra + `}`
}

// env builds a current webhook envelope around payload fields.
func env(eventType, payload string) string {
	return `{"namespace":"VOICE","eventType":"` + eventType + `","description":"d","payload":{"eventId":"ev-1","callId":"call-1","sessionId":"s-1","subAccountId":"account_x","callDirection":"OUTBOUND","timestamp":"2024-05-16T04:12:11.217Z"` + payload + `}}`
}

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		callID    string
		typ       voice.EventType
		status    voice.Status
		digit     string
		native    string
		message   string
		direction voice.Direction
	}{
		// Legacy handleURL.
		{"legacy received connected", legacy("CALL_RECEIVED", `,"direction":0,"status":"CONNECTED"`), "leg-1", voice.EventStatus, voice.StatusAnswered, "", "CALL_RECEIVED", "CONNECTED", voice.Inbound},
		{"legacy received outbound", legacy("CALL_RECEIVED", `,"direction":1,"status":"NOT_CONNECTED"`), "leg-1", voice.EventStatus, voice.StatusRinging, "", "CALL_RECEIVED", "NOT_CONNECTED", voice.Outbound},
		{"legacy direction as string", legacy("CALL_RECEIVED", `,"direction":"1","status":"NOT_CONNECTED"`), "leg-1", voice.EventStatus, voice.StatusRinging, "", "CALL_RECEIVED", "NOT_CONNECTED", voice.Outbound},
		{"legacy odd status", legacy("CALL_RECEIVED", `,"status":"SOMETHING"`), "leg-1", voice.EventStatus, voice.StatusUnknown, "", "CALL_RECEIVED", "SOMETHING", ""},
		{"legacy other event", legacy("CALL_ENDED", `,"status":"CONNECTED"`), "leg-1", voice.EventStatus, voice.StatusUnknown, "", "CALL_ENDED", "CONNECTED", ""},
		{"legacy dtmf number", legacy("DTMF_RECEIVED", `,"status":"CONNECTED","dtmf":12`), "leg-1", voice.EventDTMF, voice.StatusAnswered, "12", "DTMF_RECEIVED", "", ""},
		{"legacy dtmf string keeps zeros", legacy("DTMF_RECEIVED", `,"dtmf":"007#"`), "leg-1", voice.EventDTMF, voice.StatusAnswered, "007#", "DTMF_RECEIVED", "", ""},
		{"legacy dtmf big number stays exact", legacy("DTMF_RECEIVED", `,"dtmf":12345678901234567890`), "leg-1", voice.EventDTMF, voice.StatusAnswered, "12345678901234567890", "DTMF_RECEIVED", "", ""},
		// Current envelope, CALL_STATUS / CALL_ACTION.
		{"initiated", env("CALL_STATUS", `,"callStatus":"CALL_INITIATED"`), "call-1", voice.EventStatus, voice.StatusQueued, "", "CALL_STATUS", "CALL_INITIATED", voice.Outbound},
		{"received inbound", env("CALL_STATUS", `,"callStatus":"CALL_RECEIVED","callDirection":"INBOUND"`), "call-1", voice.EventStatus, voice.StatusRinging, "", "CALL_STATUS", "CALL_RECEIVED", voice.Inbound},
		{"connected", env("CALL_STATUS", `,"callStatus":"CALL_CONNECTED","sipCode":200`), "call-1", voice.EventStatus, voice.StatusAnswered, "", "CALL_STATUS", "CALL_CONNECTED sipCode=200", voice.Outbound},
		{"updated", env("CALL_STATUS", `,"callStatus":"CALL_UPDATED"`), "call-1", voice.EventStatus, voice.StatusUnknown, "", "CALL_STATUS", "CALL_UPDATED", voice.Outbound},
		{"disconnected 200", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":42,"sipCode":200`), "call-1", voice.EventStatus, voice.StatusCompleted, "", "CALL_STATUS", "CALL_DISCONNECTED callDuration=42", voice.Outbound},
		{"disconnected no sip", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED"`), "call-1", voice.EventStatus, voice.StatusCompleted, "", "CALL_STATUS", "CALL_DISCONNECTED", voice.Outbound},
		{"disconnected 486 busy", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":0,"sipCode":486`), "call-1", voice.EventStatus, voice.StatusBusy, "", "CALL_STATUS", "CALL_DISCONNECTED callDuration=0 sipCode=486", voice.Outbound},
		{"disconnected 600 busy", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":600`), "call-1", voice.EventStatus, voice.StatusBusy, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=600", voice.Outbound},
		{"disconnected 480 no answer", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":480`), "call-1", voice.EventStatus, voice.StatusNoAnswer, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=480", voice.Outbound},
		{"disconnected 408 no answer", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":"408"`), "call-1", voice.EventStatus, voice.StatusNoAnswer, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=408", voice.Outbound},
		{"disconnected 487 cancelled", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":487`), "call-1", voice.EventStatus, voice.StatusCancelled, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=487", voice.Outbound},
		{"disconnected 503 failed", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":503`), "call-1", voice.EventStatus, voice.StatusFailed, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=503", voice.Outbound},
		{"disconnected 404 failed", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","sipCode":404`), "call-1", voice.EventStatus, voice.StatusFailed, "", "CALL_STATUS", "CALL_DISCONNECTED sipCode=404", voice.Outbound},
		{"dtmf received status", env("CALL_STATUS", `,"callStatus":"DTMF_RECEIVED","eventData":{"dtmf":"2"}`), "call-1", voice.EventDTMF, voice.StatusAnswered, "2", "CALL_STATUS", "DTMF_RECEIVED", voice.Outbound},
		{"action completed without dtmf", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":{"dtmf":null},"clientActionId":"callhook-capture-1"`), "call-1", voice.EventDTMF, voice.StatusAnswered, "", "CALL_ACTION", "ACTION_COMPLETED no input clientActionId=callhook-capture-1", voice.Outbound},
		{"action completed without eventData", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","clientActionId":"ivr1_level1"`), "call-1", voice.EventStatus, voice.StatusUnknown, "", "CALL_ACTION", "ACTION_COMPLETED clientActionId=ivr1_level1", voice.Outbound},
		{"dtmf status without dtmf", env("CALL_STATUS", `,"callStatus":"DTMF_RECEIVED"`), "call-1", voice.EventDTMF, voice.StatusAnswered, "", "CALL_STATUS", "DTMF_RECEIVED no input", voice.Outbound},
		{"version 2 eventData string", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":"1"`), "call-1", voice.EventDTMF, voice.StatusAnswered, "1", "CALL_ACTION", "ACTION_COMPLETED", voice.Outbound},
		{"speech captured", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":{"dtmf":null,"asrCaptured":"acknowledge"}`), "call-1", voice.EventDTMF, voice.StatusAnswered, "", "CALL_ACTION", "ACTION_COMPLETED asrCaptured=acknowledge", voice.Outbound},
		{"unknown eventType", env("CALL_TRANSFER", `,"callStatus":"CALL_CONNECTED","sipCode":200`), "call-1", voice.EventStatus, voice.StatusUnknown, "", "CALL_TRANSFER", "CALL_CONNECTED sipCode=200", voice.Outbound},
		{"action with null eventData", env("CALL_ACTION", `,"callStatus":"CALL_RECEIVED","eventData":null`), "call-1", voice.EventStatus, voice.StatusRinging, "", "CALL_ACTION", "CALL_RECEIVED", voice.Outbound},
		{"action with multi-digit dtmf", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":{"dtmf":"787"},"clientActionId":"x"`), "call-1", voice.EventDTMF, voice.StatusAnswered, "787", "CALL_ACTION", "ACTION_COMPLETED clientActionId=x", voice.Outbound},
		{"lower-case namespace", strings.Replace(env("CALL_STATUS", `,"callStatus":"CALL_CONNECTED"`), `"VOICE"`, `"voice"`, 1), "call-1", voice.EventStatus, voice.StatusAnswered, "", "CALL_STATUS", "CALL_CONNECTED", voice.Outbound},
		// Voice Messaging.
		{"messaging dtmf", `{"uid":"vm-1","status":{"code":"DTMF","timestamp":"2024-05-16T04:12:11Z"},"destination":"+6598888888","clientRequestId":"r1","actionDetails":{"dtmf":"12345"}}`, "vm-1", voice.EventDTMF, voice.StatusAnswered, "12345", "DTMF", "", ""},
		{"messaging other status", `{"uid":"vm-1","status":{"code":"delivered"}}`, "vm-1", voice.EventStatus, voice.StatusUnknown, "", "DELIVERED", "DELIVERED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := Parse(jsonRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 {
				t.Fatalf("%d events", len(events))
			}
			e := events[0]
			if e.CallID != tt.callID || e.Type != tt.typ || e.Status != tt.status || e.Digit != tt.digit ||
				e.Native != tt.native || e.Message != tt.message || e.Direction != tt.direction {
				t.Errorf("got call_id=%q type=%q status=%q digit=%q native=%q message=%q direction=%q",
					e.CallID, e.Type, e.Status, e.Digit, e.Native, e.Message, e.Direction)
			}
			if e.OccurredAt.IsZero() && tt.native != "DELIVERED" {
				t.Error("occurred_at is zero")
			}
		})
	}
}

func TestSessionSummary(t *testing.T) {
	summary := func(status, extra string) string {
		return `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","description":"Session summary","payload":{"sessionId":"s-9","subAccountId":"account_x","sessionStatus":"` +
			status + `","startTime":"2024-05-16T04:12:00Z","endTime":"2024-05-16T04:13:00Z","lastAction":"say","callCount":1` + extra + `}}`
	}
	tests := []struct {
		name    string
		body    string
		ids     []string
		typ     voice.EventType
		status  voice.Status
		message string
		key     string
	}{
		{"completed", summary("COMPLETED", ``), []string{"s-9"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED lastAction=say", "session-summary:s-9"},
		{"completed unsubscribed", summary("COMPLETED_UNSUBSCRIBED", ``), []string{"s-9"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED_UNSUBSCRIBED lastAction=say", "session-summary:s-9"},
		{"completed unsub error", summary("COMPLETED_UNSUB_ERROR", ``), []string{"s-9"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED_UNSUB_ERROR lastAction=say", "session-summary:s-9"},
		{"no answer underscore", summary("NO_ANSWER", ``), []string{"s-9"}, voice.EventStatus, voice.StatusNoAnswer, "NO_ANSWER lastAction=say", "session-summary:s-9"},
		{"no answer space", summary("NO ANSWER", ``), []string{"s-9"}, voice.EventStatus, voice.StatusNoAnswer, "NO ANSWER lastAction=say", "session-summary:s-9"},
		{"busy", summary("BUSY", ``), []string{"s-9"}, voice.EventStatus, voice.StatusBusy, "BUSY lastAction=say", "session-summary:s-9"},
		{"canceled", summary("CANCELED", ``), []string{"s-9"}, voice.EventStatus, voice.StatusCancelled, "CANCELED lastAction=say", "session-summary:s-9"},
		{"failed", summary("FAILED", ``), []string{"s-9"}, voice.EventStatus, voice.StatusFailed, "FAILED lastAction=say", "session-summary:s-9"},
		{"error", summary("ERROR", ``), []string{"s-9"}, voice.EventError, voice.StatusFailed, "ERROR lastAction=say", "session-summary:s-9"},
		{"unsubscribed contact", summary("UNSUBSCRIBED_CONTACT", ``), []string{"s-9"}, voice.EventStatus, voice.StatusFailed, "UNSUBSCRIBED_CONTACT lastAction=say", "session-summary:s-9"},
		{"unknown status", summary("SOMETHING", ``), []string{"s-9"}, voice.EventStatus, voice.StatusUnknown, "SOMETHING lastAction=say", "session-summary:s-9"},
		{"event id wins", summary("COMPLETED", `,"eventId":"ev-7"`), []string{"s-9"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED lastAction=say", "ev-7"},
		{"call id in payload", summary("COMPLETED", `,"callId":"c-1"`), []string{"c-1"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED lastAction=say", "session-summary:s-9"},
		{"details array of legs", summary("BUSY", `,"details":[{"callId":"c-1","callDirection":"OUTBOUND"},{"callId":"c-2"},{"callId":"c-1"}]`), []string{"c-1", "c-2"}, voice.EventStatus, voice.StatusBusy, "BUSY lastAction=say", "session-summary:s-9"},
		{"details nested object", summary("COMPLETED", `,"details":{"callDetails":[{"callId":"c-3"}],"other":{"x":1}}`), []string{"c-3"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED lastAction=say", "session-summary:s-9"},
		{"details without call ids", summary("COMPLETED", `,"details":"n/a"`), []string{"s-9"}, voice.EventStatus, voice.StatusCompleted, "COMPLETED lastAction=say", "session-summary:s-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := Parse(jsonRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != len(tt.ids) {
				t.Fatalf("got %d events, want %d", len(events), len(tt.ids))
			}
			for i, e := range events {
				if e.CallID != tt.ids[i] || e.Type != tt.typ || e.Status != tt.status || e.Native != "SESSION_SUMMARY" ||
					e.Message != tt.message || e.IdempotencyKey != tt.key {
					t.Errorf("event %d: call_id=%q type=%q status=%q native=%q message=%q key=%q", i, e.CallID, e.Type, e.Status, e.Native, e.Message, e.IdempotencyKey)
				}
				if want := time.Date(2024, 5, 16, 4, 13, 0, 0, time.UTC); !e.OccurredAt.Equal(want) {
					t.Errorf("occurred_at = %v, want the end time", e.OccurredAt)
				}
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name string
		body string
		want float64 // -1: none
	}{
		{"legacy ringing zero", legacy("CALL_RECEIVED", `,"status":"NOT_CONNECTED","duration":0`), -1},
		{"legacy dtmf positive", legacy("DTMF_RECEIVED", `,"dtmf":1,"duration":8`), 8},
		{"connected zero", env("CALL_STATUS", `,"callStatus":"CALL_CONNECTED","callDuration":0`), -1},
		{"disconnected zero is kept", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":0,"sipCode":480`), 0},
		{"disconnected as string", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":"17.5"`), 17.5},
		{"negative", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":-3`), -1},
		{"garbage", env("CALL_STATUS", `,"callStatus":"CALL_DISCONNECTED","callDuration":"long"`), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := Parse(jsonRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			d := events[0].DurationS
			switch {
			case tt.want < 0 && d != nil:
				t.Errorf("duration = %v, want none", *d)
			case tt.want >= 0 && (d == nil || *d != tt.want):
				t.Errorf("duration = %v, want %v", d, tt.want)
			}
		})
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
		{"form", "application/x-www-form-urlencoded", `a=b`, provider.ErrUnsupportedMediaType, "content type"},
		{"no content type", "", `{}`, provider.ErrUnsupportedMediaType, "content type"},
		{"empty", "application/json", ``, provider.ErrBadPayload, "empty"},
		{"not json", "application/json", `nope`, provider.ErrBadPayload, "JSON object"},
		{"array", "application/json", `[{"callId":"x"}]`, provider.ErrBadPayload, "JSON object"},
		{"null", "application/json", `null`, provider.ErrBadPayload, "JSON object"},
		{"unrecognized", "application/json", `{"hello":"world"}`, provider.ErrBadPayload, "unrecognized"},
		{"legacy no callId", "application/json", `{"eventType":"CALL_RECEIVED"}`, provider.ErrBadPayload, "callId"},
		{"legacy no eventType", "application/json", `{"callId":"c"}`, provider.ErrBadPayload, "eventType"},
		{"legacy dtmf object", "application/json", legacy("DTMF_RECEIVED", `,"dtmf":{}`), provider.ErrBadPayload, "dtmf"},
		{"legacy callId object", "application/json", `{"callId":{},"eventType":"CALL_RECEIVED"}`, provider.ErrBadPayload, "handleURL"},
		{"other namespace", "application/json", strings.Replace(env("CALL_STATUS", `,"callStatus":"CALL_CONNECTED"`), `"VOICE"`, `"SMS"`, 1), provider.ErrBadPayload, "namespace"},
		{"envelope no eventType", "application/json", `{"namespace":"VOICE","payload":{"callId":"c"}}`, provider.ErrBadPayload, "eventType"},
		{"envelope no payload", "application/json", `{"namespace":"VOICE","eventType":"CALL_STATUS"}`, provider.ErrBadPayload, "payload"},
		{"envelope payload not object", "application/json", `{"namespace":"VOICE","eventType":"CALL_STATUS","payload":[1]}`, provider.ErrBadPayload, "payload"},
		{"envelope no callId", "application/json", `{"namespace":"VOICE","eventType":"CALL_STATUS","payload":{"callStatus":"CALL_CONNECTED"}}`, provider.ErrBadPayload, "payload.callId"},
		{"eventData a number", "application/json", env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":1`), provider.ErrBadPayload, "eventData"},
		{"summary no status", "application/json", `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionId":"s"}}`, provider.ErrBadPayload, "sessionStatus"},
		{"summary no ids", "application/json", `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionStatus":"COMPLETED"}}`, provider.ErrBadPayload, "sessionId"},
		{"messaging no uid", "application/json", `{"status":{"code":"DTMF"},"actionDetails":{"dtmf":"1"}}`, provider.ErrBadPayload, "uid"},
		{"messaging no code", "application/json", `{"uid":"u"}`, provider.ErrBadPayload, "status.code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsonRequest(tt.body)
			if tt.contentType == "" {
				r.Header.Del("Content-Type")
			} else {
				r.Header.Set("Content-Type", tt.contentType)
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
}

func TestSubAccountCheck(t *testing.T) {
	body := env("CALL_STATUS", `,"callStatus":"CALL_CONNECTED"`)
	tests := []struct {
		configured string
		wantErr    bool
	}{
		{"", false},
		{"account_x", false},
		{"ACCOUNT_X", false},
		{"account_y", true},
	}
	for _, tt := range tests {
		_, err := New(provider.Config{"sub_account_id": tt.configured}, provider.Deps{}).Parse(jsonRequest(body))
		if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, provider.ErrBadPayload)) {
			t.Errorf("sub_account_id %q: err = %v", tt.configured, err)
		}
	}
	// Legacy events carry no sub-account and pass.
	if _, err := New(provider.Config{"sub_account_id": "account_y"}, provider.Deps{}).Parse(jsonRequest(legacy("CALL_RECEIVED", `,"status":"CONNECTED"`))); err != nil {
		t.Errorf("legacy with sub_account_id: %v", err)
	}
}

func TestVerify(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name   string
		token  string
		header string
		ok     bool
	}{
		{"no token configured, no header", "", "", true},
		{"no token configured, any header", "", "Bearer whatever", true},
		{"bearer", "tok-123", "Bearer tok-123", true},
		{"bearer lower-case scheme", "tok-123", "bearer tok-123", true},
		{"bearer extra spaces", "tok-123", "Bearer   tok-123 ", true},
		{"basic password", "tok-123", basic("8x8", "tok-123"), true},
		{"basic password with colon", "tok:123", basic("8x8", "tok:123"), true},
		{"bare token", "tok-123", "tok-123", true},
		{"whole header configured", "Bearer tok-123", "Bearer tok-123", true},
		{"missing header", "tok-123", "", false},
		{"wrong bearer", "tok-123", "Bearer tok-124", false},
		{"prefix of token", "tok-123", "Bearer tok-12", false},
		{"token plus suffix", "tok-123", "Bearer tok-1234", false},
		{"basic wrong password", "tok-123", basic("tok-123", "nope"), false},
		{"basic token as user only", "tok-123", "Basic " + base64.StdEncoding.EncodeToString([]byte("tok-123")), false},
		{"basic not base64", "tok-123", "Basic ***", false},
		{"other scheme", "tok-123", "Digest tok-123", false},
		{"empty bearer", "tok-123", "Bearer ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsonRequest(legacy("CALL_RECEIVED", `,"status":"CONNECTED"`))
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			err := New(provider.Config{"callback_token": tt.token}, provider.Deps{}).Verify(r)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("Verify = %v, want bad signature", err)
			}
			if err != nil && tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Error("error leaks the token")
			}
		})
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "wavecell" || s.Title != "8x8 (Wavecell)" || s.SigningKey != "callback_token" || s.New == nil || s.Check == nil {
		t.Fatalf("spec = %+v", s)
	}
	for _, c := range []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback, provider.CapSignature} {
		if !s.Has(c) {
			t.Errorf("missing capability %s", c)
		}
	}
	if s.Has(provider.CapPlaceCall) || s.Has(provider.CapStatusPolling) {
		t.Error("wavecell must not claim placing calls or polling")
	}
	wantFields := map[string]bool{"sub_account_id": false, "api_key": true, "callback_token": true}
	if len(s.Fields) != len(wantFields) {
		t.Errorf("got %d fields, want %d", len(s.Fields), len(wantFields))
	}
	for k, secret := range wantFields {
		f, ok := s.Field(k)
		if !ok {
			t.Errorf("field %s missing", k)
			continue
		}
		if f.Secret != secret || f.Label == "" || f.Help == "" {
			t.Errorf("field %s = %+v", k, f)
		}
	}
	p, err := s.New(provider.Config{}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(provider.Sampler); !ok {
		t.Error("provider is not a Sampler")
	}
	for name, ok := range map[string]bool{
		"Placer":  func() bool { _, ok := p.(provider.Placer); return ok }(),
		"Poller":  func() bool { _, ok := p.(provider.Poller); return ok }(),
		"Reactor": func() bool { _, ok := p.(provider.Reactor); return ok }(),
	} {
		if ok {
			t.Errorf("provider must not be a %s", name)
		}
	}
	if !s.SignatureOff(provider.Config{}) || s.SignatureOff(provider.Config{"callback_token": "t"}) {
		t.Error("SignatureOff does not follow callback_token")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		cfg     provider.Config
		wantErr string
	}{
		{provider.Config{}, ""},
		{provider.Config{"sub_account_id": "account_x", "callback_token": "Bearer abc"}, ""},
		{provider.Config{"sub_account_id": "ab"}, "sub_account_id"},
		{provider.Config{"sub_account_id": "has space"}, "sub_account_id"},
		{provider.Config{"callback_token": "abc\ndef"}, "callback_token"},
	}
	for _, tt := range tests {
		err := Check(tt.cfg)
		if tt.wantErr == "" && err != nil {
			t.Errorf("Check(%v) = %v", tt.cfg, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Check(%v) = %v, want %q", tt.cfg, err, tt.wantErr)
		}
	}
}

func TestSampleCallback(t *testing.T) {
	p := New(provider.Config{"callback_token": "tok-123", "sub_account_id": "account_x"}, provider.Deps{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := p.SampleCallback("https://hooks.example.com/cb", "test-abc", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(r); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	events, err := p.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	e := events[0]
	if e.CallID != "test-abc" || e.Status != voice.StatusAnswered || e.Native != "CALL_STATUS" || e.IdempotencyKey == "" || !e.OccurredAt.Equal(now) {
		t.Errorf("sample = %+v", e)
	}
	rep := p.Reply(r, provider.Outcome{Events: []provider.Applied{{Event: e}}})
	if string(rep.Body) != `{}` {
		t.Errorf("sample reply = %s", rep.Body)
	}
	if _, err := p.SampleCallback("u", "", now); err == nil {
		t.Error("empty call id accepted")
	}
	r2, _ := New(provider.Config{}, provider.Deps{}).SampleCallback("u", "c", now)
	if r2.Header.Get("Authorization") != "" {
		t.Error("Authorization sent without a token")
	}
}

// TestTable checks the 8x8 table of docs/providers.md against the fixtures
// and the parser.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "wavecell", New(provider.Config{"sub_account_id": "account_x"}, provider.Deps{}))
}
