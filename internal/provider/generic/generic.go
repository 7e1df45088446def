// Package generic is callhook's own JSON callback format, compatible with
// IncidentRelay: one object or an array of objects such as
//
//	{"call_id": "abc-123", "event_type": "status", "status": "answered"}
//	{"call_id": "abc-123", "event_type": "dtmf", "digit": "1"}
//	{"call_id": "abc-123", "event_type": "dtmf", "action": "acknowledge"}
//	{"call_id": "abc-123", "event_type": "error", "status": "failed", "message": "Insufficient balance"}
//
// Signatures are optional: with a signing secret configured, requests must carry
// X-Callhook-Timestamp (Unix seconds) and X-Callhook-Signature:
// sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>, within five minutes.
//
// Calls are placed with POST {api_url}/calls and polled with GET
// {api_url}/calls/{id}, both with "Authorization: Bearer {api_token}".
package generic

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Header names of the optional signature.
const (
	HeaderTimestamp = "X-Callhook-Timestamp"
	HeaderSignature = "X-Callhook-Signature"
)

// Spec describes the generic provider.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "generic",
		Title: "Generic JSON",
		Capabilities: []provider.Capability{provider.CapStatusCallback, provider.CapDTMFCallback,
			provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature, provider.CapTTS},
		Fields: []provider.Field{
			{Key: "api_url", Label: "API URL", Help: "Base URL of your calling service; callhook posts to {api_url}/calls."},
			{Key: "api_token", Label: "API token", Secret: true, Help: "Sent as a bearer token to the API."},
			{Key: "signing_secret", Label: "Signing secret", Secret: true, Help: "HMAC-SHA256 key for X-Callhook-Signature. Empty turns the check off."},
		},
		SigningKey: "signing_secret",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(cfg, deps), nil
		},
		Check: func(cfg provider.Config) error {
			if u := cfg["api_url"]; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				return voice.Invalid("api_url", "must start with http:// or https://")
			}
			return nil
		},
	}
}

// Provider is a configured generic adapter.
type Provider struct {
	cfg    provider.Config
	client *http.Client
}

// New returns a generic provider for cfg.
func New(cfg provider.Config, deps provider.Deps) *Provider {
	c := deps.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	return &Provider{cfg: cfg, client: c}
}

// Sign returns the X-Callhook-Signature value for body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	return signString(secret, strconv.FormatInt(ts, 10), body)
}

// signString signs the timestamp exactly as the header carries it.
func signString(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks X-Callhook-Signature when a signing secret is configured.
func (p *Provider) Verify(r *provider.Request) error {
	secret := p.cfg["signing_secret"]
	if secret == "" {
		return nil
	}
	tsv := r.Header.Get(HeaderTimestamp)
	sig := r.Header.Get(HeaderSignature)
	if tsv == "" || sig == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing %s or %s", HeaderTimestamp, HeaderSignature)
	}
	tsv = strings.TrimSpace(tsv)
	if _, err := strconv.ParseInt(tsv, 10, 64); err != nil {
		return provider.Errorf(provider.ErrBadSignature, "%s is not Unix seconds", HeaderTimestamp)
	}
	if !hmac.Equal([]byte(signString(secret, tsv, r.Body)), []byte(strings.TrimSpace(sig))) {
		return provider.Errorf(provider.ErrBadSignature, "%s does not match the body", HeaderSignature)
	}
	_, err := provider.CheckUnixTimestamp(tsv, r.Now)
	return err
}

// Payload is one generic event as it travels on the wire.
type Payload struct {
	CallID    string          `json:"call_id"`
	EventType string          `json:"event_type"`
	Status    string          `json:"status,omitempty"`
	Digit     json.RawMessage `json:"digit,omitempty"`
	Action    string          `json:"action,omitempty"`
	Message   string          `json:"message,omitempty"`
	// Optional extensions.
	EventID    string          `json:"event_id,omitempty"`
	Sequence   *int64          `json:"sequence,omitempty"`
	OccurredAt json.RawMessage `json:"occurred_at,omitempty"`
	Timestamp  json.RawMessage `json:"timestamp,omitempty"`
	Direction  string          `json:"direction,omitempty"`
	From       string          `json:"from,omitempty"`
	To         string          `json:"to,omitempty"`
	DurationS  *float64        `json:"duration_s,omitempty"`
	Duration   *float64        `json:"duration,omitempty"`
	MOS        *float64        `json:"mos,omitempty"`
}

// Parse reads one object or an array of objects.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) {
	return Parse(r)
}

