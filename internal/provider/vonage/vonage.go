// Package vonage adapts the Vonage (formerly Nexmo) Voice API: the event
// webhook, NCCO replies to DTMF input, outbound calls and call lookups.
//
// # Callbacks
//
// Vonage posts compact JSON to the event URL (or, with event_method GET, the
// same fields as query parameters). One callback gives one event:
//
//   - A call status (started, ringing, answered, completed, busy, timeout,
//     unanswered, cancelled, rejected, failed, human, machine, disconnected)
//     becomes a status event; the call id is uuid, or call_uuid for the
//     answering-machine statuses human and machine.
//   - An input event (dtmf.digits, the pre-2020 flat "dtmf":"42", or
//     dtmf.digit of the asynchronous input mode) becomes a dtmf event with
//     status answered and a message of "timed_out=true|false", the speech
//     recognizer's "timeout_reason=…" and "speech_error=…", joined by "; ".
//     Input without digits (timed out, speech only, nothing said) is the same
//     dtmf event with an empty digit, so the reason is recorded and nothing
//     changes.
//   - An event with a reason but no status (an NCCO error) becomes an error
//     event whose call id is conversation_uuid.
//   - record and transfer events are kept as status events with status
//     unknown, so they land in the timeline without moving the call.
//
// Status mapping (docs/providers.md, Vonage, whose table of real-format
// examples the tests check against this parser): started→queued, ringing→ringing,
// answered→answered, human/machine→answered (message "human"/"machine"),
// completed→completed, busy→busy, timeout/unanswered→no_answer,
// cancelled→cancelled, rejected→failed, failed→failed,
// disconnected→unknown, any other value→unknown.
//
// Native is the Vonage status, or "input", "error", "record", "transfer",
// or "event" for anything else. The idempotency key is
// call id|native|timestamp (input events add |digits), empty when Vonage sent
// no timestamp so that the pipeline falls back to the body hash.
//
// # Signatures
//
// With signature_secret set every callback needs "Authorization: Bearer
// <JWT>": HS256 only (alg none and every other algorithm are refused), the
// HMAC must match, iat is required and must lie within five minutes of the
// request clock, exp is honoured when present, and payload_hash, when
// present, must equal the hex SHA-256 of the raw POST body. Vonage always
// sends payload_hash; a token without one is still accepted (the claim is
// not documented as mandatory and the official vector has none). Such a
// token does not bind the body, so whoever captured one could pair it with
// another body within the iat window; it cannot be minted without the
// signature secret.
//
// For GET events the hash is taken over a compact JSON object of the query
// parameters, decoded, in the order received, a repeated name keeping its
// first position and last value (not documented by Vonage; this
// follows Vonage's support article). A query string of callhook's own, such
// as ?a=b in the channel URL, is part of that object. POST events hash the
// raw body and ignore the query string (a POST without a body is read, and
// hashed, like a GET). There is no replay store beyond the iat window; a
// replay inside it is caught by the idempotency key.
//
// # Replies
//
// An input event is answered with an NCCO: for a mapped digit one talk
// action confirming the change ("Alert acknowledged. <title>."), for an
// unrecognized digit a talk saying so followed by a new input action that
// posts back to the same URL, and for an input that timed out with no digits
// a goodbye (re-prompting there would loop forever on voicemail). A retried
// input callback that the pipeline stored as a duplicate without events is
// answered "Your input was received." rather than re-prompted. Every
// other event gets 200 with the JSON object {}: it is not an NCCO (NCCOs
// are arrays), so Vonage never mistakes it for call control, whereas [] is
// an empty NCCO that can end a call on synchronous events.
//
// maxDigits of the input action is Outcome.MaxDigits (PlaceRequest.MaxDigits
// for a placed call), the length of the longest key sequence of the channel's
// DTMF mapping (1 for the default mapping, so one key submits at once; 3 when
// "787" is mapped), at most Vonage's 20, or Vonage's default of 4 when it is
// not known. submitOnHash lets the callee end a shorter code with #.
//
// # REST API
//
// Calls are placed with POST {base}/v1/calls and fetched with GET
// {base}/v1/calls/{uuid}, authenticated by an RS256 JWT made from
// application_id and private_key (PKCS#8 or PKCS#1 PEM; literal "\n"
// sequences from an env var are turned into newlines). The base is
// https://api.nexmo.com unless Deps.BaseURL overrides it. Numbers are sent
// without a leading "+", as Vonage documents E.164 without it.
package vonage

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// DefaultBaseURL is Vonage's REST API base.
const DefaultBaseURL = "https://api.nexmo.com"

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Spec describes the Vonage provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "vonage",
		Title: "Vonage Voice API",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
			provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "application_id", Label: "Application ID", Required: true,
				Help: "The Voice application's UUID (Dashboard → Applications)."},
			{Key: "private_key", Label: "Private key", Secret: true, Required: true,
				Help: "The application's RSA private key (PEM) used to sign API requests."},
			{Key: "signature_secret", Label: "Signature secret", Secret: true,
				Help: "Account signature secret (Dashboard → Settings) that signs webhooks. Empty turns the check off."},
			{Key: "from", Label: "From number", Required: true,
				Help: "A Vonage number linked to the application, in E.164 (e.g. 447700900000)."},
		},
		SigningKey: "signature_secret",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// Check validates a configuration offline: application_id is a UUID,
