// Package wavecell adapts 8x8 CPaaS Voice (formerly Wavecell) webhooks to
// callhook. Three JSON shapes arrive on the same callback URL and are told
// apart by their keys (docs/providers.md, "8x8 (Wavecell)"):
//
//   - the legacy Number Masking handleURL event (2019–2020 API):
//     {"callId","sessionId","eventType":"CALL_RECEIVED"|"DTMF_RECEIVED",
//     "direction":0|1,"status":"CONNECTED"|"NOT_CONNECTED","dtmf":787,…};
//   - the current webhook envelope {"namespace":"VOICE","eventType":
//     "CALL_STATUS"|"CALL_ACTION"|"SESSION_SUMMARY","payload":{…}};
//   - the older Voice Messaging DTMF callback
//     {"uid","status":{"code":"DTMF"},"actionDetails":{"dtmf":"12345"}}.
//
// # Mapping
//
// Legacy: CALL_RECEIVED with status NOT_CONNECTED → ringing, CONNECTED →
// answered, anything else unknown; Message is the status. DTMF_RECEIVED →
// dtmf with the digits; its Message is empty. Direction 0 is inbound, 1
// outbound. Native is the eventType.
//
// Current envelope, CALL_STATUS and CALL_ACTION: callStatus CALL_INITIATED →
// queued, CALL_RECEIVED → ringing, CALL_CONNECTED → answered,
// CALL_DISCONNECTED → completed refined by sipCode (486 and 600 → busy, 480
// and 408 → no_answer, 487 → cancelled, any other code ≥ 400 → failed),
// CALL_UPDATED and ACTION_COMPLETED → unknown; DTMF_RECEIVED or a non-null
// payload.eventData.dtmf → dtmf. The sipCode refinement is an inference from
// RFC 3261, not 8x8 documentation. Native is the envelope's eventType;
// Message is the callStatus followed by callDuration=N for
// CALL_DISCONNECTED, sipCode=N for CALL_CONNECTED or a code ≥ 400, and
// clientActionId=X when present ("CALL_CONNECTED sipCode=200",
// "CALL_DISCONNECTED callDuration=42", "ACTION_COMPLETED
// clientActionId=ivr1_level1"). IdempotencyKey is payload.eventId.
//
// SESSION_SUMMARY: sessionStatus COMPLETED and COMPLETED_* → completed,
// NO_ANSWER and "NO ANSWER" → no_answer, BUSY → busy, CANCELED → cancelled,
// FAILED → failed, ERROR → failed as an error event.
//
// Judgement calls (docs/providers.md, "8x8 (Wavecell)", has the full table,
// checked by TestTable):
//
//   - Input that ended with no digits (DTMF_RECEIVED without digits, an
//     ACTION_COMPLETED whose eventData reports a capture without dtmf, a
//     legacy or Voice Messaging DTMF without dtmf) is a dtmf event with an
//     empty digit and "no input" (or "asrCaptured=…") in Message; it changes
//     nothing. eventData may also be a string of digits (version 2).
//   - An envelope eventType other than CALL_STATUS, CALL_ACTION and
//     SESSION_SUMMARY is stored with status unknown and answered with no
//     instructions, never refused. A SESSION_SUMMARY's errorDetails go to
//     Message ("errorCode=N errorMsg=…").
//   - DTMF events carry status answered: keys are pressed on answered calls.
//   - The legacy dtmf is a JSON number (787); it is read through json.Number
//     so the digits stay the literal text. Leading zeros are already lost by
//     8x8. A string is accepted too.
//   - DurationS comes from duration (legacy) or callDuration and is set when
//     it is positive or the event is terminal, so the zero that every early
//     event carries does not read as a zero-length call.
//   - From and To are kept as sent; the legacy API sends numbers without "+",
//     and guessing the prefix would be wrong for short codes.
//   - A SESSION_SUMMARY carries a session, not a call. Its status is applied
//     to every callId found in payload.callId or in payload.details (the
//     nesting of details is not documented, so any callId up to three levels
//     deep counts); with none, the sessionId stands in as the call id.
//     UNSUBSCRIBED_CONTACT (Voice Messaging: no call was made) → failed, any
//     other unknown sessionStatus → unknown. Its IdempotencyKey is eventId,
//     else "session-summary:" + sessionId.
//   - A namespace other than VOICE is rejected as a bad payload: another
//     product's webhook was pointed at this URL.
//   - When sub_account_id is configured, a payload.subAccountId that differs
//     from it is rejected as a bad payload (the sanity check docs/providers.md
//     §3.3 suggests).
//   - Voice Messaging callbacks use uid as the call id and status.code as
//     Native.
//   - Content types other than application/json (or +json), including none,
//     are rejected with provider.ErrUnsupportedMediaType.
//
// # Authentication
//
// 8x8 documents no request signature for voice webhooks. With callback_token
// configured, Verify requires the Authorization header to carry it: "Bearer
// <token>", Basic credentials whose password is the token, or the bare token
// (8x8's console sends its "HTTP Authorization" setting verbatim). Values are
// compared in constant time; anything else is provider.ErrBadSignature.
// Without callback_token Verify returns nil and the channel's secret URL is
// the only protection; restrict the endpoint to 8x8's voice IP addresses too.
// Spec declares provider.CapSignature and SigningKey "callback_token" for
// this check, so the console can warn when it is off.
//
// # Replies
//
// 8x8 drives calls from the reply body, so Reply is where the IVR lives:
//
//   - Inbound call (legacy CALL_RECEIVED with direction 0; for a
//     callDirection INBOUND call, CALL_ACTION with callStatus CALL_RECEIVED,
//     CALL_CONNECTED or none, and CALL_STATUS only with CALL_RECEIVED, since
//     a status notification is not documented to take instructions and
//     answering each one could prompt twice): say the alert the pipeline linked (Outcome.Alert, title
//     and message) and the keypad prompt, and collect digits — legacy PlayTTS
//     with dtmfInterrupt and dtmfLength, current sayAndCapture with
//     promptMessage and maxDigits. With no alert: "There are no firing
//     alerts." and hang up.
//   - DTMF whose action changed the alert: "Alert acknowledged." / "Alert
//     resolved." and hang up. An action that changed nothing: the state the
//     alert is in ("The alert is already resolved.") or "No change was
//     made." without an alert, and hang up. Digits that map to nothing:
//     "Input not recognized." with the prompt, collecting again.
//   - CALL_ACTION ACTION_COMPLETED of our own capture without digits (no
//     input): prompt again.
//   - Everything else: legacy {"commands":[]}, current {} (status
//     notifications and session summaries need no instructions), and so do
//     duplicates: the pipeline does not re-apply a retried callback, so its
//     first answer cannot be rebuilt.
//
// The legacy API has no hangup command: "hang up" there is a last PlayTTS
// without dtmfInterrupt, after which the call ends for lack of further
// commands [uncertain]. In a current callflow a hangup never follows
// sayAndCapture directly, because 8x8 would then drop the captured digits.
// Current callflows carry clientActionId "callhook-capture-N" (N counts the
// prompts; after three unsuccessful ones the call says "Goodbye." and hangs
// up) or "callhook-end". maxDigits / dtmfLength is Outcome.MaxDigits, the
// length of the longest key sequence of the channel's DTMF mapping (1 for the
// default mapping; 1 too when the outcome does not say).
// The voiceProfile "en-US-ChristopherNeural" is the fixtures' illustrative
// value.
//
// # Not supported
//
// There is no call placing and no status polling: this adapter receives 8x8
// voice webhooks only. Placing calls (the callflows API) is out of scope, and
// 8x8 offers no per-call status lookup that would fit polling; the session
// summary webhook is its final word on a call. api_key is kept for that
// future use and is not sent anywhere today.
package wavecell

