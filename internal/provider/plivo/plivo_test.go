package plivo

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

// Official plivo-go vectors (docs/providers.md, "Plivo").
const (
	vecToken = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
	vecNonce = "31627761595286130198"
	vecURL   = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
)

const callhookURL = "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixtureToken(m providertest.Manifest, fx providertest.Fixture) string {
	if fx.File == "answer_official_vector.form" {
		return vecToken
	}
	return m.Secrets["plivo_auth_token"]
}

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			p := New(provider.Config{"auth_token": fixtureToken(m, fx)}, provider.Deps{})
			r := fx.Request(now)
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
			e := evs[0]
			providertest.CheckEvent(t, fx.File, e, fx.Expected)
			if e.Message != fx.Expected.Message {
				t.Errorf("message = %q, want %q", e.Message, fx.Expected.Message)
			}
			if e.Sequence != -1 || !e.OccurredAt.IsZero() {
				t.Errorf("sequence = %d, occurred_at = %v", e.Sequence, e.OccurredAt)
			}
			// A wrong token must fail on every fixture.
			wrong := New(provider.Config{"auth_token": "not-the-token"}, provider.Deps{})
			if err := wrong.Verify(fx.Request(now)); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("wrong token: %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	m := providertest.Load(t)
	events := map[string]voice.Event{}
	for _, fx := range m.Fixtures {
		evs, err := Parse(fx.Request(now))
		if err != nil {
			t.Fatal(err)
		}
		events[fx.File] = evs[0]
	}
	done := events["hangup_completed.form"]
	if done.DurationS == nil || *done.DurationS != 42 || done.Direction != voice.Outbound ||
		done.From != "14155550123" || done.To != "12125550199" {
		t.Errorf("hangup_completed = %+v", done)
	}
	if done.IdempotencyKey != "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21|Hangup|completed" {
		t.Errorf("idempotency key = %q", done.IdempotencyKey)
	}
	if done.Raw["HangupCauseCode"] != "4000" || done.Raw["RequestUUID"] != "e3c6a5d2-7b41-4c1e-9a8f-1d2c3b4a5f60" ||
		done.Raw["EndTime"] != "2025-01-14 10:15:51" {
		t.Errorf("raw = %v", done.Raw)
	}
	busy := events["hangup_busy.form"]
	if busy.DurationS == nil || *busy.DurationS != 0 {
		t.Errorf("busy duration = %v", busy.DurationS)
	}
	in := events["getinput_dtmf.form"]
	if in.IdempotencyKey != "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a|GetInput|in-progress|1234" || in.Direction != voice.Inbound {
		t.Errorf("getinput = %+v", in)
	}
	ring := events["ring_outbound.form"]
	if ring.IdempotencyKey != "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21|Ring|ringing" {
		t.Errorf("ring key = %q", ring.IdempotencyKey)
	}
}

func TestOfficialVectors(t *testing.T) {
	m := providertest.Load(t)
	var body []byte
	for _, fx := range m.Fixtures {
		if fx.File == "answer_official_vector.form" {
			body = fx.Body
		}
	}
	params, err := url.ParseQuery(string(body))
	if err != nil || len(params) != 13 {
		t.Fatalf("vector params: %d, %v", len(params), err)
	}
	tests := []struct {
		name, method, url, want string
	}{
		{"P-V3-1 POST with query", http.MethodPost, vecURL + "/?a=b&c=d", "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="},
		{"P-V3-2 GET with query", http.MethodGet, vecURL + "/?a=b&c=d", "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="},
		{"P-V3-3 POST", http.MethodPost, vecURL, "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="},
		{"P-V3-4 GET", http.MethodGet, vecURL, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignV3(vecToken, tt.method, tt.url, vecNonce, params); got != tt.want {
				t.Errorf("SignV3 = %s, want %s", got, tt.want)
			}
			if got := SignV3(vecToken+"x", tt.method, tt.url, vecNonce, params); got == tt.want {
				t.Error("another token gives the same signature")
			}
		})
	}

	// P-V2, and the local V2 values of the fixtures.
	if got := SignV2("my_auth_token", "https://answer.url", "12345"); got != "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=" {
		t.Errorf("P-V2 = %s", got)
	}
	if got := SignV2("my_auth_tokens", "https://answer.url", "12345"); got == "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=" {
		t.Error("P-V2 with my_auth_tokens must fail")
	}
	for _, fx := range m.Fixtures {
		if v2 := fx.Headers[HeaderV2]; v2 != "" {
			if got := SignV2(m.Secrets["plivo_auth_token"], fx.URL, fx.Headers[HeaderV2Nonce]); got != v2 {
				t.Errorf("%s: SignV2 = %s, want %s", fx.File, got, v2)
			}
		}
	}
}

