package wavecell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// kind is which of the three wire shapes a callback has.
type kind int

const (
	kindLegacy    kind = iota + 1 // Number Masking handleURL event
	kindEnvelope                  // {"namespace":"VOICE","eventType",…,"payload"}
	kindMessaging                 // Voice Messaging DTMF callback
)

// Envelope event types.
const (
	eventCallStatus     = "CALL_STATUS"
	eventCallAction     = "CALL_ACTION"
	eventSessionSummary = "SESSION_SUMMARY"
)

// callback is a decoded request: its events plus what Reply needs to know.
type callback struct {
	kind      kind
	eventType string // legacy or envelope eventType
	// callStatus is the envelope payload's callStatus.
	callStatus     string
	clientActionID string
	subAccountID   string
	events         []voice.Event
}

// Parse reads an 8x8 callback into events. Errors wrap
// provider.ErrUnsupportedMediaType or provider.ErrBadPayload. With
// sub_account_id configured, a callback of another sub-account is a bad
// payload.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) {
	cb, err := decode(r)
	if err != nil {
		return nil, err
	}
	want := strings.TrimSpace(p.cfg["sub_account_id"])
	if want != "" && cb.subAccountID != "" && !strings.EqualFold(want, cb.subAccountID) {
		return nil, provider.Errorf(provider.ErrBadPayload, "payload.subAccountId %q is not the configured sub_account_id", cb.subAccountID)
	}
	return cb.events, nil
}

// Parse is the 8x8 parser without the sub-account check, usable without a
// configured provider.
func Parse(r *provider.Request) ([]voice.Event, error) {
	cb, err := decode(r)
	if err != nil {
		return nil, err
	}
	return cb.events, nil
}

func decode(r *provider.Request) (callback, error) {
	if mt := r.MediaType(); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return callback{}, provider.Errorf(provider.ErrUnsupportedMediaType, "content type %q, want application/json", mt)
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		return callback{}, provider.Errorf(provider.ErrBadPayload, "empty body")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil || keys == nil {
		if err == nil {
			err = fmt.Errorf("body is null")
		}
		return callback{}, provider.Errorf(provider.ErrBadPayload, "body must be a JSON object: %v", err)
	}
	var (
		cb  callback
		err error
	)
	switch {
	case has(keys, "payload") || has(keys, "namespace"):
		cb, err = decodeEnvelope(body)
	case has(keys, "uid") || has(keys, "actionDetails"):
		cb, err = decodeMessaging(body)
	case has(keys, "callId") || has(keys, "eventType"):
		cb, err = decodeLegacy(body)
	default:
		err = fmt.Errorf("unrecognized body: want a handleURL event (callId, eventType), a VOICE webhook (namespace, eventType, payload) or a DTMF callback (uid, status)")
	}
	if err != nil {
		return callback{}, provider.Errorf(provider.ErrBadPayload, "%v", err)
	}
	return cb, nil
}

