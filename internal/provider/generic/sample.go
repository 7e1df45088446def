package generic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"callhook/internal/provider"
)

// SampleDTMF builds a "dtmf" event with digit for callID, signed when a
// signing secret is configured, like SampleCallback.
func (p *Provider) SampleDTMF(url, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("generic: sample keypad callback: call id and digit are required")
	}
	d, err := json.Marshal(digit)
	if err != nil {
		return nil, fmt.Errorf("generic: sample keypad callback: %w", err)
	}
	body, err := json.Marshal(Payload{CallID: callID, EventType: "dtmf", Digit: d})
	if err != nil {
		return nil, fmt.Errorf("generic: sample keypad callback: %w", err)
	}
	return p.signedSample(url, body, now), nil
}

// signedSample is a JSON POST of body to url, signed when a signing secret
// is configured, as the generic format's senders sign.
func (p *Provider) signedSample(url string, body []byte, now time.Time) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if s := p.cfg["signing_secret"]; s != "" {
		ts := now.Unix()
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, Sign(s, ts, body))
	}
	return &provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, Now: now}
}

var _ provider.DTMFSampler = (*Provider)(nil)
