package vonage

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

// FuzzParse feeds arbitrary bytes as a JSON body and as a GET query string.
// Parse must not panic, must return a known sentinel on failure and a
// well-formed event on success; Reply must not panic on what it returns.
func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte(`{"uuid":"x","dtmf":"42","timed_out":true}`))
	f.Add([]byte(`uuid=x&dtmf.digits=1&status=completed&duration=NaN`))
	f.Add([]byte(`{"uuid":"x","dtmf":{"digit":5},"speech":{"timeout_reason":["x"],"error":null}}`))
	f.Add([]byte(`uuid=x&dtmf.timed_out=true&speech.timeout_reason=start_timeout`))
	p := New(provider.Config{}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs := []*provider.Request{
			{Method: http.MethodPost, URL: callhookURL, Body: body, Header: http.Header{"Content-Type": {"application/json"}}},
			{Method: http.MethodGet, URL: callhookURL + "?" + string(body), Header: http.Header{}},
		}
		for _, r := range reqs {
			evs, err := p.Parse(r)
			if err != nil {
				if !errors.Is(err, provider.ErrBadPayload) && !errors.Is(err, provider.ErrUnsupportedMediaType) {
					t.Fatalf("Parse error %v wraps no sentinel", err)
				}
				_ = p.Reply(r, provider.Outcome{Duplicate: true})
				continue
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events", len(evs))
			}
			e := evs[0]
			if e.CallID == "" || !e.Type.Valid() || !e.Status.Valid() || e.Native == "" {
				t.Fatalf("malformed event %+v", e)
			}
			if e.DurationS != nil && (*e.DurationS < 0 || *e.DurationS != *e.DurationS) {
				t.Fatalf("bad duration %v", *e.DurationS)
			}
			_ = p.Reply(r, provider.Outcome{Events: []provider.Applied{{Event: e, Action: voice.ActionNone}}, Prompt: prompt})
		}
	})
}

// FuzzVerify checks that Verify never panics, only returns the signature
// sentinels, and never accepts a body whose hash differs from a signed
// payload_hash.
func FuzzVerify(f *testing.F) {
	m := providertest.Load(f)
	secret := m.Secrets["vonage_signature_secret"]
	for _, fx := range m.Fixtures {
		f.Add(fx.Body, fx.Headers["Authorization"])
	}
	f.Add([]byte(`{}`), "Bearer "+v1Token)
	f.Add([]byte(`{}`), "Bearer eyJhbGciOiJub25lIn0.e30.")
	p := New(provider.Config{"signature_secret": secret}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			r := &provider.Request{Method: method, URL: callhookURL + "?" + url.QueryEscape(string(body)), Body: body,
				Header: http.Header{"Authorization": {auth}, "Content-Type": {"application/json"}}, Now: fixtureNow}
			err := p.Verify(r)
			if err == nil {
				claims, herr := VerifyHMAC(bearer(auth), secret)
				if herr != nil {
					t.Fatalf("Verify accepted a token whose HMAC fails: %v", herr)
				}
				if h, ok := claims[ClaimPayloadHash].(string); ok && method == http.MethodPost && !strings.EqualFold(h, PayloadHash(body)) {
					t.Fatalf("Verify accepted a body that does not match payload_hash")
				}
				continue
			}
			if !errors.Is(err, provider.ErrBadSignature) && !errors.Is(err, provider.ErrStaleTimestamp) {
				t.Fatalf("Verify error %v wraps no sentinel", err)
			}
		}
	})
}
