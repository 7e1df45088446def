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

// RELAY event types this adapter maps; any other event type naming a call
// is accepted as status unknown (docs/providers.md, SignalWire).
const (
	EventCallState   = "calling.call.state"
	EventCallConnect = "calling.call.connect"
	EventCallCollect = "calling.call.collect"
	EventCallDetect  = "calling.call.detect"
)

// RelayEvent is the envelope of a RELAY/SWML callback (docs/providers.md, "SignalWire").
type RelayEvent struct {
	EventType    string          `json:"event_type"`
	EventChannel string          `json:"event_channel"`
	Timestamp    json.RawMessage `json:"timestamp"`
	ProjectID    string          `json:"project_id"`
	SpaceID      string          `json:"space_id"`
	Params       RelayParams     `json:"params"`
	// CallID is where SWML callbacks without an event_type (SWAIG and
	// post-prompt requests) name the call.
	CallID string `json:"call_id"`
}

// RelayParams are the params of the RELAY call events: call.state and
// call.connect, call.collect (result, final, state), call.detect (detect),
// and the state of the others (play, record, tap, send_digits, dial).
type RelayParams struct {
	CallID       string        `json:"call_id"`
	NodeID       string        `json:"node_id"`
	ControlID    string        `json:"control_id"`
	CallState    string        `json:"call_state"`
	ConnectState string        `json:"connect_state"`
	FailedReason string        `json:"failed_reason"`
	Direction    string        `json:"direction"`
	EndReason    string        `json:"end_reason"`
	Device       RelayDevice   `json:"device"`
	Result       CollectResult `json:"result"`
	Final        *bool         `json:"final"`
	State        string        `json:"state"`
	DialState    string        `json:"dial_state"`
	Detect       Detector      `json:"detect"`
	// Call is the call a calling.call.dial event reports.
	Call struct {
		CallID string `json:"call_id"`
	} `json:"call"`
}

// CollectResult is the result of a calling.call.collect event: type digit
// (params.digits, params.terminator), speech (params.text), no_input,
// no_match, error or start_of_input.
type CollectResult struct {
	Type   string `json:"type"`
	Params struct {
		Digits     string          `json:"digits"`
		Terminator string          `json:"terminator"`
		Text       string          `json:"text"`
		Confidence json.RawMessage `json:"confidence"`
	} `json:"params"`
}

// Detector is the detect object of a calling.call.detect event: type
// machine (event MACHINE, HUMAN, UNKNOWN, READY, NOT_READY), fax (CED, CNG)
// or digit (the key), each also finished or error.
type Detector struct {
	Type   string `json:"type"`
	Params struct {
		Event string          `json:"event"`
		Beep  json.RawMessage `json:"beep"`
	} `json:"params"`
}

// RelayDevice is the phone device of a RELAY call.
type RelayDevice struct {
	Type   string `json:"type"`
	Params struct {
		FromNumber string `json:"from_number"`
		ToNumber   string `json:"to_number"`
	} `json:"params"`
}

// nativeSWML labels a JSON callback that names a call but no event_type.
const nativeSWML = "swml-callback"

// ParseRelay turns a RELAY/SWML JSON callback into one event. Errors wrap
// provider.ErrBadPayload: a body that is not a JSON object or names no call.
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
		callID = strings.TrimSpace(p.Call.CallID)
	}
	if callID == "" {
		callID = strings.TrimSpace(ev.CallID)
	}
	if callID == "" {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing params.call_id")
	}
	if len(callID) > 128 {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "params.call_id is longer than 128 characters")
	}
	e := voice.Event{
		CallID:   callID,
		Type:     voice.EventStatus,
		Status:   voice.StatusUnknown,
		Native:   ev.EventType,
		Sequence: -1,
		From:     p.Device.Params.FromNumber,
		To:       p.Device.Params.ToNumber,
	}
	if e.Native == "" {
		e.Native = nativeSWML
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
	case EventCallCollect:
		collect(&e, p)
		if p.Result.Type != "" {
			raw["result"] = p.Result.Type
		}
	case EventCallDetect:
		detect(&e, p.Detect)
		if p.Detect.Type != "" {
			raw["detect"] = p.Detect.Type + ":" + p.Detect.Params.Event
		}
	default:
		// Play, record, tap, send_digits, dial and whatever SignalWire adds:
		// kept, with their state, but they say nothing about the call.
		for _, kv := range [][2]string{{"state", p.State}, {"dial_state", p.DialState}} {
			if kv[1] != "" {
				e.Message = kv[0] + "=" + kv[1]
				break
			}
		}
	}
	if t, ok := unixTime(ev.Timestamp); ok {
		e.OccurredAt = t
	}
	for k, s := range map[string]string{"node_id": p.NodeID, "event_channel": ev.EventChannel, "control_id": p.ControlID} {
		if s != "" {
			raw[k] = s
		}
	}
	e.Raw = raw
	return e, nil
}

// collect maps a calling.call.collect result (from collect or prompt). The
// call is answered (collecting needs an answered call); a final digit result
// is keypad input; speech, no_input, no_match and error end the capture
// without digits: a dtmf event with an empty digit and the reason in the
// message. Interim results (final false) and start_of_input are status
// events, so they never trigger an alert action.
func collect(e *voice.Event, p RelayParams) {
	e.Status = voice.StatusAnswered
	r := p.Result
	switch {
	case p.Final != nil && !*p.Final:
		e.Message = "result=" + r.Type + " final=false"
	case r.Type == "digit":
		e.Type, e.Digit = voice.EventDTMF, strings.TrimSpace(r.Params.Digits)
		if r.Params.Terminator != "" {
			e.Message = "terminator=" + r.Params.Terminator
		}
		if e.Digit == "" {
			e.Message = strings.TrimSpace("result=digit " + e.Message)
		}
	case r.Type == "speech":
		e.Type = voice.EventDTMF
		e.Message = "speech=" + strings.TrimSpace(r.Params.Text)
	case r.Type == "no_input" || r.Type == "no_match" || r.Type == "error":
		e.Type = voice.EventDTMF
		e.Message = "result=" + r.Type
	case r.Type != "":
		e.Message = "result=" + r.Type
	case p.State != "":
		e.Message = "state=" + p.State
	}
}

// detect maps a calling.call.detect result. Detection runs on an answered
// call, so every result is status answered with "type=event" (and
// beep=true) in the message, except a detected key, which is keypad input.
func detect(e *voice.Event, d Detector) {
	if d.Type == "" {
		return
	}
	e.Status = voice.StatusAnswered
	ev := strings.TrimSpace(d.Params.Event)
	if d.Type == "digit" && len(ev) == 1 && strings.Contains("0123456789*#", ev) {
		e.Type, e.Digit = voice.EventDTMF, ev
		return
	}
	e.Message = d.Type + "=" + ev
	if strings.TrimSpace(string(d.Params.Beep)) == "true" {
		e.Message += " beep=true"
	}
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
