package signalwire

import (
	"fmt"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/twilio"
)

// SampleDTMF builds the cXML <Gather> action request SignalWire posts after
// the callee pressed digit on call callID, signed (scheme B) with the first
// configured signing key, like SampleCallback.
func (p *Provider) SampleDTMF(rawURL, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("signalwire: sample keypad callback: call id and digit are required")
	}
	account, key := p.sampleAccount()
	form := twilio.SampleGatherForm(account, callID, p.cfg["from"], digit, now)
	return twilio.NewSignedRequest(key, HeaderSignature, rawURL, form, now), nil
}

// sampleAccount is the project id sample callbacks name (a fictitious one
// when none is configured) and the key that signs them ("" for none).
func (p *Provider) sampleAccount() (account, key string) {
	account = strings.TrimSpace(p.cfg["project_id"])
	if account == "" {
		account = "00000000-0000-4000-8000-000000000000"
	}
	if len(p.keys) > 0 {
		key = p.keys[0]
	}
	return account, key
}

var _ provider.DTMFSampler = (*Provider)(nil)
