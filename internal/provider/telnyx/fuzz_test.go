package telnyx

import (
	"net/http"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
)

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte(`{"data":{"event_type":"call.gather.ended","payload":{"call_control_id":"c","digits":123,"call_quality_stats":{"inbound":{"mos":"4.1"}}}}}`))
	f.Add([]byte(`{"data":{"event_type":"streaming_started","payload":{"call_control_id":"c","start_time":"2025-01-14T10:15:02Z","end_time":"2025-01-14T10:16:02Z"}}}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`{"data":{"event_type":"call.ai_gather.ended","payload":{"call_control_id":"c","status":{"a":1},"result":[2],"digits":null}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		r := &provider.Request{Method: http.MethodPost, Header: h, Body: b, Now: fixtureTime}
		e, err := Parse(r)
		if err != nil {
			return
		}
		if e.CallID == "" || e.Native == "" || !e.Type.Valid() || !e.Status.Valid() {
			t.Fatalf("accepted an incomplete event: %+v", e)
		}
		p := New(provider.Config{}, provider.Deps{})
		_ = p.Reply(r, provider.Outcome{})
	})
}

func FuzzVerify(f *testing.F) {
	m := providertest.FuzzSeeds(f)
	p := New(provider.Config{"public_key": m.Secrets["telnyx_public_key_b64"]}, provider.Deps{})
	valid := map[string]string{}
	for _, fx := range m.Fixtures {
		valid[string(fx.Body)] = fx.Headers[HeaderSignature]
	}
	sig := m.Fixtures[0].Headers[HeaderSignature]
	f.Fuzz(func(t *testing.T, b []byte) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(HeaderTimestamp, "1736849702")
		h.Set(HeaderSignature, sig)
		err := p.Verify(&provider.Request{Method: http.MethodPost, Header: h, Body: b, Now: fixtureTime})
		// Only the one body that signature was made for may pass.
		if err == nil && valid[string(b)] != sig {
			t.Fatalf("accepted a body the signature was not made for: %q", b)
		}
		// A header value derived from the input must never panic either.
		h.Set(HeaderSignature, string(b))
		h.Set(HeaderTimestamp, string(b))
		_ = p.Verify(&provider.Request{Method: http.MethodPost, Header: h, Body: b, Now: fixtureTime})
	})
}