func has(m map[string]json.RawMessage, k string) bool {
	v, ok := m[k]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// legacyEvent is a Number Masking handleURL event.
type legacyEvent struct {
	CallID       text            `json:"callId"`
	SessionID    text            `json:"sessionId"`
	EventType    text            `json:"eventType"`
	SourceMsisdn text            `json:"sourceMsisdn"`
	TargetMsisdn text            `json:"targetMsisdn"`
	Direction    text            `json:"direction"`
	ReferenceID  text            `json:"referenceId"`
	Timestamp    text            `json:"timestamp"`
	Status       text            `json:"status"`
	Duration     text            `json:"duration"`
	DTMF         json.RawMessage `json:"dtmf"`
	SIPStatus    text            `json:"sipStatus"`
}

func decodeLegacy(body []byte) (callback, error) {
	var in legacyEvent
	if err := json.Unmarshal(body, &in); err != nil {
		return callback{}, fmt.Errorf("invalid handleURL event: %v", err)
	}
	callID := strings.TrimSpace(string(in.CallID))
	if callID == "" {
		return callback{}, fmt.Errorf("missing callId")
	}
	et := strings.ToUpper(strings.TrimSpace(string(in.EventType)))
	if et == "" {
		return callback{}, fmt.Errorf("missing eventType")
	}
	status := strings.ToUpper(strings.TrimSpace(string(in.Status)))
	e := voice.Event{
		CallID:     callID,
		Type:       voice.EventStatus,
		Status:     voice.StatusUnknown,
		Native:     et,
		Message:    string(in.Status),
		Sequence:   -1,
		OccurredAt: parseTime(string(in.Timestamp)),
		Direction:  direction(string(in.Direction)),
		From:       string(in.SourceMsisdn),
		To:         string(in.TargetMsisdn),
		Raw: rawValues(map[string]text{"sessionId": in.SessionID, "referenceId": in.ReferenceID,
			"status": in.Status, "sipStatus": in.SIPStatus, "direction": in.Direction}),
	}
	switch et {
	case "CALL_RECEIVED":
		switch status {
		case "CONNECTED":
			e.Status = voice.StatusAnswered
		case "NOT_CONNECTED":
			e.Status = voice.StatusRinging
		}
	case "DTMF_RECEIVED":
		d, err := digits(in.DTMF)
		if err != nil {
			return callback{}, fmt.Errorf("dtmf: %v", err)
		}
		e.Type, e.Digit, e.Status, e.Message = voice.EventDTMF, d, voice.StatusAnswered, ""
		if d == "" {
			// Input that ended with no digits is recorded and changes
			// nothing (docs/providers.md, "8x8 (Wavecell)").
			e.Message = noInput
		}
	}
	e.DurationS = durationOf(string(in.Duration), e.Status)
	return callback{kind: kindLegacy, eventType: et, events: []voice.Event{e}}, nil
}

// envelope is the current webhook envelope.
type envelope struct {
	Namespace   text            `json:"namespace"`
	EventType   text            `json:"eventType"`
	Description text            `json:"description"`
	Payload     json.RawMessage `json:"payload"`
}

// envelopePayload holds the payload fields of CALL_STATUS, CALL_ACTION and
// SESSION_SUMMARY callhook reads.
type envelopePayload struct {
	EventID        text            `json:"eventId"`
	CallID         text            `json:"callId"`
	SessionID      text            `json:"sessionId"`
	SubAccountID   text            `json:"subAccountId"`
	CallStatus     text            `json:"callStatus"`
	CallDirection  text            `json:"callDirection"`
	CallType       text            `json:"callType"`
	Source         text            `json:"source"`
	Destination    text            `json:"destination"`
	CallDuration   text            `json:"callDuration"`
	EventData      json.RawMessage `json:"eventData"`
	SIPCode        text            `json:"sipCode"`
	Timestamp      text            `json:"timestamp"`
	ClientActionID text            `json:"clientActionId"`
	// SESSION_SUMMARY
	SessionStatus text            `json:"sessionStatus"`
	StartTime     text            `json:"startTime"`
	EndTime       text            `json:"endTime"`
	LastAction    text            `json:"lastAction"`
	CallCount     text            `json:"callCount"`
	Details       json.RawMessage `json:"details"`
	ErrorDetails  *struct {
		ErrorCode text `json:"errorCode"`
		ErrorMsg  text `json:"errorMsg"`
	} `json:"errorDetails"`
}

// noInput is the message of keypad input that ended with no digits.
const noInput = "no input"

func decodeEnvelope(body []byte) (callback, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return callback{}, fmt.Errorf("invalid webhook envelope: %v", err)
	}
	if ns := strings.TrimSpace(string(env.Namespace)); ns != "" && !strings.EqualFold(ns, "VOICE") {
		return callback{}, fmt.Errorf("namespace %q is not VOICE", ns)
	}
	et := strings.ToUpper(strings.TrimSpace(string(env.EventType)))
	if et == "" {
		return callback{}, fmt.Errorf("missing eventType")
	}
	raw := bytes.TrimSpace(env.Payload)
	if len(raw) == 0 || string(raw) == "null" {
		return callback{}, fmt.Errorf("missing payload")
	}
	var pl envelopePayload
	if err := json.Unmarshal(raw, &pl); err != nil {
		return callback{}, fmt.Errorf("payload: %v", err)
	}
	cb := callback{kind: kindEnvelope, eventType: et, callStatus: strings.ToUpper(strings.TrimSpace(string(pl.CallStatus))),
		clientActionID: strings.TrimSpace(string(pl.ClientActionID)), subAccountID: strings.TrimSpace(string(pl.SubAccountID))}
	var err error
	if et == eventSessionSummary {
		cb.events, err = sessionEvents(et, pl)
	} else {
		var e voice.Event
		e, err = callEvent(et, pl)
		cb.events = []voice.Event{e}
	}
	if err != nil {
		return callback{}, err
	}
	return cb, nil
}