// private_key parses as a PEM RSA key and from looks like a phone number.
// Empty values pass; they only disable what needs them.
func Check(cfg provider.Config) error {
	if id := strings.TrimSpace(cfg["application_id"]); id != "" && !uuidRE.MatchString(id) {
		return voice.Invalid("application_id", "must be a UUID such as aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
	}
	if k := strings.TrimSpace(cfg["private_key"]); k != "" {
		if _, err := parsePrivateKey(k); err != nil {
			return voice.Invalid("private_key", "%v", err)
		}
	}
	if f := strings.TrimSpace(cfg["from"]); f != "" && !phoneRE.MatchString(f) {
		return voice.Invalid("from", "must be a phone number in E.164, digits only (a leading + is allowed)")
	}
	return nil
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{5,15}$`)

func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	pemText = strings.TrimSpace(pemText)
	if !strings.Contains(pemText, "\n") && strings.Contains(pemText, `\n`) {
		pemText = strings.ReplaceAll(pemText, `\n`, "\n")
	}
	k, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(pemText))
	if err != nil {
		return nil, fmt.Errorf("not a PEM-encoded RSA private key: %w", err)
	}
	return k, nil
}

// Provider is a configured Vonage adapter.
type Provider struct {
	cfg     provider.Config
	client  *http.Client
	base    string
	key     *rsa.PrivateKey
	keyErr  error
	nowFunc func() time.Time
}

// New returns a Vonage provider for cfg. A private key that does not parse
// is reported by PlaceCall and FetchCall, so callbacks still verify.
func New(cfg provider.Config, deps provider.Deps) *Provider {
	c := deps.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimRight(deps.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	p := &Provider{cfg: cfg, client: c, base: base, nowFunc: time.Now}
	if k := strings.TrimSpace(cfg["private_key"]); k != "" {
		p.key, p.keyErr = parsePrivateKey(k)
	} else {
		p.keyErr = fmt.Errorf("private_key is not configured")
	}
	return p
}

// Verify checks the signed-webhook JWT when signature_secret is configured.
func (p *Provider) Verify(r *provider.Request) error {
	secret := p.cfg["signature_secret"]
	if secret == "" {
		return nil
	}
	tok := bearer(r.Header.Get("Authorization"))
	if tok == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing Authorization: Bearer token")
	}
	claims, err := VerifyHMAC(tok, secret)
	if err != nil {
		return provider.Errorf(provider.ErrBadSignature, "webhook token: %v", err)
	}
	if h, ok := claims[ClaimPayloadHash]; ok {
		want, isString := h.(string)
		if !isString {
			return provider.Errorf(provider.ErrBadSignature, "payload_hash claim is not a string")
		}
		// Hash what Parse reads: the query when there is no body.
		var got string
		if q := rawQuery(r.URL); r.Method == http.MethodGet || (len(bytes.TrimSpace(r.Body)) == 0 && q != "") {
			got = QueryPayloadHash(q)
		} else {
			got = PayloadHash(r.Body)
		}
		if !provider.EqualString(strings.ToLower(want), got) {
			return provider.Errorf(provider.ErrBadSignature, "payload_hash does not match the payload")
		}
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return provider.Errorf(provider.ErrBadSignature, "webhook token has no valid iat claim")
	}
	if _, err := provider.CheckUnixTimestamp(strconv.FormatInt(iat.Unix(), 10), r.Now); err != nil {
		return err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil {
		return provider.Errorf(provider.ErrBadSignature, "webhook token has an invalid exp claim")
	}
	if exp != nil && r.Now.After(exp.Time) {
		return provider.Errorf(provider.ErrStaleTimestamp, "webhook token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	return nil
}

func rawQuery(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		if _, q, ok := strings.Cut(u, "?"); ok {
			return q
		}
		return ""
	}
	return pu.RawQuery
}

// flexString decodes a JSON string, number, boolean or null as text, and an
// endpoint object ({"type":"phone","number":"…"}) as its address.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case 'n':
		*f = ""
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for _, k := range []string{"number", "uri", "user", "id"} {
			var s string
			if raw, ok := m[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
				*f = flexString(s)
				return nil
			}
		}
		*f = ""
	case '[':
		return fmt.Errorf("unexpected array")
	default:
		*f = flexString(b)
	}
	return nil
}

// wire is one event webhook as Vonage sends it in JSON.
type wire struct {
	UUID             flexString      `json:"uuid"`
	CallUUID         flexString      `json:"call_uuid"`
	ConversationUUID flexString      `json:"conversation_uuid"`
	Status           flexString      `json:"status"`
	SubState         flexString      `json:"sub_state"`
	Direction        flexString      `json:"direction"`
	From             flexString      `json:"from"`
	To               flexString      `json:"to"`
	Timestamp        flexString      `json:"timestamp"`
	Duration         flexString      `json:"duration"`
	Reason           flexString      `json:"reason"`
	Detail           flexString      `json:"detail"`
	DTMF             json.RawMessage `json:"dtmf"`
	TimedOut         flexString      `json:"timed_out"`
	Speech           json.RawMessage `json:"speech"`
	RecordingURL     flexString      `json:"recording_url"`
	ConversationTo   flexString      `json:"conversation_uuid_to"`
	ConversationFrom flexString      `json:"conversation_uuid_from"`
	Network          flexString      `json:"network"`
	Rate             flexString      `json:"rate"`
	Price            flexString      `json:"price"`
	StartTime        flexString      `json:"start_time"`
	EndTime          flexString      `json:"end_time"`
}

// fields is an event webhook with every value as text, whichever transport
// (JSON body or query string) carried it.
type fields struct {
	uuid, callUUID, conversationUUID, status, subState, direction string
	from, to, timestamp, duration, reason, detail                 string
	hasInput                                                      bool
	digits, timedOut, speech                                      string
	speechTimeout, speechError                                    string
	recordingURL, conversationTo, conversationFrom                string
	raw                                                           map[string]string
}

func (w wire) fields() (fields, error) {
	f := fields{
		uuid: string(w.UUID), callUUID: string(w.CallUUID), conversationUUID: string(w.ConversationUUID),
		status: string(w.Status), subState: string(w.SubState), direction: string(w.Direction),
		from: string(w.From), to: string(w.To), timestamp: string(w.Timestamp), duration: string(w.Duration),
		reason: string(w.Reason), detail: string(w.Detail), timedOut: string(w.TimedOut),
		recordingURL: string(w.RecordingURL), conversationTo: string(w.ConversationTo),
		conversationFrom: string(w.ConversationFrom),
		raw:              map[string]string{},
	}
	if d := bytes.TrimSpace(w.DTMF); len(d) > 0 && string(d) != "null" {
		f.hasInput = true
		if d[0] == '{' {
			// digit (one key) is the asynchronous input mode's spelling.
			var in struct {
				Digits   flexString `json:"digits"`
				Digit    flexString `json:"digit"`
				TimedOut flexString `json:"timed_out"`
			}
			if err := json.Unmarshal(d, &in); err != nil {
				return f, fmt.Errorf("dtmf: %v", err)
			}
			f.digits = firstNonEmpty(string(in.Digits), string(in.Digit))
			if in.TimedOut != "" {
				f.timedOut = string(in.TimedOut)
			}
		} else {
			var s flexString
			if err := json.Unmarshal(d, &s); err != nil {
				return f, fmt.Errorf("dtmf: %v", err)
			}
			f.digits = string(s)
		}
	}
	if s := bytes.TrimSpace(w.Speech); len(s) > 0 && string(s) != "null" {
		f.hasInput = true
		f.speech = string(s)
		// Why speech recognition ended is the reason an input without
		// digits gives; a speech value of another shape is only kept raw.
		var sp struct {
			TimeoutReason flexString `json:"timeout_reason"`
			Error         flexString `json:"error"`
		}
		if s[0] == '{' && json.Unmarshal(s, &sp) == nil {
			f.speechTimeout, f.speechError = string(sp.TimeoutReason), string(sp.Error)
		}
	}
	for k, v := range map[string]flexString{"network": w.Network, "rate": w.Rate, "price": w.Price,
		"start_time": w.StartTime, "end_time": w.EndTime} {
		if v != "" {
			f.raw[k] = string(v)
		}
	}
	return f, nil
}

func queryFields(q url.Values) fields {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := q.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
	f := fields{
		uuid: q.Get("uuid"), callUUID: q.Get("call_uuid"), conversationUUID: q.Get("conversation_uuid"),
		status: q.Get("status"), subState: q.Get("sub_state"), direction: q.Get("direction"),
		from: q.Get("from"), to: q.Get("to"), timestamp: q.Get("timestamp"), duration: q.Get("duration"),
		reason: q.Get("reason"), detail: q.Get("detail"),
		digits:        first("dtmf", "dtmf.digits", "dtmf[digits]", "dtmf.digit", "dtmf[digit]"),
		timedOut:      first("timed_out", "dtmf.timed_out", "dtmf[timed_out]"),
		speech:        first("speech", "speech.results"),
		speechTimeout: first("speech.timeout_reason", "speech[timeout_reason]"),
		speechError:   first("speech.error", "speech[error]"),
		recordingURL:  q.Get("recording_url"), conversationTo: q.Get("conversation_uuid_to"),
		conversationFrom: q.Get("conversation_uuid_from"),
		raw:              map[string]string{},
	}
	for _, k := range []string{"dtmf", "dtmf.digits", "dtmf[digits]", "dtmf.digit", "dtmf[digit]", "dtmf.timed_out",
		"speech", "speech.results", "speech.timeout_reason"} {
		if _, ok := q[k]; ok {
			f.hasInput = true
		}
	}
	for _, k := range []string{"network", "rate", "price", "start_time", "end_time"} {
		if v := q.Get(k); v != "" {
			f.raw[k] = v
		}
	}
	return f
}

// Parse reads one event webhook: JSON for POST, query parameters for GET.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) {
	return Parse(r)
}

// Parse is the Vonage event parser; it needs no configuration.
func Parse(r *provider.Request) ([]voice.Event, error) {
	f, err := readFields(r)
	if err != nil {
		return nil, err
	}
	e, err := f.event()
	if err != nil {
		return nil, provider.Errorf(provider.ErrBadPayload, "%v", err)
	}
	return []voice.Event{e}, nil
}

func readFields(r *provider.Request) (fields, error) {
	body := bytes.TrimSpace(r.Body)
	if r.Method == http.MethodGet || len(body) == 0 {
		q := r.Query()
		if len(q) == 0 {
			return fields{}, provider.Errorf(provider.ErrBadPayload, "empty event: no body and no query parameters")
		}
		return queryFields(q), nil
	}
	if mt := r.MediaType(); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fields{}, provider.Errorf(provider.ErrUnsupportedMediaType, "content type %q, want application/json", mt)
	}
	if body[0] != '{' {
		return fields{}, provider.Errorf(provider.ErrBadPayload, "body must be a JSON object")
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return fields{}, provider.Errorf(provider.ErrBadPayload, "invalid JSON: %v", err)
	}
	if dec.More() {
		return fields{}, provider.Errorf(provider.ErrBadPayload, "unexpected data after the JSON object")
	}
	f, err := w.fields()
	if err != nil {
		return fields{}, provider.Errorf(provider.ErrBadPayload, "%v", err)
	}
	return f, nil
}

// statusMap is the status map of docs/providers.md (Vonage).
var statusMap = map[string]voice.Status{
	"started":      voice.StatusQueued,
	"ringing":      voice.StatusRinging,
	"answered":     voice.StatusAnswered,
	"human":        voice.StatusAnswered,
	"machine":      voice.StatusAnswered,
	"completed":    voice.StatusCompleted,
	"busy":         voice.StatusBusy,
	"timeout":      voice.StatusNoAnswer,
	"unanswered":   voice.StatusNoAnswer,
	"cancelled":    voice.StatusCancelled,
	"rejected":     voice.StatusFailed,
	"failed":       voice.StatusFailed,
	"disconnected": voice.StatusUnknown,
}

// MapStatus returns the normalized status of a Vonage call status.
func MapStatus(s string) voice.Status {
	if st, ok := statusMap[strings.ToLower(strings.TrimSpace(s))]; ok {
		return st
	}
	return voice.StatusUnknown
}

func (f fields) event() (voice.Event, error) {
	e := voice.Event{
		CallID:   firstNonEmpty(f.uuid, f.callUUID, f.conversationUUID, f.conversationTo),
		Sequence: -1,
		From:     f.from,
		To:       f.to,
		Raw:      f.raw,
	}
	if e.CallID == "" {
		return e, fmt.Errorf("event has no uuid, call_uuid or conversation_uuid")
	}
	if f.conversationUUID != "" {
		e.Raw["conversation_uuid"] = f.conversationUUID
	}
	switch strings.ToLower(f.direction) {
	case "inbound":
		e.Direction = voice.Inbound
	case "outbound":
		e.Direction = voice.Outbound
	}
	if t, err := time.Parse(time.RFC3339Nano, f.timestamp); err == nil {
		e.OccurredAt = t.UTC()
	}
	if d, err := strconv.ParseFloat(strings.TrimSpace(f.duration), 64); err == nil && d >= 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
		e.DurationS = &d
	}
	var msg []string
	status := strings.ToLower(strings.TrimSpace(f.status))
	switch {
	case status != "":
		e.Type = voice.EventStatus
		e.Native = status
		e.Status = MapStatus(status)
		if status == "human" || status == "machine" {
			msg = append(msg, status)
			if f.subState != "" {
				msg = append(msg, "sub_state="+f.subState)
			}
		}
		if e.DurationS != nil {
			msg = append(msg, "duration="+strings.TrimSpace(f.duration))
		}
		msg = appendNonEmpty(msg, f.detail, f.reason)
	case f.hasInput:
		e.Type = voice.EventDTMF
		e.Native = "input"
		e.Status = voice.StatusAnswered
		e.Digit = strings.TrimSpace(f.digits)
		if f.timedOut != "" {
			msg = append(msg, "timed_out="+strings.ToLower(f.timedOut))
		}
		if f.speechTimeout != "" {
			msg = append(msg, "timeout_reason="+f.speechTimeout)
		}
		if f.speechError != "" {
			msg = append(msg, "speech_error="+f.speechError)
		}
		if f.speech != "" {
			e.Raw["speech"] = f.speech
		}
	case f.reason != "":
		e.Type = voice.EventError
		e.Native = "error"
		e.Status = voice.StatusUnknown
		msg = appendNonEmpty(msg, f.reason, f.detail)
	case f.recordingURL != "":
		e.Type = voice.EventStatus
		e.Native = "record"
		e.Status = voice.StatusUnknown
		e.Raw["recording_url"] = f.recordingURL
	case f.conversationTo != "" || f.conversationFrom != "":
		e.Type = voice.EventStatus
		e.Native = "transfer"
		e.Status = voice.StatusUnknown
		msg = append(msg, "conversation_uuid_from="+f.conversationFrom, "conversation_uuid_to="+f.conversationTo)
	default:
		e.Type = voice.EventStatus
		e.Native = "event"
		e.Status = voice.StatusUnknown
		msg = appendNonEmpty(msg, f.detail)
	}
	if f.detail != "" {
		e.Raw["detail"] = f.detail
	}
	e.Message = strings.Join(msg, "; ")
	if f.timestamp != "" {
		e.IdempotencyKey = e.CallID + "|" + e.Native + "|" + f.timestamp
		if e.Type == voice.EventDTMF {
			e.IdempotencyKey += "|" + e.Digit
		}
	}
	if len(e.Raw) == 0 {
		e.Raw = nil
	}
	return e, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func appendNonEmpty(dst []string, vs ...string) []string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			dst = append(dst, v)
		}
	}
	return dst
}
