package twilio

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Native labels of the events this package produces (voice.Event.Native).
const (
	NativeStatus       = "status-callback"
	NativeGather       = "gather"
	NativeNotification = "call-notification"
	NativePoll         = "poll"

	nativePartial  = "gather-partial"
	nativeAMD      = "amd-status-callback"
	nativeCallback = "callback"
)

// noInput is the message of a keypad capture that ended without digits
// (docs/providers.md: empty keypad input is recorded and changes nothing).
const noInput = "no input"

// StatusMapper turns a native CallStatus value into a normalized status and
// the event type it implies. Twilio-compatible providers with their own
// vocabulary (Dograh) pass theirs to ParseFormWith.
type StatusMapper func(callStatus string) (voice.Status, voice.EventType)

// MapStatus is Twilio's status map (docs/providers.md, "Twilio"): initiated and queued
// → queued, in-progress and answered → answered, canceled → cancelled,
// no-answer → no_answer, ringing/completed/busy/failed as themselves,
// anything else → unknown. Every Twilio status is an EventStatus.
func MapStatus(callStatus string) (voice.Status, voice.EventType) {
	var st voice.Status
	switch strings.ToLower(strings.TrimSpace(callStatus)) {
	case "queued", "initiated":
		st = voice.StatusQueued
	case "ringing":
		st = voice.StatusRinging
	case "in-progress", "answered":
		st = voice.StatusAnswered
	case "completed":
		st = voice.StatusCompleted
	case "busy":
		st = voice.StatusBusy
	case "no-answer":
		st = voice.StatusNoAnswer
	case "failed":
		st = voice.StatusFailed
	case "canceled":
		st = voice.StatusCancelled
	default:
		st = voice.StatusUnknown
	}
	return st, voice.EventStatus
}

// rawKeys are the native parameters kept in voice.Event.Raw when present.
var rawKeys = []string{
	"CallStatus", "SequenceNumber", "CallbackSource", "Timestamp", "Direction",
	"AccountSid", "ParentCallSid", "AnsweredBy", "MachineDetectionDuration",
	"CallDuration", "Duration", "SipResponseCode", "ErrorCode", "ErrorMessage",
	"Digits", "FinishedOnKey", "SpeechResult", "Confidence", "msg",
	"DialCallStatus", "DialCallSid", "DialCallDuration", "StableSpeechResult", "UnstableSpeechResult",
	"Stability", "RecordingStatus", "RecordingSid", "StatusCallbackEvent", "StreamEvent", "StreamSid",
	"TranscriptionStatus", "TranscriptionEvent", "ConferenceSid",
}

// maxIDLen bounds call ids; real ones are 34 (Twilio) or 36 (UUID) characters.
const maxIDLen = 128

// IsGather reports whether v is a <Gather> action callback rather than a
// status callback: it is not from call-progress-events and carries Digits,
// FinishedOnKey or SpeechResult (even empty: a gather that timed out with
// actionOnEmptyResult), or msg=Gather End.
func IsGather(v url.Values) bool {
	if v.Get("CallbackSource") == "call-progress-events" {
		return false
	}
	return v.Has("Digits") || v.Has("FinishedOnKey") || v.Has("SpeechResult") || v.Get("msg") == "Gather End"
}

// kind is which of the callbacks Twilio sends to a voice URL a form is.
type kind int

const (
	kindStatus  kind = iota // status callback, voice request or <Dial> action: has CallStatus
	kindGather              // <Gather> action
	kindPartial             // <Gather partialResultCallback>: interim speech
	kindAMD                 // asyncAmdStatusCallback: AnsweredBy without CallStatus
	kindOther               // another Twilio callback on the call (recording, stream, conference, ...)
)

// nativeOther labels a kindOther callback by the field that names its
// event, most specific first; the value goes to the message as name=value.
var nativeOther = []struct{ field, native string }{
	{"StatusCallbackEvent", ""},
	{"StreamEvent", ""},
	{"TranscriptionEvent", ""},
	{"RecordingStatus", "recording-status-callback"},
	{"TranscriptionStatus", "transcription-callback"},
}

// classify tells the kind of a form that has a CallSid. Progress events
// are always status callbacks; a form with neither CallStatus nor any
// known marker is a Twilio callback only if it names its account.
func classify(v url.Values) (kind, bool) {
	switch {
	case v.Get("CallbackSource") == "call-progress-events":
		return kindStatus, true
	case IsGather(v):
		return kindGather, true
	case v.Has("UnstableSpeechResult") || v.Has("StableSpeechResult"):
		return kindPartial, true
	case strings.TrimSpace(v.Get("CallStatus")) != "":
		return kindStatus, true
	case strings.TrimSpace(v.Get("AnsweredBy")) != "":
		return kindAMD, true
	case v.Get("AccountSid") != "":
		return kindOther, true
	}
	for _, o := range nativeOther {
		if v.Get(o.field) != "" {
			return kindOther, true
		}
	}
	return 0, false
}

