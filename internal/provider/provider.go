// Package provider defines the one interface every telephony adapter
// implements (verify a signature, parse a callback into normalized events,
// render the reply the provider expects, optionally place and poll calls) and
// a registry of adapters by name. Adapters live in sub-packages, one per
// provider; cmd/callhook registers them.
package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"callhook/internal/voice"
)

// Capability is something a provider can do.
type Capability string

// The capabilities a provider may have (docs/architecture.md, "Providers").
const (
	CapTTS            Capability = "tts"
	CapStatusCallback Capability = "status_callback"
	CapDTMFCallback   Capability = "dtmf_callback"
	CapStatusPolling  Capability = "status_polling"
	CapPlaceCall      Capability = "place_call"
	CapSignature      Capability = "signature"
)

// Errors a provider returns; the pipeline maps them to reason codes and
// HTTP statuses. Wrap them with detail: fmt.Errorf("%w: missing CallSid", ErrBadPayload).
var (
	ErrBadSignature         = errors.New("bad signature")
	ErrStaleTimestamp       = errors.New("stale timestamp")
	ErrBadPayload           = errors.New("bad payload")
	ErrUnsupportedMediaType = errors.New("unsupported media type")
)

// TimestampWindow is how far a signed timestamp may be from now.
const TimestampWindow = 5 * time.Minute

// Config is a provider's configuration: string keys listed per provider in docs/providers.md.
type Config map[string]string

// Field describes one configuration key.
type Field struct {
	Key      string
	Label    string
	Secret   bool // write-only: shown masked, never logged
	Required bool // needed to place calls: empty saves only as "callbacks only" (settings.RequirePlaceCall)
	Help     string
}

// Request is one callback as the provider sent it.
type Request struct {
	Method string
	// URL is the full public URL the provider requested: the configured public
	// base, the path (with the channel secret) and the raw query as received.
	URL    string
	Header http.Header
	Body   []byte
	// Now is the clock for timestamp windows.
	Now time.Time

	// params memoises Params: parsing, signature checking and the reply
	// each read the form, and parsing it was a twentieth of a callback's
	// time. The first call happens before the request is shared.
	params    url.Values
	paramsErr error
	parsed    bool
	// mediaType memoises MediaType, which the signature check, the parser
	// and the reply each ask for.
	mediaType *string
}

// MediaType returns the request's media type without parameters, lower-case.
func (r *Request) MediaType() string {
	if r.mediaType == nil {
		mt := mediaType(r.Header.Get("Content-Type"))
		r.mediaType = &mt
	}
	return *r.mediaType
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt
}

// Query returns the parsed query string of URL.
func (r *Request) Query() url.Values {
	u, err := url.Parse(r.URL)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// Params returns the request's form parameters: the query string for GET,
// the url-encoded body for POST (an empty body gives the query instead).
// The values are parsed once per request; callers must not change them.
func (r *Request) Params() (url.Values, error) {
	if !r.parsed {
		r.params, r.paramsErr = r.parseParams()
		r.parsed = true
	}
	return r.params, r.paramsErr
}

func (r *Request) parseParams() (url.Values, error) {
	if r.Method == http.MethodGet || len(r.Body) == 0 {
		return r.Query(), nil
	}
	mt := r.MediaType()
	if mt != "application/x-www-form-urlencoded" && mt != "" {
		return nil, fmt.Errorf("%w: %s, want application/x-www-form-urlencoded", ErrUnsupportedMediaType, mt)
	}
	v, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: form body: %v", ErrBadPayload, err)
	}
	return v, nil
}