// TestVerifyVectorRequests runs the official vectors through Verify as
// requests (GET carries the parameters in the query).
func TestVerifyVectorRequests(t *testing.T) {
	m := providertest.Load(t)
	var body []byte
	for _, fx := range m.Fixtures {
		if fx.File == "answer_official_vector.form" {
			body = fx.Body
		}
	}
	p := New(provider.Config{"auth_token": vecToken}, provider.Deps{})
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, HeaderV3Nonce: {vecNonce}}
	post := &provider.Request{Method: http.MethodPost, URL: vecURL + "/?a=b&c=d", Body: body, Header: form.Clone()}
	post.Header.Set(HeaderV3, "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c=")
	if err := p.Verify(post); err != nil {
		t.Errorf("P-V3-1 request: %v", err)
	}
	get := &provider.Request{Method: http.MethodGet, URL: vecURL + "?" + string(body), Header: http.Header{HeaderV3Nonce: {vecNonce}}}
	get.Header.Set(HeaderV3, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc=")
	if err := p.Verify(get); err != nil {
		t.Errorf("P-V3-4 request: %v", err)
	}
	evs, err := p.Parse(get)
	if err != nil || evs[0].Native != "StartApp" || evs[0].Status != voice.StatusAnswered {
		t.Errorf("P-V3-4 request parses to %+v, %v", evs, err)
	}
}

