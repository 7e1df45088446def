// Package plivo adapts Plivo Voice: answer, ring and hangup callbacks,
// GetInput/GetDigits digit callbacks and Dial callbacks, Plivo XML replies,
// outbound calls and call lookups.
//
// # Callbacks
//
// Plivo posts application/x-www-form-urlencoded parameters (or sends them as
// a GET query). The call id is CallUUID (else RequestUUID, else
// DialALegUUID). One callback gives one event; docs/providers.md ("Plivo")
// has the full table, checked by TestTable:
//
//   - Event=StartApp (answer URL), Event=Ring (ring URL) and Event=Hangup
//     (hangup URL) become status events; Native is the Event value. Any
//     other Event is a status event with status unknown, so a valid
//     callback is never refused.
//   - A callback with Digits, InputType or Speech is a GetInput (Native
//     "GetInput") or legacy GetDigits (Native "GetDigits", Digits only)
//     action callback: a dtmf event with digit = Digits and message
//     "InputType=dtmf", plus "Speech=…" and "no input" when no digits and
//     no speech came (recorded, changing nothing).
//   - A callback with DialStatus, DialAction or DialBLegStatus is a Dial
//     callback (Native "Dial"). Its status is the A leg's CallStatus: the
//     Dial fields describe the B leg, which is not the call callhook tracks,
//     so they only go to the message ("DialStatus=busy; …") and to Raw.
//
// CallStatus mapping (docs/providers.md, "Plivo"): ringing→ringing,
// in-progress→answered, completed→completed, busy→busy, no-answer→no_answer,
// cancel→cancelled, failed→failed, and timeout→failed: Plivo defines timeout
// as a failure to connect (carrier or network), not as a callee who did not
// pick up (Dograh maps it to no_answer instead).
//
// On Event=Hangup, HangupCause wins where it is specific (hangupCauseMap),
// then the family of HangupCauseCode, then a terminal CallStatus; failing
// all, the call is completed when it was answered (AnswerTime or a positive
// Duration) and failed otherwise. The message of a hangup is HangupCause,
// then HangupCauseCode and HangupCauseName.
//
// The idempotency key is CallUUID|Native|CallStatus, plus |Digits for digit
// callbacks and |DialAction|DialStatus|DialBLegStatus for Dial callbacks.
// OccurredAt stays zero: Plivo's StartTime/EndTime carry no zone, so they are
// kept in Raw instead of being guessed into the timeline order.
//
// Calls placed through the API are identified by the returned request_uuid.
// For API calls Plivo reuses it as the A leg's CallUUID (the plivo-go vector
// has CallUUID = RequestUUID = ALegRequestUUID); RequestUUID is also kept in
// Raw["RequestUUID"] for a pipeline that wants to match on it.
//
// # Signatures
//
// With auth_token set, callbacks must carry X-Plivo-Signature-V3 and
// X-Plivo-Signature-V3-Nonce; the signature (SignV3) covers the URL, its
// query and every parameter. Each header may hold several comma-separated
// signatures and any match is accepted; X-Plivo-Signature-Ma-V3 (made with
// the main account's token) is checked against the configured token as well,
// so either a main or a sub-account token works. Plivo's nonce carries no
// time, so there is no freshness window; retries are caught by the
// idempotency key.
//
// V2 alone is refused. V2 signs only scheme://host/path + nonce, so one
// captured callback would let anyone who saw it forge callbacks with any
// body for that URL, and accepting V2 when V3 is missing would let an
// attacker simply strip V3. Every Plivo voice callback carries V3; a
// request with only V2 fails with a message naming the reason.
//
// # Replies
//
// Replies are Plivo XML (Content-Type application/xml):
//
//   - answer (StartApp): a GetInput (action = the request URL, method POST,
//     inputType dtmf, digitEndTimeout 5) speaking the alert title and
//     message, then the keypad prompt;
//   - a digit callback whose digits mapped to an action: Speak "Alert
//     acknowledged." (or resolved, or "already …") then Hangup;
//   - unmapped or empty digits: the GetInput again, after "Sorry, that input
//     was not recognized." [uncertain] Plivo is understood to call the action
//     URL only when the callee pressed keys (a silent callee falls through to
//     the end of the document, which hangs up), so this cannot loop on
//     voicemail;
//   - a retried digit callback stored as a duplicate without events: Speak
//     "Your input was received." then Hangup;
//   - every other callback: an empty <Response></Response>.
//
// numDigits of GetInput is Outcome.MaxDigits, the length of the longest key
// sequence of the channel's DTMF mapping (1 for the default mapping, so one
// key press submits at once; 3 when "787" is mapped), at most Plivo's 32. It
// is omitted, leaving Plivo's default, when the outcome does not say.
//
// # REST API
//
// Calls are placed with POST {base}/v1/Account/{auth_id}/Call/ (JSON, basic
// auth auth_id:auth_token) with answer, ring and hangup URLs all set to the
// channel's callback URL. FetchCall reads the call detail record GET
// {base}/v1/Account/{auth_id}/Call/{uuid}/ (call_state, hangup_cause_name)
// and, when that is 404 because the call is still up, the live call
// (?status=live, call_status). The base is https://api.plivo.com unless
// Deps.BaseURL overrides it. A leading "+" is stripped from numbers, as
// Plivo wants the country code without it; "<" (Plivo's separator for
// multiple destinations) is refused in the destination.
package plivo

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// DefaultBaseURL is Plivo's REST API base.
const DefaultBaseURL = "https://api.plivo.com"