// ParseForm turns the parameters of a Twilio-format callback (status
// callback or <Gather> action; Twilio, SignalWire cXML and Dograh send the
// same names) into one event, with Twilio's status vocabulary.
func ParseForm(v url.Values) (voice.Event, error) {
	return ParseFormWith(v, MapStatus)
}

// ParseFormWith is ParseForm with another status vocabulary. Every callback
// Twilio documents for a voice URL gives one event (docs/providers.md,
// Twilio): status callbacks, voice requests and <Dial> actions by their
// CallStatus; <Gather> actions as dtmf (no digits: an empty digit and "no
// input"); partial speech results and asynchronous AMD results as answered
// (both only exist on an answered call); any other callback naming the call
// and the account as status unknown. Errors wrap provider.ErrBadPayload and
// name the missing or bad field.
func ParseFormWith(v url.Values, mapStatus StatusMapper) (voice.Event, error) {
	callSid := strings.TrimSpace(v.Get("CallSid"))
	if err := checkID("CallSid", callSid); err != nil {
		return voice.Event{}, err
	}
	k, ok := classify(v)
	if !ok {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "missing CallStatus (and no Digits or AccountSid): not a Twilio callback")
	}
	callStatus := strings.TrimSpace(v.Get("CallStatus"))
	e := voice.Event{
		CallID:   callSid,
		Type:     voice.EventStatus,
		Status:   voice.StatusUnknown,
		Native:   NativeStatus,
		Sequence: -1,
		From:     v.Get("From"),
		To:       v.Get("To"),
	}
	if callStatus != "" {
		e.Status, e.Type = mapStatus(callStatus)
	}
	var msg []string
	switch k {
	case kindGather:
		e.Type = voice.EventDTMF
		e.Native = NativeGather
		e.Digit = strings.TrimSpace(v.Get("Digits"))
	case kindPartial:
		e.Type, e.Status, e.Native = voice.EventStatus, voice.StatusAnswered, nativePartial
	case kindAMD:
		e.Type, e.Status, e.Native = voice.EventStatus, voice.StatusAnswered, nativeAMD
	case kindOther:
		e.Native = nativeCallback
		for _, o := range nativeOther {
			if s := strings.TrimSpace(v.Get(o.field)); s != "" {
				e.Native = o.native
				if e.Native == "" {
					e.Native = s
				}
				msg = append(msg, o.field+"="+s)
				break
			}
		}
	}
	switch d := strings.ToLower(v.Get("Direction")); {
	case d == "inbound":
		e.Direction = voice.Inbound
	case strings.HasPrefix(d, "outbound"):
		e.Direction = voice.Outbound
	}
	if s := strings.TrimSpace(v.Get("SequenceNumber")); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			switch k {
			case kindStatus:
				e.Sequence = n
				e.IdempotencyKey = callSid + ":" + s
			case kindPartial:
				// Partial results number themselves apart from status
				// callbacks: same CallSid and number, another event.
				e.IdempotencyKey = callSid + ":partial:" + s
			}
		}
	}
	// A malformed Timestamp is kept in Raw but does not reject the callback:
	// losing a status change is worse than lacking its provider time.
	if ts := strings.TrimSpace(v.Get("Timestamp")); ts != "" {
		if t, ok := ParseTimestamp(ts); ok {
			e.OccurredAt = t
		}
	}
	if d, ok := parseSeconds(v.Get("CallDuration")); ok {
		e.DurationS = &d
	}
	if e.Status == voice.StatusCompleted && v.Get("CallDuration") != "" {
		msg = append(msg, "CallDuration="+v.Get("CallDuration"))
	}
	for _, key := range []string{"AnsweredBy", "DialCallStatus", "FinishedOnKey", "SpeechResult",
		"StableSpeechResult", "UnstableSpeechResult", "SipResponseCode", "ErrorCode", "ErrorMessage"} {
		// ErrorCode 0 (recording callbacks) means there was no error.
		if s := strings.TrimSpace(v.Get(key)); s != "" && !(key == "ErrorCode" && s == "0") {
			msg = append(msg, key+"="+s)
		}
	}
	if k == kindGather && e.Digit == "" && strings.TrimSpace(v.Get("SpeechResult")) == "" {
		// The gather ended without input (timeout, actionOnEmptyResult);
		// the reason is recorded, the digit stays empty and maps to nothing.
		msg = append(msg, noInput)
	}
	e.Message = strings.Join(msg, " ")
	e.Raw = RawValues(v, rawKeys...)
	return e, nil
}

