package signalwire

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/twilio/twimltest"
	"callhook/internal/voice"
)

const (
	testKey     = "PSKtest1234567890abcdef"
	testProject = "b3877c40-da60-4998-90ad-b792e98472af"
	testToken   = "PTtesttoken0123456789"
	cbURL       = "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1"
)

func request(method, rawURL, ct string, body []byte, headers map[string]string) *provider.Request {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	for k, v := range headers {
		h.Set(k, v)
	}
	return &provider.Request{Method: method, URL: rawURL, Header: h, Body: body, Now: time.Now()}
}

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	p := New(provider.Config{"signing_key": m.Secrets["signalwire_signing_key"]}, provider.Deps{})
	wrong := New(provider.Config{"signing_key": "PSKwrong"}, provider.Deps{})
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			r := fx.Request(time.Now())
			if err := p.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			evs, err := p.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
			if fx.Expected.Message != "" && evs[0].Message != fx.Expected.Message {
				t.Errorf("message %q, want %q", evs[0].Message, fx.Expected.Message)
			}
			// Each signature header verifies on its own.
			for h := range fx.Headers {
				one := fx.Request(time.Now())
				for other := range fx.Headers {
					if other != h {
						one.Header.Del(other)
					}
				}
				if err := p.Verify(one); err != nil {
					t.Errorf("Verify with only %s: %v", h, err)
				}
			}
			if err := wrong.Verify(fx.Request(time.Now())); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("wrong key: %v", err)
			}
			if err := p.Verify(providertest.Tampered(r, len(r.Body)-3)); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("changed body: %v", err)
			}
			port := fx.Request(time.Now())
			port.URL = strings.Replace(port.URL, ".com/", ".com:443/", 1)
			if err := p.Verify(port); err != nil {
				t.Errorf("Verify at %s: %v", port.URL, err)
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	m := providertest.Load(t)
	for _, fx := range m.Fixtures {
		evs, err := Parse(fx.Request(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		e := evs[0]
		switch fx.File {
		case "laml_status_completed.form":
			if e.MOS == nil || *e.MOS != 4.3 || e.DurationS == nil || *e.DurationS != 94 {
				t.Errorf("mos %v duration %v", e.MOS, e.DurationS)
			}
			if e.Raw["SipResultCode"] != "200" || e.Raw["AudioInMos"] != "4.3" || e.IdempotencyKey != fx.Expected.CallID+":3" {
				t.Errorf("raw %v key %q", e.Raw, e.IdempotencyKey)
			}
			if !e.OccurredAt.Equal(time.Date(2024, 4, 4, 18, 32, 15, 0, time.UTC)) {
				t.Errorf("occurred_at %v", e.OccurredAt)
			}
		case "relay_call_state_answered.json":
			if e.Direction != voice.Outbound || e.From != "+15551231234" || e.To != "+15553214321" {
				t.Errorf("direction %q from %q to %q", e.Direction, e.From, e.To)
			}
			if !e.OccurredAt.Equal(time.Date(2024, 4, 4, 18, 30, 46, 123e6, time.UTC)) {
				t.Errorf("occurred_at %v", e.OccurredAt)
			}
			if e.Raw["call_state"] != "answered" || e.Sequence != -1 {
				t.Errorf("raw %v sequence %d", e.Raw, e.Sequence)
			}
		}
	}
}

// TestVectors checks docs/providers.md, "SignalWire"
func TestVectors(t *testing.T) {
	const (
		saURL  = "https://example.ngrok.io/webhook"
		saBody = `{"event":"call.state","params":{"call_id":"abc-123","state":"answered"}}`
		scBody = `{"event":"call.state"}`
		scHash = "69f3cbfc18e386ef8236cb7008cd5a54b7fed637a8cb3373b5a1591d7f0fd5f4"
	)
	p5 := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	if s1, _ := SignRelay(testKey, saURL, []byte(saBody)); s1 != "c3c08c1fefaf9ee198a100d5906765a6f394bf0f" {
		t.Errorf("S-A = %s", s1)
	}
	if h := twilio.BodySHA256([]byte(scBody)); h != scHash {
		t.Errorf("S-C hash = %s", h)
	}
	tests := []struct {
		name string
		key  string
		req  *provider.Request
		ok   bool
	}{
		{"S-A", testKey, request("POST", saURL, "application/json", []byte(saBody), map[string]string{HeaderSignature: "c3c08c1fefaf9ee198a100d5906765a6f394bf0f"}), true},
		{"S-A upper-case hex", testKey, request("POST", saURL, "application/json", []byte(saBody), map[string]string{HeaderSignature: "C3C08C1FEFAF9EE198A100D5906765A6F394BF0F"}), true},
		{"S-A at :443", testKey, request("POST", "https://example.ngrok.io:443/webhook", "application/json", []byte(saBody), map[string]string{HeaderSignature: "c3c08c1fefaf9ee198a100d5906765a6f394bf0f"}), true},
		{"S-A body changed", testKey, request("POST", saURL, "application/json", []byte(strings.Replace(saBody, "answered", "answereD", 1)), map[string]string{HeaderSignature: "c3c08c1fefaf9ee198a100d5906765a6f394bf0f"}), false},
		{"S-A wrong key", "PSKother", request("POST", saURL, "application/json", []byte(saBody), map[string]string{HeaderSignature: "c3c08c1fefaf9ee198a100d5906765a6f394bf0f"}), false},
		{"S-B", "12345", request("POST", "https://mycompany.com/myapp.php?foo=1&bar=2", "application/x-www-form-urlencoded", []byte(p5.Encode()), map[string]string{HeaderSignature: "RSOYDt4T1cUTdK1PDd93/VVr8B8="}), true},
		{"S-B via X-Twilio-Signature", "12345", request("POST", "https://mycompany.com/myapp.php?foo=1&bar=2", "application/x-www-form-urlencoded", []byte(p5.Encode()), map[string]string{"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}), true},
		{"S-B wrong key", "12346", request("POST", "https://mycompany.com/myapp.php?foo=1&bar=2", "application/x-www-form-urlencoded", []byte(p5.Encode()), map[string]string{HeaderSignature: "RSOYDt4T1cUTdK1PDd93/VVr8B8="}), false},
		{"S-C", testKey, request("POST", saURL+"?bodySHA256="+scHash, "application/json", []byte(scBody), map[string]string{HeaderSignature: "dfO9ek8mxyFtn2nMz24plPmPfIY="}), true},
		{"S-C body changed", testKey, request("POST", saURL+"?bodySHA256="+scHash, "application/json", []byte(`{"event":"call.statE"}`), map[string]string{HeaderSignature: "dfO9ek8mxyFtn2nMz24plPmPfIY="}), false},
		{"no header", testKey, request("POST", saURL, "application/json", []byte(saBody), nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(provider.Config{"signing_key": tt.key}, provider.Deps{}).Verify(tt.req)
			if tt.ok != (err == nil) {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("err %v does not wrap ErrBadSignature", err)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	body := []byte(`{"event_type":"calling.call.state","params":{"call_id":"c1","call_state":"ringing"}}`)
	oldSig, _ := SignRelay("PSKold", cbURL, body)
	newSig, _ := SignRelay("PSKnew", cbURL, body)
	p := New(provider.Config{"signing_key": " PSKold, PSKnew "}, provider.Deps{})
	for _, sig := range []string{oldSig, newSig} {
		if err := p.Verify(request("POST", cbURL, "application/json", body, map[string]string{HeaderSignature: sig})); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if got := Keys("a,b c\n"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Keys = %q", got)
	}
	if err := New(provider.Config{}, provider.Deps{}).Verify(request("POST", cbURL, "application/json", body, nil)); err != nil {
		t.Errorf("Verify without a key = %v, want nil", err)
	}
}

var callhookURLs = []struct{ name, received, signed string }{
	{"local", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t"},
	{"local signed without port", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1/api/integrations/voice/callback/ch_1/s3cr3t"},
	{"public", cbURL, cbURL},
	{"public signed with :443", cbURL, strings.Replace(cbURL, ".com/", ".com:443/", 1)},
	{"public received with :443", strings.Replace(cbURL, ".com/", ".com:443/", 1), cbURL},
}

func TestCallhookURLs(t *testing.T) {
	m := providertest.Load(t)
	key := m.Secrets["signalwire_signing_key"]
	p := New(provider.Config{"signing_key": key}, provider.Deps{})
	for _, fx := range m.Fixtures {
		for _, cu := range callhookURLs {
			t.Run(fx.File+"/"+cu.name, func(t *testing.T) {
				var r *provider.Request
				if fx.ContentType == "application/json" {
					s1, s256 := SignRelay(key, cu.signed, fx.Body)
					r = request("POST", cu.received, fx.ContentType, fx.Body, map[string]string{HeaderSignature: s1, HeaderSignatureSHA256: s256})
				} else {
					params, _ := url.ParseQuery(string(fx.Body))
					r = request("POST", cu.received, fx.ContentType, fx.Body, map[string]string{HeaderSignature: twilio.Signature(key, cu.signed, params)})
				}
				if err := p.Verify(r); err != nil {
					t.Fatalf("POST Verify: %v", err)
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
				if fx.ContentType == "application/json" {
					return
				}
				sep := "?"
				if strings.Contains(cu.received, "?") {
					sep = "&"
				}
				signedGet := cu.signed + sep + string(fx.Body)
				g := request("GET", cu.received+sep+string(fx.Body), "", nil, map[string]string{"X-Twilio-Signature": twilio.Signature(key, signedGet, nil)})
				if err := p.Verify(g); err != nil {
					t.Fatalf("GET Verify: %v", err)
				}
				evs, err = p.Parse(g)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, fx.File+" GET", evs[0], fx.Expected)
			})
		}
	}
}

func TestParseCases(t *testing.T) {
	const id = "b3877c40-da60-4998-90ad-b792e98472ca"
	relay := func(event, params string) string {
		return `{"event_type":"` + event + `","timestamp":1712255446,"params":{"call_id":"` + id + `",` + params + `}}`
	}
	type want struct {
		typ     voice.EventType
		status  voice.Status
		native  string
		message string
	}
	tests := []struct {
		name string
		ct   string
		body string
		want want
		err  error
	}{
		{"inbound status change completed", "application/x-www-form-urlencoded", "CallSid=" + id + "&AccountSid=" + testProject + "&CallStatus=completed&CallDuration=12&AudioInMos=3.9&From=%2B15551234567&To=%2B15559876543",
			want{voice.EventStatus, voice.StatusCompleted, "status-callback", "CallDuration=12 AudioInMos=3.9"}, nil},
		{"inbound status change failed", "application/x-www-form-urlencoded", "CallSid=" + id + "&CallStatus=failed&SipResultCode=486",
			want{voice.EventStatus, voice.StatusFailed, "status-callback", "SipResultCode=486"}, nil},
		{"bad MOS kept in message only", "application/x-www-form-urlencoded", "CallSid=" + id + "&CallStatus=completed&AudioInMos=nan",
			want{voice.EventStatus, voice.StatusCompleted, "status-callback", "AudioInMos=nan"}, nil},
		{"created", "application/json", relay(EventCallState, `"call_state":"created"`), want{voice.EventStatus, voice.StatusQueued, EventCallState, ""}, nil},
		{"ringing", "application/json", relay(EventCallState, `"call_state":"ringing"`), want{voice.EventStatus, voice.StatusRinging, EventCallState, ""}, nil},
		{"ending", "application/json", relay(EventCallState, `"call_state":"ending"`), want{voice.EventStatus, voice.StatusUnknown, EventCallState, ""}, nil},
		{"ended hangup", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"hangup"`), want{voice.EventStatus, voice.StatusCompleted, EventCallState, ""}, nil},
		{"ended no reason", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":null`), want{voice.EventStatus, voice.StatusCompleted, EventCallState, ""}, nil},
		{"ended max_duration", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"max_duration"`), want{voice.EventStatus, voice.StatusCompleted, EventCallState, "end_reason=max_duration"}, nil},
		{"ended busy", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"busy"`), want{voice.EventStatus, voice.StatusBusy, EventCallState, "end_reason=busy"}, nil},
		{"ended noAnswer", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"noAnswer"`), want{voice.EventStatus, voice.StatusNoAnswer, EventCallState, "end_reason=noAnswer"}, nil},
		{"ended no_answer", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"no_answer"`), want{voice.EventStatus, voice.StatusNoAnswer, EventCallState, "end_reason=no_answer"}, nil},
		{"ended cancel", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"cancel"`), want{voice.EventStatus, voice.StatusCancelled, EventCallState, "end_reason=cancel"}, nil},
		{"ended abandoned", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"abandoned"`), want{voice.EventStatus, voice.StatusCancelled, EventCallState, "end_reason=abandoned"}, nil},
		{"ended decline", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"decline"`), want{voice.EventStatus, voice.StatusFailed, EventCallState, "end_reason=decline"}, nil},
		{"ended declined", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"declined"`), want{voice.EventStatus, voice.StatusFailed, EventCallState, "end_reason=declined"}, nil},
		{"ended not_found", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"not_found"`), want{voice.EventStatus, voice.StatusFailed, EventCallState, "end_reason=not_found"}, nil},
		{"ended error", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"error"`), want{voice.EventError, voice.StatusFailed, EventCallState, "end_reason=error"}, nil},
		{"ended unknown reason", "application/json", relay(EventCallState, `"call_state":"ended","end_reason":"gremlins"`), want{voice.EventStatus, voice.StatusCompleted, EventCallState, "end_reason=gremlins"}, nil},
		{"connect connecting", "application/json", relay(EventCallConnect, `"connect_state":"connecting"`), want{voice.EventStatus, voice.StatusRinging, EventCallConnect, ""}, nil},
		{"connect connected", "application/json", relay(EventCallConnect, `"connect_state":"connected"`), want{voice.EventStatus, voice.StatusAnswered, EventCallConnect, ""}, nil},
		{"connect disconnected", "application/json", relay(EventCallConnect, `"connect_state":"disconnected"`), want{voice.EventStatus, voice.StatusCompleted, EventCallConnect, ""}, nil},
		{"connect failed no_answer", "application/json", relay(EventCallConnect, `"connect_state":"failed","failed_reason":"no_answer"`), want{voice.EventStatus, voice.StatusNoAnswer, EventCallConnect, "failed_reason=no_answer"}, nil},
		{"connect failed other", "application/json", relay(EventCallConnect, `"connect_state":"failed","failed_reason":"hangup"`), want{voice.EventStatus, voice.StatusFailed, EventCallConnect, "failed_reason=hangup"}, nil},
		{"other event", "application/json", relay("calling.call.play", `"state":"playing"`), want{voice.EventStatus, voice.StatusUnknown, "calling.call.play", "state=playing"}, nil},
		{"dial event", "application/json", `{"event_type":"calling.call.dial","params":{"tag":"t","dial_state":"answered","call":{"call_id":"` + id + `","call_state":"answered"}}}`, want{voice.EventStatus, voice.StatusUnknown, "calling.call.dial", "dial_state=answered"}, nil},
		{"SWML request without event_type", "application/json", `{"app_name":"swml app","call_id":"` + id + `","post_prompt_data":{"raw":"done"}}`, want{voice.EventStatus, voice.StatusUnknown, nativeSWML, ""}, nil},
		{"collect digit without digits", "application/json", relay(EventCallCollect, `"result":{"type":"digit","params":{"digits":"","terminator":"#"}}`), want{voice.EventDTMF, voice.StatusAnswered, EventCallCollect, "result=digit terminator=#"}, nil},
		{"collect without result", "application/json", relay(EventCallCollect, `"state":"collecting"`), want{voice.EventStatus, voice.StatusAnswered, EventCallCollect, "state=collecting"}, nil},
		{"detect without detector", "application/json", relay(EventCallDetect, `"control_id":"x"`), want{voice.EventStatus, voice.StatusUnknown, EventCallDetect, ""}, nil},
		{"detect digit finished", "application/json", relay(EventCallDetect, `"detect":{"type":"digit","params":{"event":"finished"}}`), want{voice.EventStatus, voice.StatusAnswered, EventCallDetect, "digit=finished"}, nil},
		{"collect with odd confidence", "application/json", relay(EventCallCollect, `"result":{"type":"speech","params":{"text":"yes","confidence":"high"}}`), want{voice.EventDTMF, voice.StatusAnswered, EventCallCollect, "speech=yes"}, nil},
		{"missing call_id", "application/json", `{"event_type":"calling.call.state","params":{"call_state":"ringing"}}`, want{}, provider.ErrBadPayload},
		{"missing call_state", "application/json", relay(EventCallState, `"x":1`), want{}, provider.ErrBadPayload},
		{"not an object", "application/json", `[1]`, want{}, provider.ErrBadPayload},
		{"wrong types", "application/json", `{"event_type":1}`, want{}, provider.ErrBadPayload},
		{"missing CallSid", "application/x-www-form-urlencoded", "CallStatus=ringing", want{}, provider.ErrBadPayload},
		{"xml", "text/xml", "<x/>", want{}, provider.ErrUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Parse(request("POST", cbURL, tt.ct, []byte(tt.body), nil))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := evs[0]
			if got := (want{e.Type, e.Status, e.Native, e.Message}); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if e.CallID != id {
				t.Errorf("call id %q", e.CallID)
			}
		})
	}
}

func TestReply(t *testing.T) {
	m := providertest.Load(t)
	p := New(nil, provider.Deps{})
	for _, fx := range m.Fixtures {
		r := fx.Request(time.Now())
		rep := p.Reply(r, provider.Outcome{Prompt: "Press 1 to acknowledge.", Events: []provider.Applied{{Event: voice.Event{Type: voice.EventDTMF, Digit: "42"}}}})
		switch {
		case fx.ContentType == "application/json":
			var body map[string]any
			if rep.Status != http.StatusOK || rep.ContentType != "application/json" || json.Unmarshal(rep.Body, &body) != nil || body["ok"] != true {
				t.Errorf("%s: reply %d %q %s", fx.File, rep.Status, rep.ContentType, rep.Body)
			}
		case fx.Expected.Action == "gather":
			d := twimltest.Parse(t, rep)
			if twimltest.Shape(d.Verbs) != "Say Gather(Say) Say" || d.Verbs[1].Attr("action") != fx.URL {
				t.Errorf("%s: gather reply %s", fx.File, rep.Body)
			}
		default:
			if d := twimltest.Parse(t, rep); len(d.Verbs) != 0 {
				t.Errorf("%s: status reply %s", fx.File, rep.Body)
			}
		}
	}
	// An acknowledged alert ends the call.
	gather := request("POST", cbURL, "application/x-www-form-urlencoded", []byte("CallSid=x&CallStatus=in-progress&Digits=1"), nil)
	d := twimltest.Parse(t, p.Reply(gather, provider.Outcome{Events: []provider.Applied{{Event: voice.Event{Type: voice.EventDTMF, Digit: "1"},
		Action: voice.ActionAcknowledge, Changed: true}}}))
	if twimltest.Shape(d.Verbs) != "Say Hangup" || d.Verbs[0].Text != "Alert acknowledged." {
		t.Errorf("ack reply %+v", d)
	}
}

func TestPlaceAndFetch(t *testing.T) {
	const callID = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"
	calls := "/api/laml/2010-04-01/Accounts/" + testProject + "/Calls"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != testProject || pw != testToken {
			t.Errorf("basic auth %q %v", u, ok)
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == calls+".json":
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			f := r.PostForm
			if f.Get("To") != "+15559876543" || f.Get("From") != "+15551234567" || f.Get("StatusCallback") != cbURL || f.Get("StatusCallbackMethod") != "POST" {
				t.Errorf("form %v", f)
			}
			if got := f["StatusCallbackEvent"]; !slices.Equal(got, []string{"initiated", "ringing", "answered", "completed"}) {
				t.Errorf("StatusCallbackEvent %q", got)
			}
			d := twimltest.Unmarshal(t, []byte(f.Get("Twiml")))
			if twimltest.Shape(d.Verbs) != "Gather(Say) Say" || d.Verbs[0].Attr("action") != cbURL {
				t.Errorf("Twiml %s", f.Get("Twiml"))
			}
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"sid":"` + callID + `","status":"queued"}`))
		case r.Method == http.MethodGet && r.URL.Path == calls+"/"+callID+".json":
			w.Write([]byte(`{"sid":"` + callID + `","status":"in-progress","direction":"outbound-api","duration":null}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := provider.Config{"space_url": "example.signalwire.com", "project_id": testProject, "api_token": testToken, "from": "+15551234567"}
	p := New(cfg, provider.Deps{BaseURL: srv.URL, HTTPClient: srv.Client()})
	placed, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "+15559876543", Message: "Disk full.", Prompt: "Press 1.", CallbackURL: cbURL})
	if err != nil {
		t.Fatal(err)
	}
	if placed.ProviderCallID != callID || placed.Status != voice.StatusQueued {
		t.Errorf("placed %+v", placed)
	}
	e, err := p.FetchCall(context.Background(), callID)
	if err != nil {
		t.Fatal(err)
	}
	if e.CallID != callID || e.Status != voice.StatusAnswered || e.Native != "poll" || e.DurationS != nil {
		t.Errorf("fetched %+v", e)
	}
	noSpace := New(provider.Config{"project_id": testProject, "api_token": testToken}, provider.Deps{})
	if _, err := noSpace.PlaceCall(context.Background(), provider.PlaceRequest{To: "+1", CallbackURL: cbURL}); err == nil || !strings.Contains(err.Error(), "space_url") {
		t.Errorf("PlaceCall without space_url: %v", err)
	}
	if _, err := noSpace.FetchCall(context.Background(), callID); err == nil {
		t.Error("FetchCall without space_url succeeded")
	}
}

func TestSampleCallback(t *testing.T) {
	p := New(provider.Config{"signing_key": testKey, "project_id": testProject}, provider.Deps{})
	now := time.Date(2024, 4, 4, 18, 30, 41, 0, time.UTC)
	for _, id := range []string{"b3877c40-da60-4998-90ad-b792e98472ca", ""} {
		r, err := p.SampleCallback(cbURL, id, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Get(HeaderSignature) == "" {
			t.Fatal("sample is unsigned")
		}
		if err := p.Verify(r); err != nil {
			t.Fatal(err)
		}
		evs, err := p.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		if e := evs[0]; (id != "" && e.CallID != id) || !isUUID(e.CallID) || e.Status != voice.StatusRinging || !e.OccurredAt.Equal(now) {
			t.Errorf("sample %+v", e)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "signalwire" || s.SigningKey != "signing_key" || !s.Has(provider.CapPlaceCall) {
		t.Errorf("spec %+v", s)
	}
	for _, k := range []string{"api_token", "signing_key"} {
		if f, ok := s.Field(k); !ok || !f.Secret {
			t.Errorf("%s is not secret", k)
		}
	}
	tests := []struct {
		cfg provider.Config
		bad string
	}{
		{provider.Config{"space_url": "example.signalwire.com", "project_id": testProject, "from": "+15551234567"}, ""},
		{provider.Config{"space_url": "https://example.signalwire.com/"}, ""},
		{provider.Config{}, ""},
		{provider.Config{"space_url": "https://example.signalwire.com/api/laml"}, "space_url"},
		{provider.Config{"space_url": "ftp://example.signalwire.com"}, "space_url"},
		{provider.Config{"project_id": "AC0123456789abcdef0123456789abcdef"}, "project_id"},
		{provider.Config{"from": "5551234567"}, "from"},
	}
	for _, tt := range tests {
		err := s.Check(tt.cfg)
		if (tt.bad == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.bad+":")) {
			t.Errorf("Check(%v) = %v, want error on %q", tt.cfg, err, tt.bad)
		}
	}
	if got, _ := SpaceURL(" example.signalwire.com/ "); got != "https://example.signalwire.com" {
		t.Errorf("SpaceURL = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte(`{"event_type":"calling.call.connect","params":{"call_id":"x","connect_state":"failed","failed_reason":"error"}}`))
	f.Add([]byte(`{"event_type":"calling.call.state","timestamp":"1e300","params":{"call_id":"x","call_state":"ended"}}`))
	f.Add([]byte(`{"event_type":"calling.call.collect","params":{"call_id":"x","final":false,"result":{"type":"digit","params":{"digits":"1"}}}}`))
	f.Add([]byte(`{"event_type":"calling.call.detect","params":{"call_id":"x","detect":{"type":"machine","params":{"event":"READY","beep":true}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
			r := request("POST", cbURL, ct, body, nil)
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
			_ = New(nil, provider.Deps{}).Reply(r, provider.Outcome{Events: []provider.Applied{{Event: evs[0]}}})
		}
	})
}

func FuzzVerify(f *testing.F) {
	m := providertest.Load(f)
	for _, fx := range m.Fixtures {
		sig := fx.Headers[HeaderSignature]
		f.Add(fx.Body, fx.URL, fx.ContentType, sig, fx.Headers[HeaderSignatureSHA256])
	}
	p := New(provider.Config{"signing_key": m.Secrets["signalwire_signing_key"]}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte, rawURL, ct, sig, sig256 string) {
		for _, method := range []string{"POST", "GET"} {
			r := request(method, rawURL, ct, body, map[string]string{HeaderSignature: sig, HeaderSignatureSHA256: sig256})
			if err := p.Verify(r); err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("Verify error %v does not wrap ErrBadSignature", err)
			}
		}
	})
}

// TestTable checks the SignalWire table of docs/providers.md against the
// fixtures it names.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "signalwire", New(provider.Config{}, provider.Deps{}))
}