// Reply is the HTTP answer a provider expects after a callback is committed.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// JSONReply is the default reply: 200 {"ok": true}.
func JSONReply() Reply {
	return Reply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"ok":true}`)}
}

// AlertInfo is what a reply may say about an alert.
type AlertInfo struct {
	ID      int64
	Title   string
	Message string
	State   voice.AlertState
}

// Applied is what the pipeline did with one parsed event.
type Applied struct {
	Event voice.Event
	// Action is the alert action the event resolved to (none if unmapped).
	Action voice.Action
	// Changed is true when the action changed the alert's state.
	Changed bool
	// Matched is false when the event's call is not known (stored unmatched).
	Matched bool
}

// Outcome is what the pipeline committed for a callback; providers render
// their reply from it.
type Outcome struct {
	Duplicate bool
	Events    []Applied
	// Alert is the alert the callback's call is about, if any.
	Alert *AlertInfo
	// Delivered is true when a call notification reached at least one
	// open console binding of the callee identity (voice.Event.Notify).
	Delivered bool
	// Prompt is the keypad instruction of the channel's DTMF mapping, e.g.
	// "Press 1 to acknowledge. Press 2 to resolve.", for replies that re-prompt.
	Prompt string
	// MaxDigits is the length of the longest key sequence of the channel's
	// DTMF mapping, at least 1 (1 for "Press 1 …", 3 for "Press 7 8 7 …"):
	// how many keys a keypad capture waits for. 0 means not known; see
	// DigitLimit.
	MaxDigits int
}

// Provider is one configured adapter.
type Provider interface {
	// Verify checks the provider's signature. It returns nil when the
	// signing credential is not configured. Errors wrap ErrBadSignature or
	// ErrStaleTimestamp.
	Verify(r *Request) error
	// Parse turns a callback into normalized events. Errors wrap
	// ErrBadPayload or ErrUnsupportedMediaType.
	Parse(r *Request) ([]voice.Event, error)
	// Reply renders the body the provider expects for a committed callback.
	Reply(r *Request, out Outcome) Reply
}

// PlaceRequest asks a provider to dial one number.
type PlaceRequest struct {
	To      string
	From    string // overrides the configured caller id when set
	Message string // what to say; the prompt for keypad input is appended
	// CallbackURL is the channel's callback URL for status and DTMF callbacks.
	CallbackURL string
	// Prompt is the keypad instruction, e.g. "Press 1 to acknowledge. Press 2 to resolve."
	Prompt string
	// MaxDigits is the length of the longest key sequence of the channel's
	// DTMF mapping, at least 1; 0 means not known. See Outcome.MaxDigits.
	MaxDigits int
}

// PlacedCall is the provider's answer to PlaceCall.
type PlacedCall struct {
	ProviderCallID string
	Status         voice.Status
}

// Placer is a provider that places outbound calls.
type Placer interface {
	PlaceCall(ctx context.Context, req PlaceRequest) (PlacedCall, error)
}

// Poller is a provider whose call status can be fetched.
type Poller interface {
	// FetchCall returns the call's current state as a status event.
	FetchCall(ctx context.Context, providerCallID string) (voice.Event, error)
}

// Deps are what adapters may need from the outside world.
type Deps struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	// BaseURL replaces the provider's REST API base URL (tests point it at an
	// httptest server); empty means the provider's real API.
	BaseURL string
}

// Spec describes one provider type.
type Spec struct {
	Name         string
	Title        string
	Capabilities []Capability
	Fields       []Field
	// SigningKey is the config key whose value enables the signature check;
	// empty if the provider has no signature scheme.
	SigningKey string
	// New builds a provider from its configuration.
	New func(cfg Config, deps Deps) (Provider, error)
	// Check validates a configuration offline (key formats); nil means "looks right".
	Check func(cfg Config) error
}

// Has reports whether the spec declares capability c.
func (s Spec) Has(c Capability) bool {
	for _, x := range s.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// SignatureOff reports whether a configuration leaves the signature check off
// although the provider has one.
func (s Spec) SignatureOff(cfg Config) bool {
	return s.SigningKey != "" && strings.TrimSpace(cfg[s.SigningKey]) == ""
}

// Field returns the field with key k.
func (s Spec) Field(k string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Key == k {
			return f, true
		}
	}
	return Field{}, false
}

// Registry holds the provider specs by name.
type Registry struct {
	specs map[string]Spec
}

// NewRegistry returns a registry holding specs.
func NewRegistry(specs ...Spec) *Registry {
	r := &Registry{specs: map[string]Spec{}}
	for _, s := range specs {
		r.specs[s.Name] = s
	}
	return r
}

// Get returns the spec named name.
func (r *Registry) Get(name string) (Spec, bool) {
	s, ok := r.specs[name]
	return s, ok
}

// List returns every spec sorted by name.
func (r *Registry) List() []Spec {
	out := make([]Spec, 0, len(r.specs))
	for _, s := range r.specs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered names sorted.
func (r *Registry) Names() []string {
	var out []string
	for _, s := range r.List() {
		out = append(out, s.Name)
	}
	return out
}

// Mask returns cfg with every secret value replaced by a mask that shows
// only whether it is set and its last two characters.
func (s Spec) Mask(cfg Config) Config {
	out := Config{}
	for _, f := range s.Fields {
		v := cfg[f.Key]
		if f.Secret && v != "" {
			v = MaskSecret(v)
		}
		out[f.Key] = v
	}
	return out
}

// Secrets returns the values of cfg's secret fields that are set: what a
// Redactor must hide in the provider's answers.
func (s Spec) Secrets(cfg Config) []string {
	var out []string
	for _, f := range s.Fields {
		if v := strings.TrimSpace(cfg[f.Key]); f.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// MaskSecret hides a secret, keeping its last two characters when it is long enough.
func MaskSecret(v string) string {
	if v == "" {
		return ""
	}
	if len(v) < 12 {
		return "••••••••"
	}
	return "••••••••" + v[len(v)-2:]
}

// Merge applies an update to a stored configuration: a secret left empty (or
// sent back masked) keeps its stored value.
func (s Spec) Merge(stored, update Config) Config {
	out := Config{}
	for _, f := range s.Fields {
		v, ok := update[f.Key]
		v = strings.TrimSpace(v)
		if f.Secret && (!ok || v == "" || strings.HasPrefix(v, "••••")) {
			v = stored[f.Key]
		} else if !ok {
			v = stored[f.Key]
		}
		out[f.Key] = v
	}
	return out
}

// Sampler is a provider that can build a realistic sample callback for the
// console's "send test callback": a status or DTMF callback for callID,
// addressed to url and signed with the configured credentials where the
// provider's scheme allows it (Telnyx cannot: only Telnyx holds the private key).
type Sampler interface {
	SampleCallback(url, callID string, now time.Time) (*Request, error)
}

// DTMFSampler is a Sampler that can also build the provider's keypad
// callback (Twilio's <Gather> action, Vonage's input webhook, Telnyx's
// call.gather.ended…) carrying digit for callID, signed like SampleCallback,
// so "send test callback" exercises the channel's DTMF mapping.
type DTMFSampler interface {
	SampleDTMF(url, callID, digit string, now time.Time) (*Request, error)
}

// Reactor is a provider that sends call-control commands after a callback is
// committed (Telnyx answers "call.answered" with a gather command). The
// pipeline runs React after replying, with a bounded context; errors are logged.
type Reactor interface {
	React(ctx context.Context, r *Request, out Outcome) error
}
