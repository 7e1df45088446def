// Package signalwire is the adapter for SignalWire (docs/providers.md, "SignalWire"). It
// reads two families of callback:
//
//   - Compatibility API (cXML/LaML): status callbacks, <Gather> actions and
//     the phone number's inbound call status-change webhook. They have
//     Twilio's shape, so they are parsed by twilio.ParseForm with the same
//     status map; SignalWire's extras are added on top: AudioInMos becomes
//     voice.Event.MOS (and "AudioInMos=4.3" in the message), SipResultCode,
//     HangupBy and friends go to Raw. Ids are UUIDs; no prefix is checked.
//   - RELAY/SWML JSON: calling.call.state (call_state_url),
//     calling.call.connect (status_url), calling.call.collect (collect and
//     prompt results) and calling.call.detect, mapped as in the SignalWire
//     table of docs/providers.md; any other event naming a call is accepted
//     as status unknown.
//
// Signatures (§2.3) use the project's Signing Key (config signing_key) and
// X-SignalWire-Signature, or the X-Twilio-Signature alias. Scheme A is
// hex(HMAC-SHA1(key, url + raw body)), or X-Signalwire-SHA256-Signature =
// hex(HMAC-SHA256(...)); scheme B is Twilio's scheme (twilio.ValidateRequest:
// form parameters, bodySHA256 for JSON). Both are tried over the port variants
// of twilio.URLVariants.
//
// Calls are placed and polled through the LaML REST API,
// {space_url}/api/laml/2010-04-01/Accounts/{project_id}/Calls.json with basic
// auth project_id:api_token, using twilio.Client and the same call document.
//
// Judgement calls, where docs/providers.md leaves a choice or marks [uncertain]:
//
//   - signing_key may hold two keys separated by a comma or white space, so
//     that the old and the new key both verify while a rotation applies.
//   - Unsigned requests are rejected when a signing key is configured, RELAY
//     call_state deliveries included (whether SignalWire signs them is
//     [uncertain]); the basic-auth fallback is not implemented: leave
//     signing_key empty to rely on the channel secret alone.
//   - Scheme B follows Twilio (values sorted and deduplicated), not
//     SignalWire's reference (submission order, no dedup); they differ only
//     on repeated keys, which these callbacks do not have.
//   - Scheme A is also tried on form bodies and scheme B on JSON bodies (with
//     bodySHA256), since the hex and base64 forms cannot be confused. A JSON
//     body signed over the bare URL without bodySHA256 is not accepted.
//   - RELAY "ending" is status unknown (ignored by the state machine); "ended"
//     with hangup, max_duration or no reason → completed; busy → busy;
//     no_answer/noAnswer → no_answer; cancel/abandoned → cancelled;
//     decline/declined/not_found → failed; error → failed with event type
//     error; an unknown end_reason → completed. Every end_reason other than
//     hangup is put in the message.
//   - calling.call.connect: connecting → ringing, connected → answered,
//     disconnected → completed, failed → the failed_reason mapped like an
//     end_reason (no_answer, busy, else failed).
//   - SipResultCode goes to the message only when it is not 200.
//   - Collect and detect results are status answered (they need an answered
//     call); a final digit result or a detected key is dtmf; speech,
//     no_input, no_match and error are dtmf with an empty digit and the
//     reason in the message; interim results are status events.
//   - The reply to RELAY JSON is 200 {"ok":true}; cXML replies are Twilio's
//     (empty <Response/> for status, TwiML for gathers).
package signalwire

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/twilio"
	"callhook/internal/voice"
)

// Signature headers.
const (
	HeaderSignature       = "X-SignalWire-Signature"
	HeaderSignatureSHA256 = "X-Signalwire-SHA256-Signature"
)