// callEvent maps a CALL_STATUS or CALL_ACTION payload.
func callEvent(et string, pl envelopePayload) (voice.Event, error) {
	callID := strings.TrimSpace(string(pl.CallID))
	if callID == "" {
		return voice.Event{}, fmt.Errorf("missing payload.callId")
	}
	cs := strings.ToUpper(strings.TrimSpace(string(pl.CallStatus)))
	sip, _ := strconv.Atoi(strings.TrimSpace(string(pl.SIPCode)))
	e := voice.Event{
		CallID:         callID,
		Type:           voice.EventStatus,
		Status:         callStatus(cs, sip),
		Native:         et,
		Sequence:       -1,
		IdempotencyKey: strings.TrimSpace(string(pl.EventID)),
		OccurredAt:     parseTime(string(pl.Timestamp)),
		Direction:      direction(string(pl.CallDirection)),
		From:           string(pl.Source),
		To:             string(pl.Destination),
		Raw: rawValues(map[string]text{"sessionId": pl.SessionID, "subAccountId": pl.SubAccountID,
			"callStatus": pl.CallStatus, "callType": pl.CallType, "sipCode": pl.SIPCode,
			"clientActionId": pl.ClientActionID}),
	}
	in, err := eventDataInput(pl.EventData)
	if err != nil {
		return voice.Event{}, err
	}
	// An input that ended with no digits: DTMF_RECEIVED without digits, or
	// an ACTION_COMPLETED whose eventData says what was captured (nothing).
	empty := in.digits == "" && (cs == "DTMF_RECEIVED" || (cs == "ACTION_COMPLETED" && in.captured))
	if in.digits != "" || empty {
		e.Type, e.Digit, e.Status = voice.EventDTMF, in.digits, voice.StatusAnswered
	}
	if !known[et] {
		// An eventType this adapter does not know: kept with its name,
		// status unknown, answered with no instructions.
		e.Type, e.Digit, e.Status = voice.EventStatus, "", voice.StatusUnknown
	}
	e.DurationS = durationOf(string(pl.CallDuration), e.Status)

	msg := []string{cs}
	if e.Type == voice.EventDTMF && in.digits == "" {
		if in.speech != "" {
			msg = append(msg, "asrCaptured="+in.speech)
		} else {
			msg = append(msg, noInput)
		}
	}
	if cs == "CALL_DISCONNECTED" && pl.CallDuration != "" {
		msg = append(msg, "callDuration="+string(pl.CallDuration))
	}
	if pl.SIPCode != "" && (cs == "CALL_CONNECTED" || sip >= 400) {
		msg = append(msg, "sipCode="+string(pl.SIPCode))
	}
	if pl.ClientActionID != "" {
		msg = append(msg, "clientActionId="+string(pl.ClientActionID))
	}
	e.Message = strings.TrimSpace(strings.Join(msg, " "))
	return e, nil
}

// known are the envelope eventTypes this adapter maps.
var known = map[string]bool{eventCallStatus: true, eventCallAction: true, eventSessionSummary: true}

// callStatus maps a callStatus, refining CALL_DISCONNECTED by the SIP code
// (an inference from RFC 3261; 8x8 does not document it).
func callStatus(cs string, sip int) voice.Status {
	switch cs {
	case "CALL_INITIATED":
		return voice.StatusQueued
	case "CALL_RECEIVED":
		return voice.StatusRinging
	case "CALL_CONNECTED":
		return voice.StatusAnswered
	case "CALL_DISCONNECTED":
		switch {
		case sip == 486 || sip == 600:
			return voice.StatusBusy
		case sip == 480 || sip == 408:
			return voice.StatusNoAnswer
		case sip == 487:
			return voice.StatusCancelled
		case sip >= 400:
			return voice.StatusFailed
		}
		return voice.StatusCompleted
	}
	// CALL_UPDATED, ACTION_COMPLETED, DTMF_RECEIVED and unknown values.
	return voice.StatusUnknown
}