// Spec describes the Plivo provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "plivo",
		Title: "Plivo Voice",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
			provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "auth_id", Label: "Auth ID", Required: true,
				Help: "Account or sub-account Auth ID (MA… or SA…), from the Plivo console overview."},
			{Key: "auth_token", Label: "Auth token", Secret: true, Required: true,
				Help: "Signs API requests and verifies X-Plivo-Signature-V3 on callbacks. Empty turns the check off."},
			{Key: "from", Label: "From number", Required: true,
				Help: "A Plivo number with country code, e.g. 14155550123."},
		},
		SigningKey: "auth_token",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

var (
	authIDRE = regexp.MustCompile(`^[MS]A[A-Za-z0-9]{18}$`)
	phoneRE  = regexp.MustCompile(`^\+?[0-9]{5,15}$`)
)

// Check validates a configuration offline: auth_id looks like MA… or SA…
// (20 characters), auth_token has no whitespace and from looks like a phone
// number. Empty values pass; they only disable what needs them.
func Check(cfg provider.Config) error {
	if id := strings.TrimSpace(cfg["auth_id"]); id != "" && !authIDRE.MatchString(id) {
		return voice.Invalid("auth_id", "must be 20 characters starting with MA or SA")
	}
	if tok := strings.TrimSpace(cfg["auth_token"]); strings.ContainsAny(tok, " \t\r\n") {
		return voice.Invalid("auth_token", "must not contain whitespace")
	}
	if f := strings.TrimSpace(cfg["from"]); f != "" && !phoneRE.MatchString(f) {
		return voice.Invalid("from", "must be a phone number with country code, digits only (a leading + is allowed)")
	}
	return nil
}

// Provider is a configured Plivo adapter.
type Provider struct {
	cfg    provider.Config
	client *http.Client
	base   string
}

// New returns a Plivo provider for cfg.
func New(cfg provider.Config, deps provider.Deps) *Provider {
	c := deps.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimRight(deps.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &Provider{cfg: cfg, client: c, base: base}
}

// Verify checks X-Plivo-Signature-V3 (or -Ma-V3) when auth_token is configured.
func (p *Provider) Verify(r *provider.Request) error {
	token := p.cfg["auth_token"]
	if token == "" {
		return nil
	}
	var sigs []string
	for _, h := range []string{HeaderV3, HeaderMaV3} {
		for _, v := range r.Header.Values(h) {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					sigs = append(sigs, s)
				}
			}
		}
	}
	if len(sigs) == 0 {
		if r.Header.Get(HeaderV2) != "" || r.Header.Get(HeaderMaV2) != "" {
			return provider.Errorf(provider.ErrBadSignature, "only %s present; callhook requires %s (V2 does not cover the body)", HeaderV2, HeaderV3)
		}
		return provider.Errorf(provider.ErrBadSignature, "missing %s", HeaderV3)
	}
	nonce := strings.TrimSpace(r.Header.Get(HeaderV3Nonce))
	if nonce == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing %s", HeaderV3Nonce)
	}
	params, err := signedParams(r)
	if err != nil {
		return err
	}
	want := SignV3(token, r.Method, r.URL, nonce, params)
	if want == "" {
		return provider.Errorf(provider.ErrBadSignature, "callback URL cannot be parsed")
	}
	for _, s := range sigs {
		if provider.EqualString(s, want) {
			return nil
		}
	}
	return provider.Errorf(provider.ErrBadSignature, "%s does not match the request", HeaderV3)
}

// signedParams are the parameters V3 covers: the query for GET, the form
// body for anything else.
func signedParams(r *provider.Request) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.Query(), nil
	}
	if len(r.Body) == 0 {
		return url.Values{}, nil
	}
	if mt := r.MediaType(); mt != "" && mt != "application/x-www-form-urlencoded" {
		return nil, provider.Errorf(provider.ErrBadSignature, "a %s body cannot carry a Plivo signature", mt)
	}
	v, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, provider.Errorf(provider.ErrBadSignature, "form body does not parse: %v", err)
	}
	return v, nil
}

