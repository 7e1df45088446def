package provider_test

import (
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/dograh"
	"callhook/internal/provider/generic"
	"callhook/internal/provider/plivo"
	"callhook/internal/provider/signalwire"
	"callhook/internal/provider/simulator"
	"callhook/internal/provider/telnyx"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/vonage"
	"callhook/internal/provider/wavecell"
	"callhook/internal/voice"
)

// TestSampleDTMFPassesVerifyAndParse: every adapter with a sample callback
// also builds its keypad callback, which its own Verify accepts with the
// configured signing credential and its Parse reads as the pressed keys of
// the sampled call, so "send test callback" exercises the DTMF mapping.
func TestSampleDTMFPassesVerifyAndParse(t *testing.T) {
	const hex32 = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		spec provider.Spec
		cfg  provider.Config
	}{
		{generic.Spec(), provider.Config{"signing_secret": "sekret-value-123"}},
		{simulator.Spec(), provider.Config{}},
		{twilio.Spec(), provider.Config{"auth_token": hex32, "account_sid": "AC" + hex32, "from": "+14155550123"}},
		{signalwire.Spec(), provider.Config{"signing_key": "PSK_sample_signing_key_0001", "project_id": "b3877c40-da60-4998-90ad-b792e98472af"}},
		{vonage.Spec(), provider.Config{"signature_secret": "vonage-signature-secret-0123456789"}},
		{plivo.Spec(), provider.Config{"auth_token": "plivo-auth-token-0123456789abcdef", "from": "14155550123"}},
		{telnyx.Spec(), provider.Config{"connection_id": "1684641123236054244"}},
		{wavecell.Spec(), provider.Config{"callback_token": "wavecell-callback-token-01", "sub_account_id": "account_x"}},
		{dograh.Spec(), provider.Config{"auth_token": hex32}},
	}
	now := time.Now()
	const url = "https://callhook.example.com/api/integrations/voice/callback/ops/secret"
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			p, err := tt.spec.New(tt.cfg, provider.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			s, ok := p.(provider.DTMFSampler)
			if !ok {
				t.Fatalf("%s has a Sampler but no DTMFSampler", tt.spec.Name)
			}
			if _, ok := p.(provider.Sampler); !ok {
				t.Fatalf("%s is a DTMFSampler without a Sampler", tt.spec.Name)
			}
			for _, digit := range []string{"1", "787", "9#"} {
				req, err := s.SampleDTMF(url, "test-call-7", digit, now)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Verify(req); err != nil {
					t.Fatalf("digit %s: Verify: %v", digit, err)
				}
				evs, err := p.Parse(req)
				if err != nil {
					t.Fatalf("digit %s: Parse: %v", digit, err)
				}
				if len(evs) != 1 || evs[0].Type != voice.EventDTMF || evs[0].CallID != "test-call-7" || evs[0].Digit != digit {
					t.Errorf("digit %s: parsed %+v, want one dtmf event of test-call-7 with %s", digit, evs, digit)
				}
			}
			if _, err := s.SampleDTMF(url, "test-call-7", "", now); err == nil {
				t.Error("an empty digit gave a sample")
			}
		})
	}
}
