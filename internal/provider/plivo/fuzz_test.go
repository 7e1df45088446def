package plivo

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

// FuzzParse feeds arbitrary bytes as a form body and as a GET query. Parse
// must not panic, must fail with a sentinel or give a well-formed event, and
// the reply for it must always be well-formed XML.
func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte("CallUUID=x&Event=Hangup&CallStatus=ringing&Duration=NaN"))
	f.Add([]byte("CallUUID=x&DialStatus=busy&Digits"))
	p := New(provider.Config{}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs := []*provider.Request{
			{Method: http.MethodPost, URL: callhookURL, Body: body, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
			{Method: http.MethodGet, URL: callhookURL + "?" + string(body), Header: http.Header{}},
		}
		for _, r := range reqs {
			evs, err := p.Parse(r)
			out := provider.Outcome{Duplicate: true, Prompt: prompt}
			if err != nil {
				if !errors.Is(err, provider.ErrBadPayload) && !errors.Is(err, provider.ErrUnsupportedMediaType) {
					t.Fatalf("Parse error %v wraps no sentinel", err)
				}
			} else {
				if len(evs) != 1 {
					t.Fatalf("got %d events", len(evs))
				}
				e := evs[0]
				if e.CallID == "" || !e.Type.Valid() || !e.Status.Valid() || e.Native == "" || e.IdempotencyKey == "" {
					t.Fatalf("malformed event %+v", e)
				}
				if e.DurationS != nil && (*e.DurationS < 0 || *e.DurationS != *e.DurationS) {
					t.Fatalf("bad duration %v", *e.DurationS)
				}
				out = provider.Outcome{Events: []provider.Applied{{Event: e, Action: voice.ActionNone}}, Prompt: prompt,
					Alert: &provider.AlertInfo{Title: e.Digit + e.Message}}
			}
			rep := p.Reply(r, out)
			var doc struct {
				XMLName xml.Name `xml:"Response"`
			}
			if err := xml.Unmarshal(rep.Body, &doc); err != nil {
				t.Fatalf("reply is not XML: %v\n%s", err, rep.Body)
			}
		}
	})
}

// FuzzVerify checks that Verify never panics, fails only with
// ErrBadSignature, and accepts a request only when the V3 signature of its
// exact URL, method and parameters is in the header.
func FuzzVerify(f *testing.F) {
	m := providertest.Load(f)
	token := m.Secrets["plivo_auth_token"]
	for _, fx := range m.Fixtures {
		f.Add(fx.Body, fx.URL, fx.Headers[HeaderV3], fx.Headers[HeaderV3Nonce])
	}
	f.Add([]byte(""), "https://h/?a=b", "", "")
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte, u, sig, nonce string) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			r := &provider.Request{Method: method, URL: u, Body: body, Header: http.Header{
				"Content-Type": {"application/x-www-form-urlencoded"}, HeaderV3: {sig}, HeaderV3Nonce: {nonce}}}
			err := p.Verify(r)
			if err != nil {
				if !errors.Is(err, provider.ErrBadSignature) {
					t.Fatalf("Verify error %v wraps no sentinel", err)
				}
				continue
			}
			params := r.Query()
			if method != http.MethodGet {
				params, _ = url.ParseQuery(string(body))
			}
			// The accepted signature must be the one for this very request.
			want := SignV3(token, method, u, r.Header.Get(HeaderV3Nonce), params)
			if want == "" {
				t.Fatalf("accepted an unsignable URL %q", u)
			}
			found := false
			for _, s := range strings.Split(sig, ",") {
				found = found || strings.TrimSpace(s) == want
			}
			if !found {
				t.Fatalf("accepted %q, but the signature of this request is %q", sig, want)
			}
		}
	})
}