// Spec describes the SignalWire provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "signalwire",
		Title: "SignalWire",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
			provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature},
		Fields: []provider.Field{
			{Key: "space_url", Label: "Space URL", Required: true, Help: "Your space's host, e.g. example.signalwire.com."},
			{Key: "project_id", Label: "Project ID", Required: true, Help: "The project's UUID, from API Credentials."},
			{Key: "api_token", Label: "API token", Secret: true, Required: true, Help: "Used for the REST API (basic auth with the project ID)."},
			{Key: "signing_key", Label: "Signing key", Secret: true, Help: "The project's Signing Key (PSK…), not the API token. Empty turns the check off. During a rotation give the old and the new key separated by a comma."},
			{Key: "from", Label: "Caller ID", Required: true, Help: "A SignalWire number in E.164 form, e.g. +14155550123."},
		},
		SigningKey: "signing_key",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: Check,
	}
}

// Check validates a SignalWire configuration offline. Empty values pass.
func Check(cfg provider.Config) error {
	if s := strings.TrimSpace(cfg["space_url"]); s != "" {
		if _, err := SpaceURL(s); err != nil {
			return err
		}
	}
	if id := strings.TrimSpace(cfg["project_id"]); id != "" && !isUUID(id) {
		return voice.Invalid("project_id", "must be a UUID such as b3877c40-da60-4998-90ad-b792e98472af")
	}
	return twilio.CheckPhone("from", cfg["from"])
}

// SpaceURL normalizes a configured space: "example.signalwire.com" or
// "https://example.signalwire.com/" both give "https://example.signalwire.com".
func SpaceURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", voice.Invalid("space_url", "must be your space's host, e.g. example.signalwire.com")
	}
	return u.Scheme + "://" + u.Host, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// Keys splits a signing_key value into its keys (comma or space separated).
func Keys(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// Provider is a configured SignalWire adapter.
type Provider struct {
	cfg    provider.Config
	keys   []string
	client *twilio.Client
	base   string
}

// New returns a SignalWire provider for cfg. deps.BaseURL replaces the
// space URL (the /api/laml path is kept).
func New(cfg provider.Config, deps provider.Deps) *Provider {
	hc := deps.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimRight(deps.BaseURL, "/")
	if base == "" {
		base, _ = SpaceURL(cfg["space_url"])
	}
	project := strings.TrimSpace(cfg["project_id"])
	return &Provider{cfg: cfg, keys: Keys(cfg["signing_key"]), base: base,
		client: &twilio.Client{Name: "signalwire", Base: base + "/api/laml", AccountSid: project,
			Username: project, Password: strings.TrimSpace(cfg["api_token"]), HTTP: hc}}
}

// SignRelay returns the scheme A signatures of a request to rawURL carrying
// body: hex HMAC-SHA1 (X-SignalWire-Signature) and hex HMAC-SHA256
// (X-Signalwire-SHA256-Signature) of rawURL + body.
func SignRelay(key, rawURL string, body []byte) (sha1Hex, sha256Hex string) {
	return hexMAC(sha1.New, key, rawURL, body), hexMAC(sha256.New, key, rawURL, body)
}

func hexMAC(h func() hash.Hash, key, rawURL string, body []byte) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(rawURL))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks the request's signature when a signing key is configured:
// scheme A, then scheme B, for each configured key.
func (p *Provider) Verify(r *provider.Request) error {
	if len(p.keys) == 0 {
		return nil
	}
	return VerifyRequest(p.keys, r)
}

// VerifyRequest checks r against any of keys with scheme A or scheme B.
// Errors wrap provider.ErrBadSignature.
func VerifyRequest(keys []string, r *provider.Request) error {
	sig := strings.TrimSpace(r.Header.Get(HeaderSignature))
	if sig == "" {
		sig = strings.TrimSpace(r.Header.Get(twilio.HeaderSignature))
	}
	sig256 := strings.ToLower(strings.TrimSpace(r.Header.Get(HeaderSignatureSHA256)))
	if sig == "" && sig256 == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing %s", HeaderSignature)
	}
	sigHex := strings.ToLower(sig)
	for _, key := range keys {
		for _, u := range twilio.URLVariants(r.URL) {
			s1, s256 := SignRelay(key, u, r.Body)
			if (sig != "" && provider.EqualString(s1, sigHex)) || (sig256 != "" && provider.EqualString(s256, sig256)) {
				return nil
			}
		}
		if sig != "" && twilio.ValidateRequest(key, sig, r) == nil {
			return nil
		}
	}
	return provider.Errorf(provider.ErrBadSignature, "signature matches neither the RELAY nor the cXML scheme")
}

