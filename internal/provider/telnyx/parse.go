package telnyx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// envelope is a Call Control webhook as Telnyx posts it.
type envelope struct {
	Data *struct {
		RecordType string          `json:"record_type"`
		EventType  text            `json:"event_type"`
		ID         text            `json:"id"`
		OccurredAt text            `json:"occurred_at"`
		Payload    json.RawMessage `json:"payload"`
	} `json:"data"`
}

// payload holds the fields of data.payload callhook reads. Scalars are text
// so that a number where the docs promise a string does not reject a callback;
// every field but call_control_id is optText, so that an event family reusing
// a name for an object (a "result" or "status" that is not a scalar) is still
// stored instead of refused.
type payload struct {
	CallControlID    text            `json:"call_control_id"`
	CallLegID        optText         `json:"call_leg_id"`
	CallSessionID    optText         `json:"call_session_id"`
	ConnectionID     optText         `json:"connection_id"`
	ClientState      optText         `json:"client_state"`
	From             optText         `json:"from"`
	To               optText         `json:"to"`
	Direction        optText         `json:"direction"`
	State            optText         `json:"state"`
	StartTime        optText         `json:"start_time"`
	EndTime          optText         `json:"end_time"`
	HangupCause      optText         `json:"hangup_cause"`
	HangupSource     optText         `json:"hangup_source"`
	SIPHangupCause   optText         `json:"sip_hangup_cause"`
	Digit            optText         `json:"digit"`
	Digits           optText         `json:"digits"`
	Status           optText         `json:"status"`
	Result           optText         `json:"result"`
	Reason           optText         `json:"reason"`
	FailureReason    optText         `json:"failure_reason"`
	CallQualityStats json.RawMessage `json:"call_quality_stats"`
}

// Parse reads one Call Control webhook into one event. Errors wrap
// provider.ErrUnsupportedMediaType or provider.ErrBadPayload.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) {
	e, err := Parse(r)
	if err != nil {
		return nil, err
	}
	return []voice.Event{e}, nil
}

// Parse is the Telnyx webhook parser, usable without a configured provider.
func Parse(r *provider.Request) (voice.Event, error) {
	if mt := r.MediaType(); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return voice.Event{}, provider.Errorf(provider.ErrUnsupportedMediaType, "content type %q, want application/json", mt)
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "empty body")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "invalid JSON: %v", err)
	}
	if env.Data == nil {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing data")
	}
	d := env.Data
	name := normalizeEventType(string(d.EventType))
	if name == "" {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing data.event_type")
	}
	var pl payload
	if raw := bytes.TrimSpace(d.Payload); len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &pl); err != nil {
			return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "data.payload: %v", err)
		}
	}
	callID := strings.TrimSpace(string(pl.CallControlID))
	if callID == "" {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing data.payload.call_control_id")
	}

	e := voice.Event{
		CallID:         callID,
		Type:           voice.EventStatus,
		Status:         voice.StatusUnknown,
		Native:         name,
		Sequence:       -1,
		IdempotencyKey: strings.TrimSpace(string(d.ID)),
		OccurredAt:     parseTime(string(d.OccurredAt)),
		From:           string(pl.From),
		To:             string(pl.To),
		Direction:      direction(string(pl.Direction)),
		DurationS:      duration(string(pl.StartTime), string(pl.EndTime)),
		MOS:            mos(pl.CallQualityStats),
		Raw:            rawValues(pl),
	}

	switch name {
	case "call.initiated":
		switch e.Direction {
		case voice.Inbound:
			e.Status = voice.StatusRinging
		case voice.Outbound:
			e.Status = voice.StatusQueued
		}
		if pl.Direction != "" {
			e.Message = "direction=" + string(pl.Direction)
		}
	case "call.answered", "call.bridged":
		e.Status = voice.StatusAnswered
	case "call.hangup":
		cause := strings.ToLower(strings.TrimSpace(string(pl.HangupCause)))
		e.Status = hangupStatus(cause)
		e.Message = string(pl.HangupCause)
		// A SIP code other than 200 explains the cause ("user_busy sip_hangup_cause=486").
		if sip := strings.TrimSpace(string(pl.SIPHangupCause)); sip != "" && sip != "unspecified" && sip != "200" {
			e.Message = strings.TrimSpace(e.Message + " sip_hangup_cause=" + sip)
		}
	case "call.dtmf.received":
		e.Type = voice.EventDTMF
		e.Status = voice.StatusAnswered
		e.Digit = strings.TrimSpace(string(pl.Digit))
		if e.Digit == "" {
			// Recorded like any keypad input without digits (docs/providers.md):
			// refusing it would only make Telnyx retry a callback that cannot improve.
			e.Message = "no digit"
		}
	case "call.gather.ended":
		// With or without digits: a gather that ended empty (timeout,
		// call_hangup, cancelled …) is a dtmf event with an empty digit, so
		// every adapter records empty keypad input the same way.
		e.Type = voice.EventDTMF
		e.Status = voice.StatusAnswered
		e.Digit = strings.TrimSpace(string(pl.Digits))
		e.Message = strings.TrimSpace(string(pl.Status))
	case "call.machine.detection.ended", "call.machine.premium.detection.ended",
		"call.machine.greeting.ended", "call.machine.premium.greeting.ended":
		// Detection only runs on an answered call; the result (human,
		// machine, not_sure, beep_detected …) is kept in Message, as Vonage's
		// human/machine statuses are.
		e.Status = voice.StatusAnswered
		e.Message = strings.TrimSpace(string(pl.Result))
	default:
		// Events that do not move the call (playback, speak, recording,
		// streaming, conference …) keep how they ended, when they say.
		e.Message = firstText(pl.Result, pl.Status, pl.Reason, pl.FailureReason)
	}
	return e, nil
}

