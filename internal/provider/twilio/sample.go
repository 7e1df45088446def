package twilio

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"callhook/internal/provider"
)

// SampleDTMF builds the <Gather> action request Twilio posts after the
// callee pressed digit on outbound call callID, signed with the configured
// auth token.
func (p *Provider) SampleDTMF(rawURL, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("twilio: sample keypad callback: call id and digit are required")
	}
	account := p.cfg["account_sid"]
	if account == "" {
		account = "AC" + strings.Repeat("0", 32)
	}
	form := SampleGatherForm(account, callID, p.cfg["from"], digit, now)
	return NewSignedRequest(strings.TrimSpace(p.cfg["auth_token"]), HeaderSignature, rawURL, form, now), nil
}

// SampleGatherForm returns the parameters of a <Gather> action request
// (docs/providers.md, Twilio): the call's parameters with the call in
// progress and the keys pressed in Digits. SignalWire's cXML sends the same.
func SampleGatherForm(accountSid, callID, from, digit string, now time.Time) url.Values {
	v := SampleStatusForm(accountSid, callID, from, now)
	for _, k := range []string{"CallbackSource", "SequenceNumber", "Timestamp"} {
		v.Del(k)
	}
	v.Set("CallStatus", "in-progress")
	v.Set("Digits", digit)
	v.Set("FinishedOnKey", "")
	v.Set("msg", "Gather End")
	return v
}

var _ provider.DTMFSampler = (*Provider)(nil)