// Parse reads a cXML form callback or a RELAY JSON event.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) { return Parse(r) }

// Parse is the SignalWire parser.
func Parse(r *provider.Request) ([]voice.Event, error) {
	if twilio.IsJSON(r) {
		e, err := ParseRelay(r.Body)
		if err != nil {
			return nil, err
		}
		return []voice.Event{e}, nil
	}
	v, err := r.Params()
	if err != nil {
		return nil, err
	}
	e, err := ParseForm(v)
	if err != nil {
		return nil, err
	}
	return []voice.Event{e}, nil
}

// rawKeys are SignalWire's extra cXML parameters kept in Raw.
var rawKeys = []string{"SipResultCode", "SipInviteResultPhrase", "HangupBy", "HangupDirection", "AudioInMos"}

// ParseForm reads a cXML status, gather or inbound status-change callback:
// twilio.ParseForm plus AudioInMos and SignalWire's SIP and hangup fields.
func ParseForm(v url.Values) (voice.Event, error) {
	e, err := twilio.ParseForm(v)
	if err != nil {
		return e, err
	}
	var msg []string
	if e.Message != "" {
		msg = append(msg, e.Message)
	}
	if s := strings.TrimSpace(v.Get("AudioInMos")); s != "" {
		if mos, err := strconv.ParseFloat(s, 64); err == nil && mos >= 1 && mos <= 5 {
			e.MOS = &mos
		}
		msg = append(msg, "AudioInMos="+s)
	}
	if s := strings.TrimSpace(v.Get("SipResultCode")); s != "" && s != "200" {
		msg = append(msg, "SipResultCode="+s)
	}
	e.Message = strings.Join(msg, " ")
	for k, s := range twilio.RawValues(v, rawKeys...) {
		if e.Raw == nil {
			e.Raw = map[string]string{}
		}
		e.Raw[k] = s
	}
	return e, nil
}

// Reply answers RELAY JSON with 200 {"ok":true} and cXML callbacks as Twilio
// does (twilio.RenderReply).
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	if twilio.IsJSON(r) {
		return provider.JSONReply()
	}
	return twilio.RenderReply(r, out)
}

// PlaceCall dials req.To through the LaML Calls API.
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	if p.base == "" {
		return provider.PlacedCall{}, fmt.Errorf("signalwire: place call: space_url is not configured")
	}
	from := req.From
	if from == "" {
		from = p.cfg["from"]
	}
	return p.client.PlaceCall(ctx, from, req)
}

// FetchCall reads the call's current status through the LaML Calls API.
func (p *Provider) FetchCall(ctx context.Context, callSid string) (voice.Event, error) {
	if p.base == "" {
		return voice.Event{}, fmt.Errorf("signalwire: fetch call: space_url is not configured")
	}
	return p.client.FetchCall(ctx, callSid)
}

// SampleCallback builds a ringing cXML status callback for callID (a random
// UUID when empty) posted to rawURL, signed (scheme B) with the first
// configured signing key.
func (p *Provider) SampleCallback(rawURL, callID string, now time.Time) (*provider.Request, error) {
	if callID == "" {
		id, err := newUUID()
		if err != nil {
			return nil, fmt.Errorf("signalwire: sample callback: %w", err)
		}
		callID = id
	}
	account, key := p.sampleAccount()
	form := twilio.SampleStatusForm(account, callID, p.cfg["from"], now)
	return twilio.NewSignedRequest(key, HeaderSignature, rawURL, form, now), nil
}

func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// Interface checks.
var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Placer   = (*Provider)(nil)
	_ provider.Poller   = (*Provider)(nil)
	_ provider.Sampler  = (*Provider)(nil)
)
