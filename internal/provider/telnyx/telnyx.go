// Package telnyx adapts Telnyx Call Control (Voice API v2) to callhook.
//
// # Callbacks
//
// Telnyx posts one JSON envelope per event (docs/providers.md, Telnyx):
//
//	{"data":{"record_type":"event","event_type":"call.hangup","id":"<uuid>",
//	  "occurred_at":"<RFC 3339>","payload":{"call_control_id":"v3:…",…}},
//	 "meta":{"attempt":1,"delivered_to":"https://…"}}
//
// Every event becomes one voice.Event: CallID is payload.call_control_id (the
// id commands take), Native is data.event_type, IdempotencyKey is data.id and
// OccurredAt is data.occurred_at. The mapping:
//
//	call.initiated        direction incoming → ringing (Direction inbound),
//	                      outgoing → queued (Direction outbound); Message "direction=…"
//	call.answered         answered
//	call.bridged          answered
//	call.hangup           by hangup_cause: normal_clearing, time_limit, unspecified → completed;
//	                      user_busy, busy → busy; no_answer, timeout → no_answer;
//	                      originator_cancel → cancelled; call_rejected, not_found,
//	                      unallocated_number → failed
//	call.dtmf.received    dtmf, one digit per event
//	call.gather.ended     dtmf with the collected digits (empty when the gather
//	                      ended without any), Message = gather status
//	call.machine.*.ended  answered, Message = the detection or greeting result
//	                      (machine detection, premium detection and both greeting events)
//	anything else         status unknown, Message = the payload's result, status,
//	                      reason or failure_reason when it has one (playback, speak,
//	                      recording, streaming, conference …)
//
// docs/providers.md holds the same map as a table of real-format examples
// that the tests check against this parser.
//
// Judgement calls (where Telnyx's docs leave the mapping open; docs/providers.md
// lists the same choices):
//
//   - Event names are lower-cased, and in a name without any dot "_" becomes
//     ".", so the "streaming_started" spelling Telnyx sometimes sends is stored
//     as "streaming.started" while call.ai_gather.ended keeps its underscore.
//   - A call.hangup with a cause not in the table maps to completed: the call
//     is over whatever the cause, and this is what Dograh does too. Message is
//     the hangup_cause followed by " sip_hangup_cause=NNN" when Telnyx gives a
//     SIP code other than 200 or "unspecified", e.g. "user_busy
//     sip_hangup_cause=486" but plain "normal_clearing".
//     hangup_source and sip_hangup_cause are also kept in Event.Raw.
//   - DTMF events carry status answered: keys can only be pressed on an
//     answered call. A call.gather.ended without digits (timeout, call_hangup,
//     cancelled, cancelled_amd …) is a dtmf event with an empty digit and the
//     gather status as Message, the way every adapter records empty keypad
//     input; it maps to no action. A call.dtmf.received without a digit is
//     recorded the same way with Message "no digit" rather than refused.
//   - Answering-machine events carry status answered (detection only runs
//     once the call is picked up) with the result in Message, like Vonage's
//     human and machine statuses.
//   - A well-formed webhook with an event type not listed above is stored as
//     status unknown and answered 200 like any other; only a body that is
//     not a Call Control webhook (no data, no event_type, no
//     call_control_id) is refused. Payload fields other than
//     call_control_id that are not scalars are read as empty instead of
//     rejecting the webhook.
//   - DurationS is end_time − start_time, set only when the payload has both
//     (Telnyx's call.hangup usually carries only start_time; start_time is when
//     the call was initiated, so the duration includes ringing).
//   - MOS is read from payload.call_quality_stats.inbound.mos (a string such as
//     "4.50" in the Telnyx API reference; a number is accepted too), kept only
//     when it lies in 1..5.
//   - An occurred_at that does not parse leaves OccurredAt zero instead of
//     rejecting the callback, which Telnyx would otherwise retry forever.
//   - Content types other than application/json (or +json), including none,
//     are rejected with provider.ErrUnsupportedMediaType.
//
// # Signature
//
// Telnyx signs "timestamp|body" with Ed25519 (docs/providers.md, Telnyx). Verify reads
// the base64 signature from telnyx-signature-ed25519 and Unix seconds from
// telnyx-timestamp, verifies with the configured base64 public_key and only
// then checks the timestamp against provider.TimestampWindow, using
// Request.Now (time.Now when zero). With no public_key configured Verify
// returns nil. A public_key that is not the base64 of 32 bytes fails closed:
// every callback is rejected with provider.ErrBadSignature (Spec().Check
// reports the same problem when the configuration is saved).
//
// # Calls and call control
//
// PlaceCall dials with POST {base}/v2/calls (base https://api.telnyx.com, or
// Deps.BaseURL). The call carries a base64 JSON client_state holding the
// message and keypad prompt; Telnyx echoes it in every later webhook of the
// call, which is how React knows a call is one callhook placed.
//
// React (provider.Reactor) drives the call after a callback is committed:
//
//   - call.answered of an outbound call (our client_state, or Direction
//     outbound) → gather_using_speak with the message (client_state, else
//     Outcome.Alert) and the keypad prompt.
//   - call.gather.ended of our gather with digits that map to an action →
//     speak "Alert acknowledged." / "Alert resolved." (or, when the action
//     changed nothing, the state the alert is in, e.g. "The alert is already
//     resolved.", or "No change was made." without an alert), marked in
//     client_state as the last words; the hangup is sent when the matching
//     call.speak.ended arrives. Sending hangup straight after speak would cut
//     the speech off: Telnyx runs hangup at once while speak plays
//     asynchronously.
//   - call.gather.ended of our gather with digits that map to no action, or
//     none at all (timeout) → gather again prefixed "Input not recognized.",
//     at most three gathers per call; then "Goodbye." and hang up. A gather
//     ended by hangup or cancellation gets nothing.
//   - a DTMF event outside our gather whose action changed the alert → the
//     same confirmation and hangup. Per-digit call.dtmf.received events
//     during our gather are left to its call.gather.ended, so a key press is
//     answered once although the pipeline applies the action from whichever
//     of the two events arrives first.
//
// maximum_digits of a gather is Outcome.MaxDigits, the length of the longest
// key sequence of the channel's DTMF mapping (1 for the default mapping, so
// the first key press ends the gather; 3 when "787" is mapped), or 1 when the
// outcome does not say.
//
// Commands carry a command_id derived from the webhook's data.id so that a
// repeated React for the same webhook is ignored by Telnyx. Duplicate
// callbacks never trigger commands.
//
// Inbound calls are not answered by this adapter (Call Control needs an
// explicit answer command); their events are stored like any other.
//
// SampleCallback (provider.Sampler) builds an unsigned call.answered
// webhook: only Telnyx holds the private key, so with a public_key configured
// the console's test callback is rejected as a bad signature.
//
// There is no status polling: Telnyx's GET /v2/calls/{call_control_id} only
// says whether a call is alive and for how long, not how it ended, so it
// cannot yield a normalized status; the call.hangup webhook is the source of
// truth.
package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// DefaultBaseURL is the Telnyx REST API base.
const DefaultBaseURL = "https://api.telnyx.com"

