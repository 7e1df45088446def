package signalwire

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// RELAY event types this adapter reads.
const (
	EventCallState   = "calling.call.state"
	EventCallConnect = "calling.call.connect"
)

// RelayEvent is the envelope of a RELAY/SWML callback (providers.md §2.2).
type RelayEvent struct {
	EventType    string          `json:"event_type"`
	EventChannel string          `json:"event_channel"`
	Timestamp    json.RawMessage `json:"timestamp"`
	ProjectID    string          `json:"project_id"`
	SpaceID      string          `json:"space_id"`
	Params       RelayParams     `json:"params"`
}

// RelayParams are the params of calling.call.state and calling.call.connect.
type RelayParams struct {
	CallID       string      `json:"call_id"`
	NodeID       string      `json:"node_id"`
	CallState    string      `json:"call_state"`
	ConnectState string      `json:"connect_state"`
	FailedReason string      `json:"failed_reason"`
	Direction    string      `json:"direction"`
	EndReason    string      `json:"end_reason"`
	Device       RelayDevice `json:"device"`
}

// RelayDevice is the phone device of a RELAY call.
type RelayDevice struct {
	Type   string `json:"type"`
	Params struct {
		FromNumber string `json:"from_number"`
		ToNumber   string `json:"to_number"`
	} `json:"params"`
}

// ParseRelay turns a calling.call.state or calling.call.connect body into
// one event. Errors wrap provider.ErrBadPayload.
func ParseRelay(body []byte) (voice.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "RELAY body must be a JSON object")
	}
	var ev RelayEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "RELAY event: invalid JSON: %v", err)
	}
	p := ev.Params
	callID := strings.TrimSpace(p.CallID)
	if callID == "" {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing params.call_id")
	}
	if len(callID) > 128 {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "params.call_id is longer than 128 characters")
	}
	e := voice.Event{
		CallID:   callID,
		Type:     voice.EventStatus,
		Native:   ev.EventType,
		Sequence: -1,
		From:     p.Device.Params.FromNumber,
		To:       p.Device.Params.ToNumber,
	}
	switch strings.ToLower(p.Direction) {
	case "inbound":
		e.Direction = voice.Inbound
	case "outbound":
		e.Direction = voice.Outbound
	}
	raw := map[string]string{}
	switch ev.EventType {
	case EventCallState:
		if p.CallState == "" {
			return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing params.call_state")
		}
		raw["call_state"] = p.CallState
		e.Status, e.Type = callState(p.CallState, p.EndReason)
		if p.CallState == "ended" && p.EndReason != "" && p.EndReason != "hangup" {
			e.Message = "end_reason=" + p.EndReason
		}
		if p.EndReason != "" {
			raw["end_reason"] = p.EndReason
		}
	case EventCallConnect:
		if p.ConnectState == "" {
			return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing params.connect_state")
		}
		raw["connect_state"] = p.ConnectState
		e.Status, e.Type = connectState(p.ConnectState, p.FailedReason)
		if p.FailedReason != "" {
			e.Message = "failed_reason=" + p.FailedReason
			raw["failed_reason"] = p.FailedReason
		}
	default:
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "unsupported event_type %q, want %s or %s",
			ev.EventType, EventCallState, EventCallConnect)
	}
	if t, ok := unixTime(ev.Timestamp); ok {
		e.OccurredAt = t
	}
	for k, s := range map[string]string{"node_id": p.NodeID, "event_channel": ev.EventChannel} {
		if s != "" {
			raw[k] = s
		}
	}
	e.Raw = raw
	return e, nil
}

// callState maps call_state (and end_reason when ended) to a status.
func callState(state, endReason string) (voice.Status, voice.EventType) {
	switch strings.ToLower(state) {
	case "created":
		return voice.StatusQueued, voice.EventStatus
	case "ringing":
		return voice.StatusRinging, voice.EventStatus
	case "answered":
		return voice.StatusAnswered, voice.EventStatus
	case "ended":
		return endStatus(endReason, voice.StatusCompleted)
	}
	return voice.StatusUnknown, voice.EventStatus // "ending" and anything new
}

// endStatus maps an end_reason (SWML and RELAY spellings) to a status;
// reasons it does not know give fallback.
func endStatus(reason string, fallback voice.Status) (voice.Status, voice.EventType) {
	switch strings.ToLower(reason) {
	case "", "hangup", "max_duration":
		return voice.StatusCompleted, voice.EventStatus
	case "busy":
		return voice.StatusBusy, voice.EventStatus
	case "noanswer", "no_answer":
		return voice.StatusNoAnswer, voice.EventStatus
	case "cancel", "abandoned":
		return voice.StatusCancelled, voice.EventStatus
	case "decline", "declined", "not_found":
		return voice.StatusFailed, voice.EventStatus
	case "error":
		return voice.StatusFailed, voice.EventError
	}
	return fallback, voice.EventStatus
}

// connectState maps connect_state (and failed_reason when failed) to a status.
func connectState(state, failedReason string) (voice.Status, voice.EventType) {
	switch strings.ToLower(state) {
	case "connecting":
		return voice.StatusRinging, voice.EventStatus
	case "connected":
		return voice.StatusAnswered, voice.EventStatus
	case "disconnected":
		return voice.StatusCompleted, voice.EventStatus
	case "failed":
		st, typ := endStatus(failedReason, voice.StatusFailed)
		if st == voice.StatusCompleted {
			st = voice.StatusFailed
		}
		return st, typ
	}
	return voice.StatusUnknown, voice.EventStatus
}

// unixTime reads a Unix-seconds timestamp given as a JSON number or string.
func unixTime(raw json.RawMessage) (time.Time, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || s == "null" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), true
}
