package simulator

import (
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/generic"
)

// SampleDTMF builds a generic keypad callback, as the simulator's calls send.
func (p *Provider) SampleDTMF(url, callID, digit string, now time.Time) (*provider.Request, error) {
	return generic.New(provider.Config{}, provider.Deps{}).SampleDTMF(url, callID, digit, now)
}

var _ provider.DTMFSampler = (*Provider)(nil)
