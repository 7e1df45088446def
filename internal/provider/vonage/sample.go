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
	from := number(p.cfg["from"])
	if from == "" {
		from = "15555550100"
	}
	body, err := json.Marshal(map[string]any{
		"from":              from,
		"to":                "15555550199",
		"dtmf":              map[string]any{"digits": digit, "timed_out": false},
		"uuid":              callID,
		"conversation_uuid": "CON-" + callID,
		"timestamp":         now.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	if err != nil {
		return nil, fmt.Errorf("vonage: sample keypad callback: %w", err)
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