func TestVerifyNegative(t *testing.T) {
	m := providertest.Load(t)
	var fx providertest.Fixture
	for _, f := range m.Fixtures {
		if f.File == "hangup_completed.form" {
			fx = f
		}
	}
	token := m.Secrets["plivo_auth_token"]
	sig := fx.Headers[HeaderV3]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	tests := []struct {
		name   string
		mutate func(r *provider.Request)
		want   error
		msg    string
	}{
		{"as is", func(*provider.Request) {}, nil, ""},
		{"one body byte flipped", func(r *provider.Request) {
			i := strings.Index(string(r.Body), "Duration=42") + len("Duration=4")
			r.Body[i] = '3'
		}, provider.ErrBadSignature, "does not match"},
		{"parameter added", func(r *provider.Request) { r.Body = append(r.Body, "&Digits=1"...) }, provider.ErrBadSignature, ""},
		{"query added to the URL", func(r *provider.Request) { r.URL += "?a=b" }, provider.ErrBadSignature, ""},
		{"other path", func(r *provider.Request) { r.URL = strings.Replace(r.URL, "/hangup", "/ring", 1) }, provider.ErrBadSignature, ""},
		{"other nonce", func(r *provider.Request) { r.Header.Set(HeaderV3Nonce, "1") }, provider.ErrBadSignature, ""},
		{"method GET", func(r *provider.Request) {
			r.Method = http.MethodGet
			r.URL += "?" + string(r.Body)
			r.Body = nil
		}, provider.ErrBadSignature, ""},
		{"no nonce", func(r *provider.Request) { r.Header.Del(HeaderV3Nonce) }, provider.ErrBadSignature, HeaderV3Nonce},
		{"no V3, V2 only", func(r *provider.Request) { r.Header.Del(HeaderV3) }, provider.ErrBadSignature, "V2"},
		{"no signature at all", func(r *provider.Request) {
			r.Header.Del(HeaderV3)
			r.Header.Del(HeaderV2)
		}, provider.ErrBadSignature, "missing"},
		{"several signatures, one right", func(r *provider.Request) {
			r.Header.Set(HeaderV3, "AAAA, "+sig+",BBBB")
		}, nil, ""},
		{"several signatures, none right", func(r *provider.Request) {
			r.Header.Set(HeaderV3, "AAAA,,BBBB, ")
		}, provider.ErrBadSignature, ""},
		{"only Ma-V3", func(r *provider.Request) {
			r.Header.Del(HeaderV3)
			r.Header.Set(HeaderMaV3, sig)
		}, nil, ""},
		{"V3 wrong, Ma-V3 right", func(r *provider.Request) {
			r.Header.Set(HeaderV3, "c29tZXRoaW5nIGVsc2U=")
			r.Header.Set(HeaderMaV3, sig)
		}, nil, ""},
		{"JSON body", func(r *provider.Request) { r.Header.Set("Content-Type", "application/json") }, provider.ErrBadSignature, "cannot carry"},
		{"broken form body", func(r *provider.Request) { r.Body = append(r.Body, "&%zz"...) }, provider.ErrBadSignature, ""},
		{"unparseable URL", func(r *provider.Request) { r.URL = "/no/host" }, provider.ErrBadSignature, "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fx.Request(now)
			tt.mutate(r)
			err := p.Verify(r)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestVerifyOffWithoutToken(t *testing.T) {
	p := New(provider.Config{"auth_id": "MAXXXXXXXXXXXXXXXXXX"}, provider.Deps{})
	r := &provider.Request{Method: http.MethodPost, URL: callhookURL, Header: http.Header{}, Body: []byte("CallUUID=x")}
	if err := p.Verify(r); err != nil {
		t.Fatalf("Verify without a token: %v", err)
	}
	if !Spec().SignatureOff(provider.Config{}) || Spec().SignatureOff(provider.Config{"auth_token": "t"}) {
		t.Error("SignatureOff does not follow auth_token")
	}
}

// TestResignedForCallhook re-signs every fixture for callhook's own callback
// URL, with and without a query string of its own, as POST and as GET.
func TestResignedForCallhook(t *testing.T) {
	m := providertest.Load(t)
	token := m.Secrets["plivo_auth_token"]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	nonce := Nonce()
	for _, base := range []string{callhookURL, callhookURL + "?a=b", callhookURL + "/?a=b&c=d%20e"} {
		for _, fx := range m.Fixtures {
			// A GET fixture carries its parameters in its URL's query.
			params, err := url.ParseQuery(string(fx.Body))
			if fx.Method == http.MethodGet {
				params = fx.Request(now).Query()
			}
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(params.Encode())
			t.Run("POST "+base+" "+fx.File, func(t *testing.T) {
				r := &provider.Request{Method: http.MethodPost, URL: base, Body: body, Header: http.Header{
					"Content-Type": {"application/x-www-form-urlencoded"}, HeaderV3Nonce: {nonce},
					HeaderV3: {SignV3(token, http.MethodPost, base, nonce, params)}}}
				if err := p.Verify(r); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
				r.Body = append([]byte("Extra=1&"), r.Body...)
				if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
					t.Errorf("tampered POST: %v", err)
				}
			})
			t.Run("GET "+base+" "+fx.File, func(t *testing.T) {
				sep := "?"
				if strings.Contains(base, "?") {
					sep = "&"
				}
				u := base + sep + string(body)
				r := &provider.Request{Method: http.MethodGet, URL: u, Header: http.Header{HeaderV3Nonce: {nonce}}}
				r.Header.Set(HeaderV3, SignV3(token, http.MethodGet, u, nonce, r.Query()))
				if err := p.Verify(r); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				// Signing with the parameters alone gives the same value.
				if got := SignV3(token, http.MethodGet, u, nonce, nil); got != r.Header.Get(HeaderV3) {
					t.Errorf("GET signature depends on passing the query twice")
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
				r.URL = u + "&Extra=1"
				if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
					t.Errorf("tampered GET: %v", err)
				}
			})
		}
	}
}

func TestCanonicalV3(t *testing.T) {
	tests := []struct {
		name, method, url string
		params            url.Values
		want              string
	}{
		{"POST no query no params", "POST", "https://h.example/p/", nil, "https://h.example/p/"},
		{"POST query only", "POST", "https://h.example/p?b=2&a=1", nil, "https://h.example/p?a=1&b=2"},
		{"POST params only", "POST", "https://h.example/p", url.Values{"B": {"2"}, "A": {"1"}}, "https://h.example/p?A1B2"},
		{"POST query and params", "POST", "https://h.example/p?x=1", url.Values{"A": {"1"}}, "https://h.example/p?x=1.A1"},
		{"POST decoded values, sorted repeats", "POST", "https://h.example:8443/p?q=a%20b", url.Values{"K": {"z", "y"}},
			"https://h.example:8443/p?q=a b.KyKz"},
		{"GET merges, URL wins", "GET", "https://h.example/p?A=url", url.Values{"A": {"param"}, "B": {"2"}}, "https://h.example/p?A=url&B=2"},
		{"GET nothing", "get", "https://h.example/p", nil, "https://h.example/p"},
		{"fragment dropped", "POST", "https://h.example/p#frag", nil, "https://h.example/p"},
	}
	for _, tt := range tests {
		got, ok := canonicalV3(tt.method, tt.url, tt.params)
		if !ok || got != tt.want {
			t.Errorf("%s: canonicalV3 = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := canonicalV3("POST", "no-scheme", nil); ok {
		t.Error("a URL without scheme and host must not sign")
	}
	if SignV3("t", "POST", "::", "n", nil) != "" || SignV2("t", "/x", "n") != "" {
		t.Error("unparseable URLs must give an empty signature")
	}
}

func TestParse(t *testing.T) {
	const id = "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21"
	tests := []struct {
		name string
		form string
		want providertest.Expected
		msg  string
	}{
		{"inbound answer while ringing", "CallUUID=" + id + "&Event=StartApp&CallStatus=ringing&Direction=inbound",
			providertest.Expected{CallID: id, EventType: "status", Status: "ringing", Action: "StartApp"}, ""},
		{"hangup no answer", "CallUUID=" + id + "&Event=Hangup&CallStatus=no-answer&HangupCause=NO_ANSWER",
			providertest.Expected{CallID: id, EventType: "status", Status: "no_answer", Action: "Hangup"}, "NO_ANSWER"},
		{"hangup originator cancel", "CallUUID=" + id + "&Event=Hangup&CallStatus=cancel&HangupCause=ORIGINATOR_CANCEL",
			providertest.Expected{CallID: id, EventType: "status", Status: "cancelled", Action: "Hangup"}, "ORIGINATOR_CANCEL"},
		{"hangup cause wins over CallStatus", "CallUUID=" + id + "&Event=Hangup&CallStatus=completed&HangupCause=USER_BUSY",
			providertest.Expected{CallID: id, EventType: "status", Status: "busy", Action: "Hangup"}, "USER_BUSY"},
		{"hangup unknown cause keeps CallStatus", "CallUUID=" + id + "&Event=Hangup&CallStatus=timeout&HangupCause=RECOVERY_ON_TIMER_EXPIRE",
			providertest.Expected{CallID: id, EventType: "status", Status: "failed", Action: "Hangup"}, "RECOVERY_ON_TIMER_EXPIRE"},
		{"hangup after answer, odd status", "CallUUID=" + id + "&Event=Hangup&CallStatus=in-progress&HangupCauseName=End+Of+XML+Instructions&Duration=12",
			providertest.Expected{CallID: id, EventType: "status", Status: "completed", Action: "Hangup"}, "End Of XML Instructions"},
		{"hangup rejected is busy", "CallUUID=" + id + "&Event=Hangup&CallStatus=ringing&HangupCause=CALL_REJECTED&Duration=0",
			providertest.Expected{CallID: id, EventType: "status", Status: "busy", Action: "Hangup"}, "CALL_REJECTED"},
		{"hangup unanswered, odd status", "CallUUID=" + id + "&Event=Hangup&CallStatus=ringing&HangupCause=LOSE_RACE&Duration=0",
			providertest.Expected{CallID: id, EventType: "status", Status: "failed", Action: "Hangup"}, "LOSE_RACE"},
		{"failure cause after answer is completed", "CallUUID=" + id + "&Event=Hangup&CallStatus=completed&HangupCause=NORMAL_TEMPORARY_FAILURE&AnswerTime=2025-01-14+10%3A15%3A09",
			providertest.Expected{CallID: id, EventType: "status", Status: "completed", Action: "Hangup"}, "NORMAL_TEMPORARY_FAILURE"},
		{"hangup code family", "CallUUID=" + id + "&Event=Hangup&CallStatus=completed&HangupCauseCode=1010&HangupCauseName=Canceled+%28Out+Of+Credits%29",
			providertest.Expected{CallID: id, EventType: "status", Status: "cancelled", Action: "Hangup"}, "1010 Canceled (Out Of Credits)"},
		{"timeout is failed", "CallUUID=" + id + "&Event=Ring&CallStatus=timeout",
			providertest.Expected{CallID: id, EventType: "status", Status: "failed", Action: "Ring"}, ""},
		{"unknown Event is status unknown", "CallUUID=" + id + "&Event=Something&CallStatus=cancel",
			providertest.Expected{CallID: id, EventType: "status", Status: "unknown", Action: "Something"}, ""},
		{"legacy GetDigits", "CallUUID=" + id + "&CallStatus=in-progress&Digits=2",
			providertest.Expected{CallID: id, EventType: "dtmf", Status: "answered", Digit: "2", Action: "GetDigits"}, ""},
		{"empty digits", "CallUUID=" + id + "&CallStatus=in-progress&Digits=&InputType=dtmf",
			providertest.Expected{CallID: id, EventType: "dtmf", Status: "answered", Action: "GetInput"}, "InputType=dtmf; no input"},
		{"speech input", "CallUUID=" + id + "&CallStatus=in-progress&InputType=speech&Speech=acknowledge",
			providertest.Expected{CallID: id, EventType: "dtmf", Status: "answered", Action: "GetInput"}, "InputType=speech; Speech=acknowledge"},
		{"dial B leg busy leaves the A leg alone", "CallUUID=" + id + "&CallStatus=in-progress&DialStatus=busy&DialHangupCause=USER_BUSY&DialBLegUUID=b",
			providertest.Expected{CallID: id, EventType: "status", Status: "answered", Action: "Dial"}, "DialStatus=busy; DialHangupCause=USER_BUSY"},
		{"request uuid only", "RequestUUID=r-1&CallStatus=ringing",
			providertest.Expected{CallID: "r-1", EventType: "status", Status: "ringing", Action: "callback"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []*provider.Request{
				{Method: http.MethodPost, URL: callhookURL, Body: []byte(tt.form), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
				{Method: http.MethodGet, URL: callhookURL + "?" + tt.form, Header: http.Header{}},
			} {
				evs, err := Parse(r)
				if err != nil {
					t.Fatalf("%s: %v", r.Method, err)
				}
				providertest.CheckEvent(t, r.Method+" "+tt.name, evs[0], tt.want)
				if evs[0].Message != tt.msg {
					t.Errorf("%s message = %q, want %q", r.Method, evs[0].Message, tt.msg)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		r    provider.Request
		want error
	}{
		{"no CallUUID", provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte("Event=Ring"),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}, provider.ErrBadPayload},
		{"JSON", provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte(`{"CallUUID":"x"}`),
			Header: http.Header{"Content-Type": {"application/json"}}}, provider.ErrUnsupportedMediaType},
		{"bad escape", provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte("CallUUID=%zz"),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}, provider.ErrBadPayload},
		{"empty GET", provider.Request{Method: http.MethodGet, URL: callhookURL, Header: http.Header{}}, provider.ErrBadPayload},
	}
	for _, tt := range tests {
		if _, err := Parse(&tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "plivo" || s.Title == "" || s.SigningKey != "auth_token" || s.New == nil || s.Check == nil {
		t.Fatalf("spec = %+v", s)
	}
	for _, c := range []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
		provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature} {
		if !s.Has(c) {
			t.Errorf("missing capability %s", c)
		}
	}
	secret := map[string]bool{"auth_id": false, "auth_token": true, "from": false}
	if len(s.Fields) != len(secret) {
		t.Errorf("fields = %d, want %d", len(s.Fields), len(secret))
	}
	for k, want := range secret {
		if f, ok := s.Field(k); !ok || f.Secret != want {
			t.Errorf("field %s: %+v, %v; want secret=%v", k, f, ok, want)
		}
	}
	if p, err := s.New(provider.Config{}, provider.Deps{}); err != nil || p == nil {
		t.Fatalf("New: %v", err)
	}
	var (
		_ provider.Placer  = (*Provider)(nil)
		_ provider.Poller  = (*Provider)(nil)
		_ provider.Sampler = (*Provider)(nil)
	)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
		ok   bool
	}{
		{"empty", provider.Config{}, true},
		{"full", provider.Config{"auth_id": "MANWVLYTK4ZWU1YTY4QA", "auth_token": vecToken, "from": "+14155550123"}, true},
		{"sub-account", provider.Config{"auth_id": "SAXXXXXXXXXXXXXXXXXX"}, true},
		{"auth_id too short", provider.Config{"auth_id": "MA123"}, false},
		{"auth_id wrong prefix", provider.Config{"auth_id": "ACXXXXXXXXXXXXXXXXXX"}, false},
		{"token with a space", provider.Config{"auth_token": "abc def"}, false},
		{"from with letters", provider.Config{"from": "callhook"}, false},
	}
	for _, tt := range tests {
		if err := Check(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSampleCallback(t *testing.T) {
	for _, token := range []string{"", "sample-token"} {
		for _, u := range []string{callhookURL, callhookURL + "?a=b"} {
			p := New(provider.Config{"auth_token": token, "from": "+14155550123"}, provider.Deps{})
			r, err := p.SampleCallback(u, "call-1", now)
			if err != nil {
				t.Fatal(err)
			}
			if (r.Header.Get(HeaderV3) != "") != (token != "") {
				t.Errorf("token %q: %s = %q", token, HeaderV3, r.Header.Get(HeaderV3))
			}
			if err := p.Verify(r); err != nil {
				t.Errorf("token %q url %s: Verify: %v", token, u, err)
			}
			evs, err := p.Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckEvent(t, "sample", evs[0], providertest.Expected{CallID: "call-1", EventType: "status",
				Status: "ringing", Action: "Ring"})
			if evs[0].From != "14155550123" {
				t.Errorf("from = %q", evs[0].From)
			}
		}
	}
	if _, err := New(provider.Config{"auth_token": "t"}, provider.Deps{}).SampleCallback("/relative", "c", now); err == nil {
		t.Error("a relative URL cannot be signed")
	}
}

func TestNonce(t *testing.T) {
	a, b := Nonce(), Nonce()
	if len(a) != 20 || strings.Trim(a, "0123456789") != "" || a == b {
		t.Errorf("nonces %q %q", a, b)
	}
}

// TestTable checks the Plivo table of docs/providers.md against the fixtures
// and the parser.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "plivo", New(provider.Config{"auth_token": providertest.Load(t).Secrets["plivo_auth_token"]}, provider.Deps{}))
}
