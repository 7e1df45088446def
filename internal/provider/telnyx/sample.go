package telnyx

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"callhook/internal/provider"
)

// SampleCallback builds a call.answered webhook for callID as Telnyx would
// post it to url, for the console's "send test callback". It is unsigned:
// only Telnyx holds the private key, so with a public_key configured the
// sample is rejected as a bad signature, which is the honest answer. The
// sample has no client_state, so React never sends a command for it.
func (p *Provider) SampleCallback(url, callID string, now time.Time) (*provider.Request, error) {
	if callID == "" {
		return nil, fmt.Errorf("telnyx: sample callback: empty call id")
	}
	id, err := uuid()
	if err != nil {
		return nil, fmt.Errorf("telnyx: sample callback: %w", err)
	}
	type pl struct {
		CallControlID string  `json:"call_control_id"`
		ClientState   *string `json:"client_state"`
		ConnectionID  string  `json:"connection_id,omitempty"`
		From          string  `json:"from,omitempty"`
		To            string  `json:"to,omitempty"`
		State         string  `json:"state"`
		StartTime     string  `json:"start_time"`
	}
	env := map[string]any{
		"data": map[string]any{
			"record_type": "event",
			"event_type":  "call.answered",
			"id":          id,
			"occurred_at": now.UTC().Format(time.RFC3339Nano),
			"payload": pl{CallControlID: callID, ConnectionID: p.cfg["connection_id"], From: p.cfg["from"],
				State: "answered", StartTime: now.UTC().Format(time.RFC3339Nano)},
		},
		"meta": map[string]any{"attempt": 1, "delivered_to": url},
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("telnyx: sample callback: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	return &provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, Now: now}, nil
}

// SampleDTMF builds the call.gather.ended webhook (status "valid") Telnyx
// posts after the callee pressed digit on call callID. Like SampleCallback
// it is unsigned (only Telnyx holds the private key) and has no
// client_state, so React sends no command for it.
func (p *Provider) SampleDTMF(url, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("telnyx: sample keypad callback: call id and digit are required")
	}
	id, err := uuid()
	if err != nil {
		return nil, fmt.Errorf("telnyx: sample keypad callback: %w", err)
	}
	env := map[string]any{
		"data": map[string]any{
			"record_type": "event",
			"event_type":  "call.gather.ended",
			"id":          id,
			"occurred_at": now.UTC().Format(time.RFC3339Nano),
			"payload": map[string]any{"call_control_id": callID, "client_state": nil, "connection_id": p.cfg["connection_id"],
				"from": p.cfg["from"], "digits": digit, "status": "valid"},
		},
		"meta": map[string]any{"attempt": 1, "delivered_to": url},
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("telnyx: sample keypad callback: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	return &provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, Now: now}, nil
}

var _ provider.DTMFSampler = (*Provider)(nil)

// uuid returns a random version 4 UUID.
func uuid() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