// firstText returns the first non-empty value, trimmed.
func firstText(vs ...optText) string {
	for _, v := range vs {
		if s := strings.TrimSpace(string(v)); s != "" {
			return s
		}
	}
	return ""
}

// normalizeEventType lower-cases an event type and turns the underscore
// spelling Telnyx sometimes uses (streaming_started) into dots. Only names
// without any dot are respelled: underscores inside dotted names are part of
// the name (call.ai_gather.ended, call.ai_gather.partial_results).
func normalizeEventType(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(s, ".") {
		s = strings.ReplaceAll(s, "_", ".")
	}
	return s
}

func direction(s string) voice.Direction {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "incoming", "inbound":
		return voice.Inbound
	case "outgoing", "outbound":
		return voice.Outbound
	}
	return ""
}

// hangupStatus maps a hangup_cause to a terminal status (docs/providers.md, Telnyx).
func hangupStatus(cause string) voice.Status {
	switch cause {
	case "user_busy", "busy":
		return voice.StatusBusy
	case "no_answer", "timeout":
		return voice.StatusNoAnswer
	case "originator_cancel":
		return voice.StatusCancelled
	case "call_rejected", "not_found", "unallocated_number":
		return voice.StatusFailed
	}
	// normal_clearing, time_limit, unspecified and causes Telnyx may add later.
	return voice.StatusCompleted
}

// rawValues keeps the payload values worth showing beside the raw body.
func rawValues(pl payload) map[string]string {
	m := map[string]string{}
	add := func(k string, v optText) {
		if s := strings.TrimSpace(string(v)); s != "" {
			m[k] = s
		}
	}
	add("call_leg_id", pl.CallLegID)
	add("call_session_id", pl.CallSessionID)
	add("connection_id", pl.ConnectionID)
	add("client_state", pl.ClientState)
	add("direction", pl.Direction)
	add("state", pl.State)
	add("hangup_cause", pl.HangupCause)
	add("hangup_source", pl.HangupSource)
	add("sip_hangup_cause", pl.SIPHangupCause)
	add("status", pl.Status)
	add("result", pl.Result)
	add("reason", pl.Reason)
	add("failure_reason", pl.FailureReason)
	if len(m) == 0 {
		return nil
	}
	return m
}

// parseTime reads Telnyx's RFC 3339 times; anything else gives the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func duration(start, end string) *float64 {
	s, e := parseTime(start), parseTime(end)
	if s.IsZero() || e.IsZero() || e.Before(s) {
		return nil
	}
	d := e.Sub(s).Seconds()
	return &d
}

// mos reads call_quality_stats.inbound.mos, the MOS of the audio Telnyx
// received from the callee.
func mos(raw json.RawMessage) *float64 {
	if len(raw) == 0 {
		return nil
	}
	var stats struct {
		Inbound struct {
			MOS text `json:"mos"`
		} `json:"inbound"`
	}
	if err := json.Unmarshal(raw, &stats); err != nil {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(stats.Inbound.MOS)), 64)
	if err != nil || v < 1 || v > 5 {
		return nil
	}
	return &v
}

// text is a JSON scalar read as text (provider.JSONText).
type text = provider.JSONText

// optText is a payload field callhook only shows or maps: a scalar read as
// text, anything else (object, array) read as empty.
type optText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *optText) UnmarshalJSON(b []byte) error {
	var v text
	if err := v.UnmarshalJSON(b); err != nil {
		*t = ""
		return nil
	}
	*t = optText(v)
	return nil
}