// callStatusMap is docs/providers.md, "Plivo" (with the other spellings of cancel).
var callStatusMap = map[string]voice.Status{
	"ringing":     voice.StatusRinging,
	"in-progress": voice.StatusAnswered,
	"completed":   voice.StatusCompleted,
	"busy":        voice.StatusBusy,
	"no-answer":   voice.StatusNoAnswer,
	"cancel":      voice.StatusCancelled,
	"canceled":    voice.StatusCancelled,
	"cancelled":   voice.StatusCancelled,
	"failed":      voice.StatusFailed,
	"timeout":     voice.StatusFailed,
}

// MapCallStatus returns the normalized status of a Plivo CallStatus.
func MapCallStatus(s string) voice.Status {
	if st, ok := callStatusMap[strings.ToLower(strings.TrimSpace(s))]; ok {
		return st
	}
	return voice.StatusUnknown
}

// hangupCauseMap refines Event=Hangup by HangupCause, the telephony
// (Q.850) cause name (docs/providers.md, "Plivo", extended with the Q.850 names
// that say who ended the call; docs/providers.md, "Plivo").
var hangupCauseMap = map[string]voice.Status{
	"NORMAL_CLEARING":           voice.StatusCompleted,
	"USER_BUSY":                 voice.StatusBusy,
	"CALL_REJECTED":             voice.StatusBusy,
	"NO_ANSWER":                 voice.StatusNoAnswer,
	"NO_USER_RESPONSE":          voice.StatusNoAnswer,
	"ORIGINATOR_CANCEL":         voice.StatusCancelled,
	"UNALLOCATED_NUMBER":        voice.StatusFailed,
	"INVALID_NUMBER_FORMAT":     voice.StatusFailed,
	"NO_ROUTE_DESTINATION":      voice.StatusFailed,
	"NUMBER_CHANGED":            voice.StatusFailed,
	"DESTINATION_OUT_OF_ORDER":  voice.StatusFailed,
	"NETWORK_OUT_OF_ORDER":      voice.StatusFailed,
	"NORMAL_TEMPORARY_FAILURE":  voice.StatusFailed,
	"NORMAL_CIRCUIT_CONGESTION": voice.StatusFailed,
	"SWITCH_CONGESTION":         voice.StatusFailed,
	"RECOVERY_ON_TIMER_EXPIRE":  voice.StatusFailed,
	"INCOMPATIBLE_DESTINATION":  voice.StatusFailed,
	"OUTGOING_CALL_BARRED":      voice.StatusFailed,
	"SERVICE_UNAVAILABLE":       voice.StatusFailed,
}

// hangupStatus is the status of Event=Hangup: HangupCause where it is
// specific, else the family of Plivo's HangupCauseCode (1xxx canceled, 2xxx
// destination issues, 3xxx the callee's answer by HangupCauseName, 4xxx
// normal completions), else a terminal CallStatus, else completed when the
// call was answered and failed when not. A failure cause on an answered
// call is completed: the call did take place.
func hangupStatus(cause, code, name string, callStatus voice.Status, answered bool) voice.Status {
	st, ok := hangupCauseMap[strings.ToUpper(cause)]
	if !ok {
		st, ok = hangupCodeStatus(code, name)
	}
	if !ok && callStatus.Terminal() {
		st, ok = callStatus, true
	}
	if !ok || (st == voice.StatusFailed && answered) {
		if answered {
			return voice.StatusCompleted
		}
		return voice.StatusFailed
	}
	return st
}

// hangupCodeStatus maps Plivo's hangup code families.
func hangupCodeStatus(code, name string) (voice.Status, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(code))
	if err != nil {
		return "", false
	}
	lname := strings.ToLower(name)
	switch {
	case n >= 1000 && n < 2000:
		return voice.StatusCancelled, true
	case n >= 2000 && n < 3000:
		return voice.StatusFailed, true
	case n >= 3000 && n < 4000:
		switch {
		case strings.Contains(lname, "busy"), strings.Contains(lname, "reject"):
			return voice.StatusBusy, true
		case strings.Contains(lname, "no answer"), strings.Contains(lname, "timeout"):
			return voice.StatusNoAnswer, true
		}
	case n >= 4000 && n < 5000:
		return voice.StatusCompleted, true
	}
	return "", false
}

// hangupMessage keeps the hang-up cause: HangupCause, then Plivo's code and
// name ("NORMAL_CLEARING; 4000 Normal Hangup").
func hangupMessage(cause, code, name string) string {
	var parts []string
	if cause != "" {
		parts = append(parts, cause)
	}
	if cn := strings.TrimSpace(code + " " + name); cn != "" {
		parts = append(parts, cn)
	}
	return strings.Join(parts, "; ")
}

