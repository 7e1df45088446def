// Package twilio is the adapter for Twilio Programmable Voice
// (docs/providers.md, "Twilio"). It reads three kinds of callback:
//
//   - status callbacks: a form POST (or the query string of a GET) with
//     CallbackSource=call-progress-events, or any form with a CallStatus and
//     no Digits (an inbound voice URL request), → EventStatus, Native
//     "status-callback";
//   - <Gather> action callbacks: Digits (or SpeechResult, or msg=Gather End)
//     → EventDTMF with Digit = Digits, Native "gather";
//   - the Voice SDK Call Notification webhook: a JSON body of twi_* fields
//     → EventStatus ringing (twilio.voice.cancel → cancelled), Native
//     "call-notification", Notify = the callee identity without "client:".
//
// Statuses follow docs/providers.md, "Twilio" (MapStatus). Sequence and the
// idempotency key come from SequenceNumber (CallSid + ":" + SequenceNumber);
// notifications use twi_message_id; gathers have neither, so the pipeline
// deduplicates them by body hash.
//
// X-Twilio-Signature is checked as in docs/providers.md, "Twilio" (Signature,
// Validator): sorted names, per-name sorted and deduplicated values, the
// bodySHA256 scheme for JSON bodies, and the URL as received, without its
// port or with the default port added. The signature and parsing helpers
// are exported for the SignalWire and Dograh adapters, which speak the same
// format.
//
// Calls are placed with POST /2010-04-01/Accounts/{account_sid}/Calls.json
// (basic auth account_sid:auth_token) running an inline Twiml document that
// gathers one DTMF answer, and polled with GET .../Calls/{CallSid}.json.
//
// Judgement calls, where docs/providers.md leaves a choice or marks [uncertain]:
//
//   - Status callbacks are answered 200 with an empty <Response/> (text/xml)
//     rather than 204: Twilio ignores the body, and an empty document stays
//     valid should the URL also serve as a voice URL.
//   - The Call Notification signature is accepted both in the bodySHA256
//     form and over the bare URL with no parameters (Validator.AllowURLOnly).
//     The bare form does not cover the body; the channel secret in the URL
//     is then the only protection of the body.
//   - A notification without twi_message_type is treated as a call
//     (ringing); an unknown type gives status unknown. The callee identity
//     is taken from twi_to with "client:" removed (the whole value otherwise).
//     The reply is 200 when out.Delivered, else 404, also for duplicates.
//   - CallStatus initiated and queued both map to queued.
//   - A gather with no Digits (timeout) is still a dtmf event with an empty
//     digit and message "no input", so the reply re-prompts; without
//     CallStatus its status is unknown.
//   - The asynchronous AMD result and partial speech results are status
//     answered; other callbacks naming the call and account (recording,
//     stream, conference) are status unknown, never rejected. The whole
//     vocabulary is the Twilio table of docs/providers.md.
//   - ErrorCode, ErrorMessage and SipResponseCode are copied to the message
//     when present but never change the event type: a Twilio "failed" is a
//     status event.
//   - A malformed Timestamp or SequenceNumber is ignored (kept in Raw), not
//     rejected.
//   - On a gather answered with a re-prompt, the action URL is the URL the
//     gather came to; for a GET, Twilio's own parameters are removed from it first.
//   - A duplicate gather delivery with no event in the outcome says the
//     input was already received and hangs up.
//   - PlaceCall refuses a call document over Twilio's 4000-character Twiml
//     limit instead of letting the API reject it; an unknown initial status
//     is reported as queued.
//   - An inbound voice request (the number's voice URL is the channel's
//     callback URL: Direction inbound, no CallbackSource) is answered with a
//     <Gather> that says the newest firing alert (linked to the inbound call
//     by the pipeline) and the keypad prompt, so on-call staff can phone in
//     and press 1; with no firing alert it says so and hangs up.
package twilio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Spec describes the Twilio provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "twilio",
		Title: "Twilio",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
			provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "account_sid", Label: "Account SID", Required: true, Help: "AC followed by 32 hex digits, from the Twilio console."},
			{Key: "auth_token", Label: "Auth token", Secret: true, Required: true, Help: "Used for the REST API and to check X-Twilio-Signature. Empty turns the check off."},
			{Key: "from", Label: "Caller ID", Required: true, Help: "A Twilio number or verified caller ID in E.164 form, e.g. +14155550123."},
		},
		SigningKey: "auth_token",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// Check validates a Twilio configuration offline. Empty values pass: they