// RawValues copies the non-empty values of keys from v, for voice.Event.Raw.
// It returns nil when none is set.
func RawValues(v url.Values, keys ...string) map[string]string {
	var raw map[string]string
	for _, k := range keys {
		if s := v.Get(k); s != "" {
			if raw == nil {
				raw = map[string]string{}
			}
			raw[k] = s
		}
	}
	return raw
}

// ParseTimestamp reads Twilio's RFC 2822 Timestamp ("Tue, 14 Jan 2025
// 10:15:02 +0000"), also without the weekday or with a zone name, and RFC 3339.
func ParseTimestamp(s string) (time.Time, bool) {
	// The form Twilio sends, first: mail.ParseDate reads it too, at several
	// times the cost (a tenth of parsing a status callback).
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t.UTC(), true
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

func parseSeconds(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f || f > 1e9 {
		return 0, false
	}
	return f, true
}

// checkID rejects empty, oversized or control-character ids. It does not
// check a prefix: SignalWire and emulators use UUIDs.
func checkID(name, id string) error {
	if id == "" {
		return provider.Errorf(provider.ErrBadPayload, "missing %s", name)
	}
	if len(id) > maxIDLen {
		return provider.Errorf(provider.ErrBadPayload, "%s is longer than %d characters", name, maxIDLen)
	}
	if strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return provider.Errorf(provider.ErrBadPayload, "%s contains control characters", name)
	}
	return nil
}

// Notification is the JSON body of Twilio's Call Notification webhook
// (docs/providers.md, "Twilio").
type Notification struct {
	AccountSid  string `json:"twi_account_sid"`
	CallSid     string `json:"twi_call_sid"`
	From        string `json:"twi_from"`
	To          string `json:"twi_to"`
	BridgeToken string `json:"twi_bridge_token"`
	MessageID   string `json:"twi_message_id"`
	MessageType string `json:"twi_message_type"`
	Params      string `json:"twi_params"`
}

// Notification message types.
const (
	MessageCall   = "twilio.voice.call"
	MessageCancel = "twilio.voice.cancel"
)

// ParseNotification turns a Call Notification body into one event:
// twilio.voice.call (or no type) → ringing, twilio.voice.cancel → cancelled,
// any other type → unknown. Notify is the callee identity without "client:".
// The bridge token is not copied to Raw: it lets a client accept the call.
func ParseNotification(body []byte) (voice.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "call notification body must be a JSON object")
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return voice.Event{}, provider.Errorf(provider.ErrBadPayload, "call notification: invalid JSON: %v", err)
	}
	callSid := strings.TrimSpace(n.CallSid)
	if err := checkID("twi_call_sid", callSid); err != nil {
		return voice.Event{}, err
	}
	e := voice.Event{
		CallID:         callSid,
		Type:           voice.EventStatus,
		Native:         NativeNotification,
		Sequence:       -1,
		IdempotencyKey: strings.TrimSpace(n.MessageID),
		Direction:      voice.Inbound,
		From:           n.From,
		To:             n.To,
		Notify:         strings.TrimSpace(strings.TrimPrefix(n.To, "client:")),
	}
	switch n.MessageType {
	case MessageCall, "":
		e.Status = voice.StatusRinging
	case MessageCancel:
		e.Status = voice.StatusCancelled
	default:
		e.Status = voice.StatusUnknown
	}
	if n.To != "" {
		e.Message = "twi_to=" + n.To
	}
	raw := map[string]string{}
	for k, s := range map[string]string{"twi_message_type": n.MessageType, "twi_message_id": n.MessageID,
		"twi_account_sid": n.AccountSid, "twi_params": n.Params} {
		if s != "" {
			raw[k] = s
		}
	}
	if len(raw) > 0 {
		e.Raw = raw
	}
	return e, nil
}

// IsJSON reports whether r carries a JSON body (a Call Notification here,
// a RELAY event for SignalWire): not a GET, media type application/json or +json.
func IsJSON(r *provider.Request) bool {
	if r.Method == http.MethodGet {
		return false
	}
	mt := r.MediaType()
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Parse reads a Twilio callback: a status callback or <Gather> action (form
// POST, or the query string of a GET) or a Call Notification (JSON).
func Parse(r *provider.Request) ([]voice.Event, error) {
	if IsJSON(r) {
		e, err := ParseNotification(r.Body)
		if err != nil {
			return nil, err
		}
		return []voice.Event{e}, nil
	}
	return ParseRequestWith(r, MapStatus)
}

// ParseRequestWith reads the form parameters of r (the query of a GET, the
// url-encoded body of a POST) with status vocabulary mapStatus. Another
// content type is an error wrapping provider.ErrUnsupportedMediaType.
func ParseRequestWith(r *provider.Request, mapStatus StatusMapper) ([]voice.Event, error) {
	v, err := r.Params()
	if err != nil {
		return nil, err
	}
	e, err := ParseFormWith(v, mapStatus)
	if err != nil {
		return nil, err
	}
	return []voice.Event{e}, nil
}
