// Package dograh is the adapter for Dograh AI's telephony status callbacks
// (docs/providers.md, "Dograh"). Dograh relays Twilio-format form callbacks, signed with
// X-Twilio-Signature using the Twilio auth token of the account behind it
// (config auth_token), so parsing, signatures and replies are the twilio
// package's; only the status vocabulary differs:
//
//	initiated → queued          ringing → ringing
//	in-progress, answered → answered
//	completed → completed       busy → busy        no-answer → no_answer
//	canceled → cancelled        failed → failed
//	error → failed, with event type error
//
// Dograh places no calls for callhook, so the adapter has no Placer or Poller.
//
// Judgement calls, where docs/providers.md leaves a choice:
//
//   - Values outside the vocabulary ("passed through unchanged" by Dograh)
//     become status unknown; Twilio's "queued" is accepted as queued.
//   - Status values are matched case-insensitively.
//   - Only form callbacks (POST body or GET query) are accepted; a JSON body
//     is an unsupported media type, and the signature check is the strict
//     twilio.ValidateRequest (no URL-only variant).
//   - A <Gather>-shaped callback (Digits) is still read as DTMF and answered
//     with TwiML, since the format is Twilio's; the spec does not advertise
//     the DTMF capability because Dograh's documented webhook carries
//     statuses only.
//   - The auth token is checked offline for Twilio's format (32 hex digits).
package dograh

import (
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/twilio"
	"callhook/internal/voice"
)

// Spec describes the Dograh provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:         "dograh",
		Title:        "Dograh AI",
		Capabilities: []provider.Capability{provider.CapStatusCallback, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "auth_token", Label: "Twilio auth token", Secret: true,
				Help: "The auth token of the Twilio account Dograh uses; it checks X-Twilio-Signature. Empty turns the check off."},
		},
		SigningKey: "auth_token",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// Check validates a Dograh configuration offline.
func Check(cfg provider.Config) error {
	return twilio.CheckAuthToken("auth_token", cfg["auth_token"])
}

// MapStatus is Dograh's TelephonyCallStatus vocabulary mapped to ours: the
// Twilio map plus "error", which is a failed call reported as an error event.
func MapStatus(callStatus string) (voice.Status, voice.EventType) {
	if strings.EqualFold(strings.TrimSpace(callStatus), "error") {
		return voice.StatusFailed, voice.EventError
	}
	return twilio.MapStatus(callStatus)
}

// Provider is a configured Dograh adapter.
type Provider struct {
	token string
}

// New returns a Dograh provider for cfg.
func New(cfg provider.Config, _ provider.Deps) *Provider {
	return &Provider{token: strings.TrimSpace(cfg["auth_token"])}
}

// Verify checks X-Twilio-Signature when an auth token is configured.
func (p *Provider) Verify(r *provider.Request) error {
	if p.token == "" {
		return nil
	}
	return twilio.ValidateRequest(p.token, r.Header.Get(twilio.HeaderSignature), r)
}

// Parse reads a Twilio-format status callback with Dograh's vocabulary.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) { return Parse(r) }

// Parse is the Dograh parser.
func Parse(r *provider.Request) ([]voice.Event, error) {
	if twilio.IsJSON(r) {
		return nil, provider.Errorf(provider.ErrUnsupportedMediaType, "%s, want application/x-www-form-urlencoded", r.MediaType())
	}
	return twilio.ParseRequestWith(r, MapStatus)
}

// Reply answers as Twilio does: an empty TwiML document for status
// callbacks, TwiML for gathers.
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	if twilio.IsJSON(r) {
		return provider.JSONReply()
	}
	return twilio.RenderReply(r, out)
}

// SampleCallback builds a ringing status callback for callID posted to
// rawURL, signed with the configured auth token.
func (p *Provider) SampleCallback(rawURL, callID string, now time.Time) (*provider.Request, error) {
	// The Twilio adapter holds the sampling logic; only the token matters here.
	return twilio.New(provider.Config{"auth_token": p.token}, provider.Deps{}).SampleCallback(rawURL, callID, now)
}

// Interface checks.
var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Sampler  = (*Provider)(nil)
)