// sessionEvents maps a SESSION_SUMMARY to one status event per call found.
func sessionEvents(et string, pl envelopePayload) ([]voice.Event, error) {
	ss := strings.TrimSpace(string(pl.SessionStatus))
	if ss == "" {
		return nil, fmt.Errorf("missing payload.sessionStatus")
	}
	sessionID := strings.TrimSpace(string(pl.SessionID))
	ids := []string{}
	if id := strings.TrimSpace(string(pl.CallID)); id != "" {
		ids = append(ids, id)
	}
	ids = appendCallIDs(ids, pl.Details, 0)
	if len(ids) == 0 {
		if sessionID == "" {
			return nil, fmt.Errorf("missing payload.sessionId")
		}
		ids = append(ids, sessionID)
	}
	typ, status := sessionStatus(ss)
	key := strings.TrimSpace(string(pl.EventID))
	if key == "" && sessionID != "" {
		key = "session-summary:" + sessionID
	}
	msg := ss
	if pl.LastAction != "" {
		msg += " lastAction=" + string(pl.LastAction)
	}
	if ed := pl.ErrorDetails; ed != nil {
		// The error details say why a session failed: keep them.
		if ed.ErrorCode != "" {
			msg += " errorCode=" + string(ed.ErrorCode)
		}
		if ed.ErrorMsg != "" {
			msg += " errorMsg=" + string(ed.ErrorMsg)
		}
	}
	occurred := parseTime(string(pl.EndTime))
	if occurred.IsZero() {
		occurred = parseTime(string(pl.Timestamp))
	}
	events := make([]voice.Event, 0, len(ids))
	for _, id := range ids {
		events = append(events, voice.Event{
			CallID:         id,
			Type:           typ,
			Status:         status,
			Native:         et,
			Message:        msg,
			Sequence:       -1,
			IdempotencyKey: key,
			OccurredAt:     occurred,
			Raw: rawValues(map[string]text{"sessionId": pl.SessionID, "subAccountId": pl.SubAccountID,
				"sessionStatus": pl.SessionStatus, "lastAction": pl.LastAction, "callCount": pl.CallCount,
				"startTime": pl.StartTime, "endTime": pl.EndTime}),
		})
	}
	return events, nil
}

func sessionStatus(ss string) (voice.EventType, voice.Status) {
	s := strings.ToUpper(strings.Join(strings.Fields(ss), "_"))
	switch {
	case s == "COMPLETED" || strings.HasPrefix(s, "COMPLETED_"):
		return voice.EventStatus, voice.StatusCompleted
	case s == "NO_ANSWER":
		return voice.EventStatus, voice.StatusNoAnswer
	case s == "BUSY":
		return voice.EventStatus, voice.StatusBusy
	case s == "CANCELED" || s == "CANCELLED":
		return voice.EventStatus, voice.StatusCancelled
	case s == "FAILED" || s == "UNSUBSCRIBED_CONTACT":
		return voice.EventStatus, voice.StatusFailed
	case s == "ERROR":
		return voice.EventError, voice.StatusFailed
	}
	return voice.EventStatus, voice.StatusUnknown
}

// appendCallIDs collects "callId" strings from details, which may be an
// object or an array nested up to three levels.
func appendCallIDs(ids []string, raw json.RawMessage, depth int) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || depth > 3 {
		return ids
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			for _, it := range items {
				ids = appendCallIDs(ids, it, depth+1)
			}
		}
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return ids
		}
		if v, ok := obj["callId"]; ok {
			var id string
			if json.Unmarshal(v, &id) == nil {
				if id = strings.TrimSpace(id); id != "" && !contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			if k != "callId" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ids = appendCallIDs(ids, obj[k], depth+1)
		}
	}
	return ids
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// messagingEvent is the older Voice Messaging DTMF callback.
type messagingEvent struct {
	UID    text `json:"uid"`
	Status *struct {
		Code      text `json:"code"`
		Timestamp text `json:"timestamp"`
	} `json:"status"`
	Destination     text `json:"destination"`
	ClientRequestID text `json:"clientRequestId"`
	ActionDetails   *struct {
		DTMF json.RawMessage `json:"dtmf"`
	} `json:"actionDetails"`
}

