package wavecell

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"callhook/internal/provider"
)

// SampleCallback builds a current CALL_STATUS webhook reporting callID as
// connected, addressed to url, for the console's "send test callback". It
// carries "Authorization: Bearer <callback_token>" when a token is configured
// and the configured sub_account_id, so it passes Verify and Parse. The call
// is outbound, so the reply is {} and the sample never starts an IVR.
func (p *Provider) SampleCallback(url, callID string, now time.Time) (*provider.Request, error) {
	if callID == "" {
		return nil, fmt.Errorf("wavecell: sample callback: empty call id")
	}
	return p.sampleStatus("sample callback", url, callID, "CALL_CONNECTED", nil, now)
}

// SampleDTMF builds the CALL_STATUS webhook with callStatus DTMF_RECEIVED
// that 8x8 posts when the callee pressed digit on outbound call callID,
// authorized and scoped like SampleCallback.
func (p *Provider) SampleDTMF(url, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("wavecell: sample keypad callback: call id and digit are required")
	}
	return p.sampleStatus("sample keypad callback", url, callID, "DTMF_RECEIVED", map[string]string{"dtmf": digit}, now)
}

// sampleStatus is a CALL_STATUS webhook of an outbound PSTN call with a new
// event id, the configured sub-account and, when a token is configured, its
// Authorization header, as 8x8 posts it.
func (p *Provider) sampleStatus(what, url, callID, status string, eventData map[string]string, now time.Time) (*provider.Request, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("wavecell: %s: %w", what, err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	payload := map[string]any{
		"eventId":       fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]),
		"callId":        callID,
		"sessionId":     callID,
		"callStatus":    status,
		"callDirection": "OUTBOUND",
		"callType":      "PSTN",
		"callDuration":  0,
		"sipCode":       200,
		"timestamp":     now.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if eventData != nil {
		payload["eventData"] = eventData
	}
	if s := strings.TrimSpace(p.cfg["sub_account_id"]); s != "" {
		payload["subAccountId"] = s
	}
	body, err := json.Marshal(map[string]any{
		"namespace":   "VOICE",
		"eventType":   eventCallStatus,
		"description": "Status update of a call",
		"payload":     payload,
	})
	if err != nil {
		return nil, fmt.Errorf("wavecell: %s: %w", what, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if t := strings.TrimSpace(p.cfg["callback_token"]); t != "" {
		h.Set("Authorization", "Bearer "+t)
	}
	return &provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, Now: now}, nil
}

var _ provider.DTMFSampler = (*Provider)(nil)