// Parse is the generic parser, shared with the simulator.
func Parse(r *provider.Request) ([]voice.Event, error) {
	if r.Method == http.MethodGet && len(bytes.TrimSpace(r.Body)) == 0 {
		return parseQuery(r)
	}
	if mt := r.MediaType(); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, provider.Errorf(provider.ErrUnsupportedMediaType, "content type %q, want application/json", mt)
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		return nil, provider.Errorf(provider.ErrBadPayload, "empty body")
	}
	var items []Payload
	dec := func(b []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(v); err != nil {
			return err
		}
		if d.More() {
			return fmt.Errorf("unexpected data after the JSON value")
		}
		return nil
	}
	switch body[0] {
	case '[':
		if err := dec(body, &items); err != nil {
			return nil, provider.Errorf(provider.ErrBadPayload, "invalid JSON array: %v", err)
		}
		if len(items) == 0 {
			return nil, provider.Errorf(provider.ErrBadPayload, "empty array")
		}
	case '{':
		var one Payload
		if err := dec(body, &one); err != nil {
			return nil, provider.Errorf(provider.ErrBadPayload, "invalid JSON: %v", err)
		}
		items = []Payload{one}
	default:
		return nil, provider.Errorf(provider.ErrBadPayload, "body must be a JSON object or array")
	}
	events := make([]voice.Event, 0, len(items))
	for i, it := range items {
		e, err := it.event()
		if err != nil {
			if len(items) > 1 {
				return nil, provider.Errorf(provider.ErrBadPayload, "item %d: %v", i, err)
			}
			return nil, provider.Errorf(provider.ErrBadPayload, "%v", err)
		}
		events = append(events, e)
	}
	return events, nil
}

func (it Payload) event() (voice.Event, error) {
	e := voice.Event{
		CallID:         strings.TrimSpace(it.CallID),
		Native:         it.EventType,
		Message:        it.Message,
		Sequence:       -1,
		IdempotencyKey: it.EventID,
		From:           it.From,
		To:             it.To,
		MOS:            it.MOS,
		DurationS:      it.DurationS,
	}
	if e.DurationS == nil {
		e.DurationS = it.Duration
	}
	if e.CallID == "" {
		return e, fmt.Errorf("call_id is required")
	}
	if it.Sequence != nil {
		e.Sequence = *it.Sequence
	}
	switch strings.ToLower(it.Direction) {
	case "inbound", "incoming":
		e.Direction = voice.Inbound
	case "outbound", "outgoing":
		e.Direction = voice.Outbound
	}
	digit, err := digitString(it.Digit)
	if err != nil {
		return e, err
	}
	e.Digit = digit
	if it.Action != "" {
		a, err := voice.ParseAction(it.Action)
		if err != nil {
			return e, err
		}
		e.Action = a
	}
	ts := it.OccurredAt
	if len(ts) == 0 {
		ts = it.Timestamp
	}
	if len(ts) > 0 {
		t, err := parseTime(ts)
		if err != nil {
			return e, err
		}
		e.OccurredAt = t
	}
	e.Status = voice.StatusUnknown
	et := voice.EventType(strings.ToLower(strings.TrimSpace(it.EventType)))
	if et == "" {
		switch {
		case e.Digit != "" || e.Action != "":
			et = voice.EventDTMF
		case it.Status != "":
			et = voice.EventStatus
		default:
			return e, fmt.Errorf("event_type is required when no status, digit or action says what the event is")
		}
	}
	if !et.Valid() {
		// An event type callhook does not know (a newer sender's): stored
		// as a status event, status unknown, its name kept as Native, so
		// it is answered 2xx instead of refused and retried
		// (docs/providers.md, "Generic JSON").
		e.Type = voice.EventStatus
		e.Raw = rawStatus(it.Status)
		return e, nil
	}
	e.Type = et
	if it.Status != "" {
		st, ok := mapStatus(it.Status)
		if !ok {
			// A status word callhook does not know is kept beside the
			// event rather than refused.
			e.Raw = rawStatus(it.Status)
		}
		e.Status = st
	}
	if et == voice.EventDTMF && e.Digit == "" && e.Action == "" && strings.TrimSpace(e.Message) == "" {
		// Keypad input that ended with no digits is recorded and changes
		// nothing; the reason is "no input" when the sender gave none.
		e.Message = "no input"
	}
	return e, nil
}

// statusWords are status spellings other senders use for callhook's
// statuses, beside those voice.ParseStatus accepts.
var statusWords = map[string]voice.Status{
	"initiated":   voice.StatusQueued,
	"in-progress": voice.StatusAnswered,
	"in_progress": voice.StatusAnswered,
	"inprogress":  voice.StatusAnswered,
	"no_answer":   voice.StatusNoAnswer,
}

// mapStatus returns the normalized status of a status word, and false with
// StatusUnknown for a word it does not know.
func mapStatus(s string) (voice.Status, bool) {
	if st, ok := statusWords[strings.ToLower(strings.TrimSpace(s))]; ok {
		return st, true
	}
	st, err := voice.ParseStatus(s)
	if err != nil {
		return voice.StatusUnknown, false
	}
	return st, true
}

// rawStatus keeps a status word that was not mapped.
func rawStatus(s string) map[string]string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return map[string]string{"status": s}
}