func decodeMessaging(body []byte) (callback, error) {
	var in messagingEvent
	if err := json.Unmarshal(body, &in); err != nil {
		return callback{}, fmt.Errorf("invalid voice messaging callback: %v", err)
	}
	uid := strings.TrimSpace(string(in.UID))
	if uid == "" {
		return callback{}, fmt.Errorf("missing uid")
	}
	code := ""
	var ts string
	if in.Status != nil {
		code = strings.ToUpper(strings.TrimSpace(string(in.Status.Code)))
		ts = string(in.Status.Timestamp)
	}
	if code == "" {
		return callback{}, fmt.Errorf("missing status.code")
	}
	var d string
	if in.ActionDetails != nil {
		var err error
		if d, err = digits(in.ActionDetails.DTMF); err != nil {
			return callback{}, fmt.Errorf("actionDetails.dtmf: %v", err)
		}
	}
	e := voice.Event{
		CallID:     uid,
		Type:       voice.EventStatus,
		Status:     voice.StatusUnknown,
		Native:     code,
		Message:    code,
		Sequence:   -1,
		OccurredAt: parseTime(ts),
		To:         string(in.Destination),
		Raw:        rawValues(map[string]text{"clientRequestId": in.ClientRequestID}),
	}
	if d != "" || code == "DTMF" {
		e.Type, e.Digit, e.Status, e.Message = voice.EventDTMF, d, voice.StatusAnswered, ""
		if d == "" {
			e.Message = noInput
		}
	}
	return callback{kind: kindMessaging, eventType: code, events: []voice.Event{e}}, nil
}

// digits reads DTMF input given as a JSON string ("12#") or, in the legacy
// API, as a JSON number (787), whose literal json.Number keeps as text.
func digits(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("want a string or a number")
	}
	return n.String(), nil
}

// input is what payload.eventData says was captured.
type input struct {
	digits string
	speech string
	// captured is true when eventData reports a capture (a dtmf or
	// asrCaptured key, even null, or the older string form).
	captured bool
}

// eventDataInput reads payload.eventData: an object {"dtmf","asrCaptured"}
// whose values may be null, or, in 8x8's version 2 payloads, a string
// holding the digits. eventData itself may be null.
func eventDataInput(raw json.RawMessage) (input, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return input{}, nil
	}
	if raw[0] == '"' {
		d, err := digits(raw)
		if err != nil {
			return input{}, fmt.Errorf("payload.eventData: %v", err)
		}
		return input{digits: d, captured: true}, nil
	}
	var ed map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ed); err != nil {
		return input{}, fmt.Errorf("payload.eventData: %v", err)
	}
	var in input
	if v, ok := ed["dtmf"]; ok {
		d, err := digits(v)
		if err != nil {
			return input{}, fmt.Errorf("payload.eventData.dtmf: %v", err)
		}
		in.digits, in.captured = d, true
	}
	if v, ok := ed["asrCaptured"]; ok {
		var sp text
		if err := json.Unmarshal(v, &sp); err != nil {
			return input{}, fmt.Errorf("payload.eventData.asrCaptured: %v", err)
		}
		in.speech, in.captured = strings.TrimSpace(string(sp)), true
	}
	return in, nil
}

func direction(s string) voice.Direction {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "0", "INBOUND", "INCOMING":
		return voice.Inbound
	case "1", "OUTBOUND", "OUTGOING":
		return voice.Outbound
	}
	return ""
}

// durationOf reads a duration in seconds, kept when positive or when the
// event ends the call.
func durationOf(s string, st voice.Status) *float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v != v || v > 1e9 {
		return nil
	}
	if v == 0 && !st.Terminal() {
		return nil
	}
	return &v
}

// parseTime reads 8x8's ISO 8601 times; anything else gives the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func rawValues(in map[string]text) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if s := strings.TrimSpace(string(v)); s != "" {
			out[k] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// text is a JSON scalar read as text (provider.JSONText).
type text = provider.JSONText