// Spec describes the Telnyx provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "telnyx",
		Title: "Telnyx",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback,
			provider.CapDTMFCallback, provider.CapPlaceCall, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "api_key", Label: "API key", Secret: true, Required: true,
				Help: "Telnyx API v2 key (Mission Control → API Keys); sent as a bearer token to place and control calls."},
			{Key: "connection_id", Label: "Connection ID", Required: true,
				Help: "Call Control application (connection) id that outbound calls use."},
			{Key: "public_key", Label: "Public key",
				Help: "Base64 Ed25519 public key from Mission Control → Keys & Credentials → Public Key. Empty turns the signature check off."},
			{Key: "from", Label: "Caller ID", Required: true,
				Help: "E.164 number on your Telnyx account that outbound calls come from, e.g. +13125550100."},
		},
		SigningKey: "public_key",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// Check validates a Telnyx configuration offline: public_key must be the
// base64 of a 32-byte Ed25519 key and from an E.164 number.
func Check(cfg provider.Config) error {
	if k := strings.TrimSpace(cfg["public_key"]); k != "" {
		if _, err := parsePublicKey(k); err != nil {
			return voice.Invalid("public_key", "%v", err)
		}
	}
	if f := strings.TrimSpace(cfg["from"]); f != "" && !isE164(f) {
		return voice.Invalid("from", "%q is not an E.164 number such as +13125550100", f)
	}
	return nil
}

// Provider is a configured Telnyx adapter. It is safe for concurrent use.
type Provider struct {
	cfg    provider.Config
	client *http.Client
	base   string
	// pub is the verification key; keyErr is set when public_key is
	// configured but malformed, which makes Verify fail closed.
	pub    ed25519.PublicKey
	keyErr error
}

// New returns a Telnyx provider for cfg. A malformed public_key does not fail
// here; Verify rejects every callback instead (see the package doc).
func New(cfg provider.Config, deps provider.Deps) *Provider {
	c := deps.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimRight(strings.TrimSpace(deps.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	p := &Provider{cfg: cfg, client: c, base: base}
	if k := strings.TrimSpace(cfg["public_key"]); k != "" {
		p.pub, p.keyErr = parsePublicKey(k)
	}
	return p
}

// Reply answers every committed callback with 200 {"ok":true}: Telnyx only
// needs a quick 2xx, and call control goes through React.
func (p *Provider) Reply(_ *provider.Request, _ provider.Outcome) provider.Reply {
	return provider.JSONReply()
}

// parsePublicKey decodes a base64 (padded or not) Ed25519 public key.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("not valid base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d (an Ed25519 public key)", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// decodeBase64 accepts standard base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