// rawKeys are the parameters kept in voice.Event.Raw when present.
var rawKeys = []string{"Event", "CallStatus", "RequestUUID", "ALegUUID", "ALegRequestUUID",
	"HangupCause", "HangupCauseCode", "HangupCauseName", "HangupSource",
	"BillDuration", "BillRate", "TotalCost", "SessionStart", "StartTime", "AnswerTime", "EndTime",
	"InputType", "Speech", "SpeechConfidenceScore", "DialAction", "DialStatus", "DialRingStatus",
	"DialHangupCause", "DialALegUUID", "DialBLegUUID", "DialBLegStatus", "DialBLegHangupCause"}

// Parse reads one callback from the form body (POST) or the query (GET).
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) {
	return Parse(r)
}

// Parse is the Plivo callback parser; it needs no configuration.
func Parse(r *provider.Request) ([]voice.Event, error) {
	params, err := r.Params()
	if err != nil {
		return nil, err
	}
	e, err := event(params)
	if err != nil {
		return nil, provider.Errorf(provider.ErrBadPayload, "%v", err)
	}
	return []voice.Event{e}, nil
}

func event(params url.Values) (voice.Event, error) {
	get := func(k string) string { return strings.TrimSpace(params.Get(k)) }
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := params[k]; ok {
				return true
			}
		}
		return false
	}
	e := voice.Event{
		CallID:   get("CallUUID"),
		Sequence: -1,
		From:     get("From"),
		To:       get("To"),
	}
	if e.CallID == "" {
		e.CallID = get("RequestUUID")
	}
	if e.CallID == "" {
		// Dial callbackUrl events name the call by its A leg.
		e.CallID = get("DialALegUUID")
	}
	if e.CallID == "" {
		return e, fmt.Errorf("missing CallUUID")
	}
	// PlaceCall returns the request_uuid; callbacks name the call by CallUUID.
	if ru := get("RequestUUID"); ru != "" && ru != e.CallID {
		e.AltCallID = ru
	}
	switch strings.ToLower(get("Direction")) {
	case "inbound":
		e.Direction = voice.Inbound
	case "outbound":
		e.Direction = voice.Outbound
	}
	if d, err := strconv.ParseFloat(get("Duration"), 64); err == nil && d >= 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
		e.DurationS = &d
	}
	for _, k := range rawKeys {
		if v := get(k); v != "" {
			if e.Raw == nil {
				e.Raw = map[string]string{}
			}
			e.Raw[k] = v
		}
	}

	callStatus := get("CallStatus")
	e.Status = MapCallStatus(callStatus)
	e.Type = voice.EventStatus
	var msg []string
	switch {
	case has("Digits", "InputType", "Speech"):
		// GetInput (InputType, Speech) or the legacy GetDigits (Digits only).
		e.Type = voice.EventDTMF
		e.Native = "GetInput"
		if !has("InputType", "Speech") {
			e.Native = "GetDigits"
		}
		e.Digit = get("Digits")
		if it := get("InputType"); it != "" {
			msg = append(msg, "InputType="+it)
		}
		if sp := get("Speech"); sp != "" {
			msg = append(msg, "Speech="+sp)
		}
		if e.Digit == "" && get("Speech") == "" {
			// Input that ended with no digits is recorded and changes
			// nothing (docs/providers.md, "Plivo").
			msg = append(msg, "no input")
		}
	case get("Event") != "":
		e.Native = get("Event")
		switch strings.ToLower(e.Native) {
		case "startapp", "ring":
		case "hangup":
			answered := get("AnswerTime") != "" || (e.DurationS != nil && *e.DurationS > 0)
			e.Status = hangupStatus(get("HangupCause"), get("HangupCauseCode"), get("HangupCauseName"), e.Status, answered)
			if cause := hangupMessage(get("HangupCause"), get("HangupCauseCode"), get("HangupCauseName")); cause != "" {
				msg = append(msg, cause)
			}
		default:
			// An Event this adapter does not know: stored with its name,
			// status unknown, answered with the empty document.
			e.Status = voice.StatusUnknown
		}
	case has("DialStatus", "DialAction", "DialBLegStatus"):
		e.Native = "Dial"
		for _, k := range []string{"DialAction", "DialStatus", "DialBLegStatus", "DialHangupCause", "DialBLegHangupCause"} {
			if v := get(k); v != "" {
				msg = append(msg, k+"="+v)
			}
		}
	default:
		// No Event (a Record or Speak action URL, say): CallStatus is
		// still Plivo's own word on the call.
		e.Native = "callback"
	}
	e.Message = strings.Join(msg, "; ")
	e.IdempotencyKey = e.CallID + "|" + e.Native + "|" + callStatus
	switch e.Native {
	case "GetInput", "GetDigits":
		e.IdempotencyKey += "|" + e.Digit
	case "Dial":
		e.IdempotencyKey += "|" + get("DialAction") + "|" + get("DialStatus") + "|" + get("DialBLegStatus")
	}
	return e, nil
}