// parseQuery reads one event from the query string of a GET callback, with
// the same field names as the JSON format.
func parseQuery(r *provider.Request) ([]voice.Event, error) {
	q := r.Query()
	if q.Get("call_id") == "" {
		return nil, provider.Errorf(provider.ErrBadPayload, "call_id is required (GET callbacks carry the event in the query string)")
	}
	it := Payload{CallID: q.Get("call_id"), EventType: q.Get("event_type"), Status: q.Get("status"),
		Action: q.Get("action"), Message: q.Get("message"), EventID: q.Get("event_id"),
		Direction: q.Get("direction"), From: q.Get("from"), To: q.Get("to")}
	if d := q.Get("digit"); d != "" {
		it.Digit, _ = json.Marshal(d)
	}
	if v := q.Get("occurred_at"); v != "" {
		it.OccurredAt, _ = json.Marshal(v)
	}
	if v := q.Get("sequence"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, provider.Errorf(provider.ErrBadPayload, "sequence %q is not a number", v)
		}
		it.Sequence = &n
	}
	for key, dst := range map[string]**float64{"duration_s": &it.DurationS, "mos": &it.MOS} {
		if v := q.Get(key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, provider.Errorf(provider.ErrBadPayload, "%s %q is not a number", key, v)
			}
			*dst = &f
		}
	}
	e, err := it.event()
	if err != nil {
		return nil, provider.Errorf(provider.ErrBadPayload, "%v", err)
	}
	return []voice.Event{e}, nil
}

func digitString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("digit must be a string or a number")
}

func parseTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixFloat(f), nil
		}
		return time.Time{}, fmt.Errorf("occurred_at %q is not RFC 3339 or Unix seconds", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return unixFloat(f), nil
	}
	return time.Time{}, fmt.Errorf("occurred_at must be an RFC 3339 string or Unix seconds")
}

func unixFloat(f float64) time.Time {
	if f > 1e12 { // milliseconds
		f /= 1000
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// Reply answers with a small JSON summary.
func (p *Provider) Reply(_ *provider.Request, out provider.Outcome) provider.Reply {
	return SummaryReply(out)
}

// SummaryReply is the JSON reply of the generic format: what was stored and
// which alert actions were applied.
func SummaryReply(out provider.Outcome) provider.Reply {
	type ev struct {
		CallID  string `json:"call_id"`
		Type    string `json:"event_type"`
		Status  string `json:"status,omitempty"`
		Action  string `json:"action,omitempty"`
		Applied bool   `json:"applied"`
		Matched bool   `json:"matched"`
	}
	body := struct {
		OK        bool `json:"ok"`
		Duplicate bool `json:"duplicate"`
		Events    []ev `json:"events"`
	}{OK: true, Duplicate: out.Duplicate, Events: []ev{}}
	for _, a := range out.Events {
		body.Events = append(body.Events, ev{CallID: a.Event.CallID, Type: string(a.Event.Type),
			Status: string(a.Event.Status), Action: string(a.Action), Applied: a.Changed, Matched: a.Matched})
	}
	b, _ := json.Marshal(body)
	return provider.Reply{Status: http.StatusOK, ContentType: "application/json", Body: b}
}

// PlaceCall posts the call to {api_url}/calls.
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	if p.cfg["api_url"] == "" {
		return provider.PlacedCall{}, fmt.Errorf("generic: api_url is not configured")
	}
	body, _ := json.Marshal(map[string]string{
		"to": req.To, "from": req.From, "message": strings.TrimSpace(req.Message + " " + req.Prompt),
		"callback_url": req.CallbackURL,
	})
	var out struct {
		CallID string `json:"call_id"`
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := p.do(ctx, http.MethodPost, "/calls", body, &out); err != nil {
		return provider.PlacedCall{}, err
	}
	id := out.CallID
	if id == "" {
		id = out.ID
	}
	if id == "" {
		return provider.PlacedCall{}, fmt.Errorf("generic: place call: response has no call_id")
	}
	st, err := voice.ParseStatus(out.Status)
	if err != nil {
		st = voice.StatusQueued
	}
	return provider.PlacedCall{ProviderCallID: id, Status: st}, nil
}

// FetchCall reads GET {api_url}/calls/{id}.
func (p *Provider) FetchCall(ctx context.Context, id string) (voice.Event, error) {
	var out Payload
	if err := p.do(ctx, http.MethodGet, "/calls/"+id, nil, &out); err != nil {
		return voice.Event{}, err
	}
	if out.CallID == "" {
		out.CallID = id
	}
	if out.EventType == "" {
		out.EventType = string(voice.EventStatus)
	}
	e, err := out.event()
	if err != nil {
		return voice.Event{}, fmt.Errorf("generic: fetch call: %w", err)
	}
	e.Native = "poll"
	return e, nil
}

func (p *Provider) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := provider.NewJSONRequest(ctx, method, strings.TrimRight(p.cfg["api_url"], "/")+path, body)
	if err != nil {
		return fmt.Errorf("generic: %w", err)
	}
	if t := p.cfg["api_token"]; t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("generic: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("generic: %s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("generic: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// SampleCallback builds a "ringing" status callback for callID, signed when a
// signing secret is configured.
func (p *Provider) SampleCallback(url, callID string, now time.Time) (*provider.Request, error) {
	body, _ := json.Marshal(Payload{CallID: callID, EventType: "status", Status: "ringing"})
	return p.signedSample(url, body, now), nil
}
