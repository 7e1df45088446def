package dograh

import (
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/twilio"
)

// SampleDTMF builds a <Gather>-shaped callback with digit for callID,
// signed with the configured auth token: Dograh's webhook is Twilio's
// format, and this adapter reads its Digits as keypad input (see the
// package comment).
func (p *Provider) SampleDTMF(rawURL, callID, digit string, now time.Time) (*provider.Request, error) {
	return twilio.New(provider.Config{"auth_token": p.token}, provider.Deps{}).SampleDTMF(rawURL, callID, digit, now)
}

var _ provider.DTMFSampler = (*Provider)(nil)
