package wavecell

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

func FuzzParse(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte(`{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionId":"s","sessionStatus":"NO ANSWER","details":[{"callId":"a"},{"legs":{"callId":"b"}}]}}`))
	f.Add([]byte(`{"uid":"u","status":{"code":"DTMF"},"actionDetails":{"dtmf":"12345"}}`))
	f.Add([]byte(`{"namespace":"VOICE","eventType":"CALL_ACTION","payload":{"callId":"c","callDirection":"INBOUND","callStatus":"ACTION_COMPLETED","eventData":{"dtmf":null},"clientActionId":"callhook-capture-2"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		r := &provider.Request{Method: http.MethodPost, Header: h, Body: b}
		p := New(provider.Config{"sub_account_id": "account_x"}, provider.Deps{})
		events, err := p.Parse(r)
		if err != nil {
			return
		}
		if len(events) == 0 {
			t.Fatal("no events and no error")
		}
		out := provider.Outcome{Prompt: "Press 1 to acknowledge.", Alert: &provider.AlertInfo{Title: "t", State: voice.AlertFiring}}
		for _, e := range events {
			if e.CallID == "" || e.Native == "" || !e.Type.Valid() || !e.Status.Valid() {
				t.Fatalf("accepted an incomplete event: %+v", e)
			}
			if e.Type == voice.EventDTMF && e.Digit == "" && e.Message == "" {
				t.Fatalf("dtmf event without digits and without a reason: %+v", e)
			}
			out.Events = append(out.Events, provider.Applied{Event: e, Action: voice.DefaultDTMFMap().Resolve(e)})
		}
		rep := p.Reply(r, out)
		if !json.Valid(rep.Body) || rep.Status != http.StatusOK {
			t.Fatalf("reply %d %q", rep.Status, rep.Body)
		}
	})
}

func FuzzVerify(f *testing.F) {
	providertest.FuzzSeeds(f)
	f.Add([]byte("Bearer tok-123"))
	f.Add([]byte("Basic OHg4OnRvay0xMjM="))
	p := New(provider.Config{"callback_token": "tok-123"}, provider.Deps{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Authorization", string(b))
		err := p.Verify(&provider.Request{Method: http.MethodPost, Header: h, Body: b})
		// Only a header that carries the token, in clear or inside Basic
		// credentials, may pass.
		if err == nil && !carriesToken(h.Get("Authorization"), "tok-123") {
			t.Fatalf("accepted Authorization %q", h.Get("Authorization"))
		}
	})
}

// carriesToken is a loose, independent oracle: the token appears in the
// header or in the base64 text after its first space.
func carriesToken(h, token string) bool {
	if strings.Contains(h, token) {
		return true
	}
	_, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	return err == nil && strings.Contains(string(b), token)
}