import (
	"encoding/base64"
	"regexp"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Spec describes the 8x8 (Wavecell) provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "wavecell",
		Title: "8x8 (Wavecell)",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback,
			provider.CapDTMFCallback, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "sub_account_id", Label: "Sub-account ID",
				Help: "8x8 CPaaS sub-account; when set, callbacks from another sub-account are rejected."},
			{Key: "api_key", Label: "API key", Secret: true,
				Help: "8x8 CPaaS API key. Not needed to receive callbacks."},
			{Key: "callback_token", Label: "Callback token", Secret: true,
				Help: "Token 8x8 must send as \"Authorization: Bearer <token>\" (set it as the webhook's HTTP Authorization). Empty turns the check off."},
		},
		SigningKey: "callback_token",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// subAccountPattern is 8x8's documented format of a sub-account id.
var subAccountPattern = regexp.MustCompile(`^[A-Za-z0-9\-._&]{3,50}$`)

// Check validates a configuration offline: the sub-account id format and a
// callback token that can travel in an HTTP header.
func Check(cfg provider.Config) error {
	if s := strings.TrimSpace(cfg["sub_account_id"]); s != "" && !subAccountPattern.MatchString(s) {
		return voice.Invalid("sub_account_id", "%q is not an 8x8 sub-account id (3 to 50 of A-Z a-z 0-9 - . _ &)", s)
	}
	if t := cfg["callback_token"]; t != "" {
		for _, r := range t {
			if r < 0x20 || r == 0x7f {
				return voice.Invalid("callback_token", "must not contain control characters")
			}
		}
	}
	return nil
}

// Provider is a configured 8x8 adapter. It is safe for concurrent use.
type Provider struct {
	cfg provider.Config
}

// New returns an 8x8 provider for cfg. It makes no outbound requests, so
// deps are not used.
func New(cfg provider.Config, _ provider.Deps) *Provider {
	return &Provider{cfg: cfg}
}

// Verify checks the Authorization header against callback_token when one is
// configured. Errors wrap provider.ErrBadSignature.
func (p *Provider) Verify(r *provider.Request) error {
	token := strings.TrimSpace(p.cfg["callback_token"])
	if token == "" {
		return nil
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing Authorization header (callback_token is configured)")
	}
	presented := h
	if scheme, rest, ok := strings.Cut(h, " "); ok {
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(scheme) {
		case "bearer":
			presented = rest
		case "basic":
			presented = ""
			if b, err := base64.StdEncoding.DecodeString(rest); err == nil {
				if _, pw, ok := strings.Cut(string(b), ":"); ok {
					presented = pw
				}
			}
		}
	}
	// Both comparisons always run, so timing does not tell which form matched.
	okToken := provider.EqualString(presented, token)
	okWhole := provider.EqualString(h, token)
	if !okToken && !okWhole {
		return provider.Errorf(provider.ErrBadSignature, "the Authorization header does not carry the configured callback_token")
	}
	return nil
}
