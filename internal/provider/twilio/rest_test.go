package twilio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/twilio/twimltest"
	"callhook/internal/voice"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testCall  = "CAfedcba9876543210fedcba9876543210"
)

func testConfig() provider.Config {
	return provider.Config{"account_sid": testSID, "auth_token": testToken, "from": "+14155550100"}
}

func TestPlaceCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Calls.json" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken {
			t.Errorf("basic auth %q %q %v", u, p, ok)
		}
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		f := r.PostForm
		if f.Get("To") != "+14155550123" || f.Get("From") != "+14155550100" {
			t.Errorf("To %q From %q", f.Get("To"), f.Get("From"))
		}
		if f.Get("StatusCallback") != cbURL || f.Get("StatusCallbackMethod") != "POST" {
			t.Errorf("StatusCallback %q %q", f.Get("StatusCallback"), f.Get("StatusCallbackMethod"))
		}
		if got := f["StatusCallbackEvent"]; !slices.Equal(got, []string{"initiated", "ringing", "answered", "completed"}) {
			t.Errorf("StatusCallbackEvent %q", got)
		}
		d := twimltest.Unmarshal(t, []byte(f.Get("Twiml")))
		if twimltest.Shape(d.Verbs) != "Gather(Say) Say" || d.Verbs[0].Attr("action") != cbURL || d.Verbs[0].Attr("input") != "dtmf" {
			t.Errorf("Twiml %s", f.Get("Twiml"))
		}
		if got := d.Verbs[0].Nodes[0].Text; got != "Disk full on db-1. Press 1 to acknowledge." {
			t.Errorf("say %q", got)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid":"` + testCall + `","status":"queued","direction":"outbound-api"}`))
	}))
	defer srv.Close()
	p := New(testConfig(), provider.Deps{BaseURL: srv.URL, HTTPClient: srv.Client()})
	got, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "+14155550123", Message: "Disk full on db-1.",
		Prompt: "Press 1 to acknowledge.", CallbackURL: cbURL})
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderCallID != testCall || got.Status != voice.StatusQueued {
		t.Errorf("placed %+v", got)
	}
}

func TestPlaceCallFromOverride(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("From") != "+14155550999" {
			t.Errorf("From %q", r.FormValue("From"))
		}
		w.Write([]byte(`{"sid":"CA1","status":"initiated"}`))
	}))
	defer srv.Close()
	p := New(testConfig(), provider.Deps{BaseURL: srv.URL})
	if _, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "+1", From: "+14155550999", CallbackURL: cbURL}); err != nil {
		t.Fatal(err)
	}
}

func TestPlaceCallErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}`))
	}))
	defer srv.Close()
	ok := provider.PlaceRequest{To: "+14155550123", CallbackURL: cbURL}
	tests := []struct {
		name string
		cfg  provider.Config
		req  provider.PlaceRequest
		has  string
	}{
		{"api error", testConfig(), ok, "error 21211: The 'To' number is not a valid phone number."},
		{"no credentials", provider.Config{"from": "+14155550100"}, ok, "credentials"},
		{"no from", provider.Config{"account_sid": testSID, "auth_token": testToken}, ok, "from"},
		{"no to", testConfig(), provider.PlaceRequest{CallbackURL: cbURL}, "to is required"},
		{"no callback", testConfig(), provider.PlaceRequest{To: "+1"}, "callback url"},
		{"too long", testConfig(), provider.PlaceRequest{To: "+1", CallbackURL: cbURL, Message: strings.Repeat("a", MaxTwiMLLen)}, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(tt.cfg, provider.Deps{BaseURL: srv.URL})
			_, err := p.PlaceCall(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.has) || !strings.HasPrefix(err.Error(), "twilio: ") {
				t.Fatalf("err = %v, want one naming %q", err, tt.has)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatal("error leaks the auth token")
			}
		})
	}
}

func TestFetchCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Calls/"+testCall+".json" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken {
			t.Errorf("basic auth %q %q %v", u, p, ok)
		}
		w.Write([]byte(`{"sid":"` + testCall + `","status":"completed","duration":"49","direction":"outbound-api",
			"from":"+14155550100","to":"+14155550123","end_time":"Tue, 14 Jan 2025 10:15:58 +0000","answered_by":"human"}`))
	}))
	defer srv.Close()
	p := New(testConfig(), provider.Deps{BaseURL: srv.URL})
	e, err := p.FetchCall(context.Background(), testCall)
	if err != nil {
		t.Fatal(err)
	}
	if e.CallID != testCall || e.Type != voice.EventStatus || e.Status != voice.StatusCompleted || e.Native != NativePoll {
		t.Errorf("event %+v", e)
	}
	if e.DurationS == nil || *e.DurationS != 49 || e.Direction != voice.Outbound || e.Message != "CallDuration=49" || e.Sequence != -1 {
		t.Errorf("event %+v", e)
	}
	if !e.OccurredAt.Equal(time.Date(2025, 1, 14, 10, 15, 58, 0, time.UTC)) || e.Raw["AnsweredBy"] != "human" {
		t.Errorf("occurred_at %v raw %v", e.OccurredAt, e.Raw)
	}
}

func TestFetchCallErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "garbage") {
			w.Write([]byte(`not json`))
			return
		}
		http.Error(w, "upstream broke", http.StatusBadGateway)
	}))
	defer srv.Close()
	p := New(testConfig(), provider.Deps{BaseURL: srv.URL})
	for _, id := range []string{"CA1", "garbage", ""} {
		if _, err := p.FetchCall(context.Background(), id); err == nil || !strings.HasPrefix(err.Error(), "twilio: fetch call: ") {
			t.Errorf("FetchCall(%q) err = %v", id, err)
		}
	}
	if _, err := New(nil, provider.Deps{BaseURL: srv.URL}).FetchCall(context.Background(), "CA1"); err == nil {
		t.Error("FetchCall without credentials succeeded")
	}
}

func TestSampleCallback(t *testing.T) {
	now := time.Date(2025, 1, 14, 10, 15, 3, 0, time.UTC)
	p := New(testConfig(), provider.Deps{})
	for _, id := range []string{testCall, ""} {
		r, err := p.SampleCallback(cbURL, id, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(r); err != nil {
			t.Fatalf("sample does not verify: %v", err)
		}
		evs, err := p.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		e := evs[0]
		if (id != "" && e.CallID != id) || !strings.HasPrefix(e.CallID, "CA") || len(e.CallID) != 34 {
			t.Errorf("call id %q", e.CallID)
		}
		if e.Status != voice.StatusRinging || e.Native != NativeStatus || !e.OccurredAt.Equal(now) || e.From != "+14155550100" {
			t.Errorf("sample event %+v", e)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "twilio" || s.SigningKey != "auth_token" || !s.Has(provider.CapPlaceCall) || !s.Has(provider.CapStatusPolling) {
		t.Errorf("spec %+v", s)
	}
	if f, ok := s.Field("auth_token"); !ok || !f.Secret {
		t.Error("auth_token is not secret")
	}
	if f, ok := s.Field("account_sid"); !ok || f.Secret {
		t.Error("account_sid is secret")
	}
	p, err := s.New(testConfig(), provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(provider.Placer); !ok {
		t.Error("not a Placer")
	}
	tests := []struct {
		cfg provider.Config
		bad string
	}{
		{testConfig(), ""},
		{provider.Config{}, ""},
		{provider.Config{"account_sid": "AC123"}, "account_sid"},
		{provider.Config{"account_sid": "SK0123456789abcdef0123456789abcdef"}, "account_sid"},
		{provider.Config{"account_sid": "AC0123456789abcdef0123456789abcdeg"}, "account_sid"},
		{provider.Config{"auth_token": "secret"}, "auth_token"},
		{provider.Config{"from": "4155550100"}, "from"},
		{provider.Config{"from": "+1415555010x"}, "from"},
	}
	for _, tt := range tests {
		err := s.Check(tt.cfg)
		if (tt.bad == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.bad+":")) {
			t.Errorf("Check(%v) = %v, want error on %q", tt.cfg, err, tt.bad)
		}
	}
}