// only disable what needs them.
func Check(cfg provider.Config) error {
	if err := CheckSID("account_sid", "AC", cfg["account_sid"]); err != nil {
		return err
	}
	if err := CheckAuthToken("auth_token", cfg["auth_token"]); err != nil {
		return err
	}
	return CheckPhone("from", cfg["from"])
}

// CheckSID checks that a non-empty v is prefix followed by 32 hex digits.
func CheckSID(key, prefix, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, prefix) || len(v) != len(prefix)+32 || !isHex(v[len(prefix):]) {
		return voice.Invalid(key, "must be %s followed by 32 hex digits", prefix)
	}
	return nil
}

// CheckAuthToken checks that a non-empty v looks like a Twilio auth token: 32 hex digits.
func CheckAuthToken(key, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) != 32 || !isHex(v) {
		return voice.Invalid(key, "must be 32 hex digits (the account's auth token)")
	}
	return nil
}

// CheckPhone checks that a non-empty v is an E.164 number (+ and 7 to 15 digits).
func CheckPhone(key, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	d := strings.TrimPrefix(v, "+")
	if d == v || len(d) < 7 || len(d) > 15 || strings.Trim(d, "0123456789") != "" {
		return voice.Invalid(key, "must be an E.164 number such as +14155550123")
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// Provider is a configured Twilio adapter.
type Provider struct {
	cfg    provider.Config
	client *Client
}

// New returns a Twilio provider for cfg. deps.BaseURL replaces
// https://api.twilio.com.
func New(cfg provider.Config, deps provider.Deps) *Provider {
	hc := deps.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	base := deps.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	sid := strings.TrimSpace(cfg["account_sid"])
	return &Provider{cfg: cfg, client: &Client{Name: "twilio", Base: base, AccountSid: sid,
		Username: sid, Password: strings.TrimSpace(cfg["auth_token"]), HTTP: hc}}
}

// Verify checks X-Twilio-Signature when an auth token is configured.
func (p *Provider) Verify(r *provider.Request) error {
	token := strings.TrimSpace(p.cfg["auth_token"])
	if token == "" {
		return nil
	}
	return Validator{AllowURLOnly: true}.Validate(token, r.Header.Get(HeaderSignature), r)
}

// Parse reads a status callback, a <Gather> action or a Call Notification.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) { return Parse(r) }

// Reply renders TwiML for gathers, an empty TwiML document for status
// callbacks and 200/404 JSON for call notifications (see RenderReply).
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	return RenderReply(r, out)
}

// PlaceCall dials req.To from req.From (else the configured caller ID).
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	from := req.From
	if from == "" {
		from = p.cfg["from"]
	}
	return p.client.PlaceCall(ctx, from, req)
}

// FetchCall reads the call's current status from the REST API.
func (p *Provider) FetchCall(ctx context.Context, callSid string) (voice.Event, error) {
	return p.client.FetchCall(ctx, callSid)
}

// SampleCallback builds a ringing status callback for callID (a random
// CallSid when empty) posted to rawURL, signed with the configured auth token.
func (p *Provider) SampleCallback(rawURL, callID string, now time.Time) (*provider.Request, error) {
	if callID == "" {
		id, err := randomHex(16)
		if err != nil {
			return nil, fmt.Errorf("twilio: sample callback: %w", err)
		}
		callID = "CA" + id
	}
	account := p.cfg["account_sid"]
	if account == "" {
		account = "AC" + strings.Repeat("0", 32)
	}
	form := SampleStatusForm(account, callID, p.cfg["from"], now)
	return NewSignedRequest(strings.TrimSpace(p.cfg["auth_token"]), HeaderSignature, rawURL, form, now), nil
}

// SampleStatusForm returns the parameters of a realistic status callback:
// the "ringing" progress event (SequenceNumber 1) of outbound call callID
// from from (a test number when empty) at now.
func SampleStatusForm(accountSid, callID, from string, now time.Time) url.Values {
	if from == "" {
		from = "+15005550006"
	}
	v := url.Values{}
	v.Set("AccountSid", accountSid)
	v.Set("ApiVersion", "2010-04-01")
	v.Set("CallSid", callID)
	v.Set("CallStatus", "ringing")
	v.Set("CallbackSource", "call-progress-events")
	v.Set("Direction", "outbound-api")
	v.Set("From", from)
	v.Set("Caller", from)
	v.Set("To", "+15005550001")
	v.Set("Called", "+15005550001")
	v.Set("SequenceNumber", "1")
	v.Set("Timestamp", now.UTC().Format(time.RFC1123Z))
	return v
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Interface checks.
var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Placer   = (*Provider)(nil)
	_ provider.Poller   = (*Provider)(nil)
	_ provider.Sampler  = (*Provider)(nil)
)
