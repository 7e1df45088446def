package vonage

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"callhook/internal/provider"
)

// SampleDTMF builds the input webhook Vonage posts when the callee pressed
// digit during the NCCO's input action on call callID, signed with
// signature_secret when one is configured, like SampleCallback.
func (p *Provider) SampleDTMF(url, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("vonage: sample keypad callback: call id and digit are required")
	}
	return p.signedSample("sample keypad callback", url, map[string]any{
		"from":              p.sampleFrom(),
		"to":                "15555550199",
		"dtmf":              map[string]any{"digits": digit, "timed_out": false},
		"uuid":              callID,
		"conversation_uuid": "CON-" + callID,
		"timestamp":         now.UTC().Format("2006-01-02T15:04:05.000Z"),
	}, now)
}

// sampleFrom is the caller number of sample callbacks: the configured from
// number, else a fictitious one.
func (p *Provider) sampleFrom() string {
	if from := number(p.cfg["from"]); from != "" {
		return from
	}
	return "15555550100"
}

// signedSample is a JSON POST of fields to url, signed with
// signature_secret when one is configured, as Vonage sends it.
func (p *Provider) signedSample(what, url string, fields map[string]any, now time.Time) (*provider.Request, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("vonage: %s: %w", what, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if secret := p.cfg["signature_secret"]; secret != "" {
		tok, err := SignWebhook(secret, PayloadHash(body), now)
		if err != nil {
			return nil, err
		}
		h.Set("Authorization", "Bearer "+tok)
	}
	return &provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, Now: now}, nil
}

var _ provider.DTMFSampler = (*Provider)(nil)
