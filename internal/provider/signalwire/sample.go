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
	account := strings.TrimSpace(p.cfg["project_id"])
	if account == "" {
		account = "00000000-0000-4000-8000-000000000000"
	}
	key := ""
	if len(p.keys) > 0 {
		key = p.keys[0]
	}
	form := twilio.SampleGatherForm(account, callID, p.cfg["from"], digit, now)
	return twilio.NewSignedRequest(key, HeaderSignature, rawURL, form, now), nil
}

var _ provider.DTMFSampler = (*Provider)(nil)
