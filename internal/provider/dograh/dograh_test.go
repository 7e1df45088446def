package dograh

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/twilio/twimltest"
	"callhook/internal/voice"
)

const cbURL = "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1"

func formRequest(method, rawURL string, body string, sig string) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		h.Set(twilio.HeaderSignature, sig)
	}
	r := &provider.Request{Method: method, URL: rawURL, Header: h, Body: []byte(body), Now: time.Now()}
	if method == http.MethodGet {
		r.Body = nil
	}
	return r
}

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	token := m.Secrets["twilio_auth_token"]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	wrong := New(provider.Config{"auth_token": strings.Repeat("e", 32)}, provider.Deps{})
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
			providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
			if fx.Expected.Message != "" && evs[0].Message != fx.Expected.Message {
				t.Errorf("message %q, want %q", evs[0].Message, fx.Expected.Message)
			}
			if err := wrong.Verify(fx.Request(time.Now())); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("wrong token: %v", err)
			}
			if err := p.Verify(providertest.Tampered(r, len(r.Body)/3)); !errors.Is(err, provider.ErrBadSignature) {
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

// TestOfficialVectors runs the form vectors of docs/providers.md, "Dograh" through
// Dograh's Verify, which must behave exactly as Twilio's.
func TestOfficialVectors(t *testing.T) {
	p5 := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	p7 := url.Values{"Reason": {"Participant"}, "ReasonConferenceEnded": {"test"}}
	for k, v := range p5 {
		p7[k] = v
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	tests := []struct {
		name, url string
		params    url.Values
		sig       string
		ok        bool
	}{
		{"T1", u, p5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"T2", u, p5, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"T4", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", p5, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", true},
		{"T5", u, url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", true},
		{"T16", u, p7, "vOEb5UThFn24KEfnOFLQY2AE5FY=", true},
		{"T17", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", p7, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", true},
		{"T18", u, p7, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", false},
		{"T19", u, url.Values{"property": {"value"}, "boolean": {"true"}}, "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", true},
	}
	p := New(provider.Config{"auth_token": "12345"}, provider.Deps{})
	for _, tt := range tests {
		err := p.Verify(formRequest(http.MethodPost, tt.url, tt.params.Encode(), tt.sig))
		if tt.ok != (err == nil) {
			t.Errorf("%s: Verify = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestCallhookURLs(t *testing.T) {
	m := providertest.Load(t)
	token := m.Secrets["twilio_auth_token"]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	urls := []struct{ name, received, signed string }{
		{"local", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t"},
		{"local signed without port", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1/api/integrations/voice/callback/ch_1/s3cr3t"},
		{"public", cbURL, cbURL},
		{"public signed with :443", cbURL, strings.Replace(cbURL, ".com/", ".com:443/", 1)},
	}
	for _, fx := range m.Fixtures {
		params, err := url.ParseQuery(string(fx.Body))
		if err != nil {
			t.Fatal(err)
		}
		for _, cu := range urls {
			t.Run(fx.File+"/"+cu.name, func(t *testing.T) {
				post := formRequest(http.MethodPost, cu.received, string(fx.Body), twilio.Signature(token, cu.signed, params))
				sep := "?"
				if strings.Contains(cu.received, "?") {
					sep = "&"
				}
				get := formRequest(http.MethodGet, cu.received+sep+string(fx.Body), "", twilio.Signature(token, cu.signed+sep+string(fx.Body), nil))
				for _, r := range []*provider.Request{post, get} {
					if err := p.Verify(r); err != nil {
						t.Fatalf("%s Verify: %v", r.Method, err)
					}
					evs, err := p.Parse(r)
					if err != nil {
						t.Fatalf("%s Parse: %v", r.Method, err)
					}
					providertest.CheckEvent(t, fx.File+" "+r.Method, evs[0], fx.Expected)
				}
			})
		}
	}
}

func TestVocabulary(t *testing.T) {
	tests := []struct {
		native string
		status voice.Status
		typ    voice.EventType
	}{
		{"initiated", voice.StatusQueued, voice.EventStatus},
		{"queued", voice.StatusQueued, voice.EventStatus},
		{"ringing", voice.StatusRinging, voice.EventStatus},
		{"in-progress", voice.StatusAnswered, voice.EventStatus},
		{"answered", voice.StatusAnswered, voice.EventStatus},
		{"completed", voice.StatusCompleted, voice.EventStatus},
		{"failed", voice.StatusFailed, voice.EventStatus},
		{"busy", voice.StatusBusy, voice.EventStatus},
		{"no-answer", voice.StatusNoAnswer, voice.EventStatus},
		{"canceled", voice.StatusCancelled, voice.EventStatus},
		{"error", voice.StatusFailed, voice.EventError},
		{"ERROR", voice.StatusFailed, voice.EventError},
		{"Completed", voice.StatusCompleted, voice.EventStatus},
		{"transferred", voice.StatusUnknown, voice.EventStatus},
	}
	for _, tt := range tests {
		body := url.Values{"CallSid": {"CA1"}, "CallStatus": {tt.native}, "ErrorMessage": {"boom"}}.Encode()
		evs, err := Parse(formRequest(http.MethodPost, cbURL, body, ""))
		if err != nil {
			t.Fatalf("%s: %v", tt.native, err)
		}
		e := evs[0]
		if e.Status != tt.status || e.Type != tt.typ || e.Native != twilio.NativeStatus || e.Message != "ErrorMessage=boom" || e.Raw["CallStatus"] != tt.native {
			t.Errorf("%s: got %s/%s native %q message %q", tt.native, e.Status, e.Type, e.Native, e.Message)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		body string
		err  error
	}{
		{"json", "application/json", `{"CallSid":"CA1"}`, provider.ErrUnsupportedMediaType},
		{"text", "text/plain", "CallSid=CA1&CallStatus=ringing", provider.ErrUnsupportedMediaType},
		{"missing CallSid", "application/x-www-form-urlencoded", "CallStatus=ringing", provider.ErrBadPayload},
		{"missing CallStatus", "application/x-www-form-urlencoded", "CallSid=CA1", provider.ErrBadPayload},
	}
	for _, tt := range tests {
		r := formRequest(http.MethodPost, cbURL, tt.body, "")
		r.Header.Set("Content-Type", tt.ct)
		if _, err := Parse(r); !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestReply(t *testing.T) {
	p := New(nil, provider.Deps{})
	status := formRequest(http.MethodPost, cbURL, "CallSid=CA1&CallStatus=completed&CallbackSource=call-progress-events", "")
	if d := twimltest.Parse(t, p.Reply(status, provider.Outcome{})); len(d.Verbs) != 0 {
		t.Errorf("status reply has verbs %s", twimltest.Shape(d.Verbs))
	}
	gather := formRequest(http.MethodPost, cbURL, "CallSid=CA1&CallStatus=in-progress&Digits=9", "")
	d := twimltest.Parse(t, p.Reply(gather, provider.Outcome{Prompt: "Press 1.", Events: []provider.Applied{{Event: voice.Event{Type: voice.EventDTMF, Digit: "9"}}}}))
	if twimltest.Shape(d.Verbs) != "Say Gather(Say) Say" || d.Verbs[1].Attr("action") != cbURL || d.Verbs[1].Nodes[0].Text != "Press 1." {
		t.Errorf("gather reply %+v", d)
	}
}

func TestSampleCallback(t *testing.T) {
	token := "0123456789abcdef0123456789abcdef"
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	r, err := p.SampleCallback(cbURL, "CAfedcba9876543210fedcba9876543210", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(r); err != nil {
		t.Fatal(err)
	}
	evs, err := p.Parse(r)
	if err != nil || evs[0].Status != voice.StatusRinging {
		t.Fatalf("sample parse: %v %+v", err, evs)
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "dograh" || s.SigningKey != "auth_token" || s.Has(provider.CapPlaceCall) {
		t.Errorf("spec %+v", s)
	}
	if f, ok := s.Field("auth_token"); !ok || !f.Secret {
		t.Error("auth_token is not secret")
	}
	if err := s.Check(provider.Config{"auth_token": "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Error(err)
	}
	if err := s.Check(provider.Config{"auth_token": "nope"}); err == nil || !strings.HasPrefix(err.Error(), "auth_token:") {
		t.Errorf("Check(bad token) = %v", err)
	}
	if err := New(nil, provider.Deps{}).Verify(formRequest(http.MethodPost, cbURL, "a=b", "")); err != nil {
		t.Errorf("Verify without a token = %v", err)
	}
	pr, err := s.New(provider.Config{}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pr.(provider.Placer); ok {
		t.Error("dograh must not place calls")
	}
}

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			r := formRequest(method, "https://h.example/cb?"+string(body), string(body), "")
			evs, err := Parse(r)
			if err != nil {
				if !errors.Is(err, provider.ErrBadPayload) && !errors.Is(err, provider.ErrUnsupportedMediaType) {
					t.Fatalf("error %v wraps no sentinel", err)
				}
				continue
			}
			if e := evs[0]; e.CallID == "" || !e.Type.Valid() || !e.Status.Valid() {
				t.Fatalf("invalid event %+v", e)
			}
			_ = New(nil, provider.Deps{}).Reply(r, provider.Outcome{Events: []provider.Applied{{Event: evs[0]}}})
		}
	})
}

func FuzzVerify(f *testing.F) {
	m := providertest.Load(f)
	for _, fx := range m.Fixtures {
		f.Add(fx.Body, fx.URL, fx.Headers[twilio.HeaderSignature])
	}
	p := New(provider.Config{"auth_token": m.Secrets["twilio_auth_token"]}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte, rawURL, sig string) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			r := formRequest(method, rawURL, string(body), sig)
			if err := p.Verify(r); err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("Verify error %v does not wrap ErrBadSignature", err)
			}
		}
	})
}

// TestTable checks the Dograh table of docs/providers.md against the
// fixtures it names.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "dograh", New(provider.Config{}, provider.Deps{}))
}
