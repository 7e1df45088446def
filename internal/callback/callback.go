// Package callback is the ingest pipeline (docs/architecture.md, "The pipeline"): size limit, channel and
// secret, provider resolution, signature, parsing, one transaction, and the
// provider's reply only after the commit. It knows nothing about HTTP
// frameworks: the web layer hands it an Inbound and writes back the Result.
package callback

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"callhook/internal/channel"
	"callhook/internal/provider"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// Reason codes of rejected callbacks.
const (
	ReasonUnknownChannel   = "unknown_channel"
	ReasonBadSecret        = "bad_secret"
	ReasonBadSignature     = "bad_signature"
	ReasonStaleTimestamp   = "stale_timestamp"
	ReasonBadPayload       = "bad_payload"
	ReasonUnsupportedMedia = "unsupported_media_type"
	ReasonTooLarge         = "too_large"
	ReasonTooManyEvents    = "too_many_events"
	ReasonRateLimited      = "rate_limited"
)

// Path is the callback route prefix.
const Path = channel.CallbackPath

// How much of a rejected body is kept: a request that named a channel and
// its secret keeps 64 KiB for the admin to read and replay; anonymous junk
// keeps 1 KiB (docs/architecture.md, "Bounds").
const (
	rejectedBodyCap  = 64 << 10
	anonymousBodyCap = 1 << 10
)

// MaxURL is the longest request URL (path and query) the pipeline reads; a
// longer one is refused as too_large.
const MaxURL = 4096

// Defaults of the bounds a Service applies when its fields are zero.
const (
	DefaultMaxEvents = 100
	// An address may have this many anonymous rejections stored at once, and
	// one more per second; past that it gets 429 and nothing is stored.
	defaultRejectBurst  = 30
	defaultRejectPerSec = 1
	limiterKeys         = 100_000
)

// ErrNotReplayable is returned for a replay of a callback that never passed
// the secret check: replaying it would act on an anonymous request.
var ErrNotReplayable = errors.New("not replayable")

// Notifier delivers inbound call notifications to open console sessions of
// a user identity.
type Notifier interface {
	// Bound reports how many console connections the identity has open.
	Bound(identity string) int
	// Notify sends a message to every connection of identity.
	Notify(identity string, msg any) int
}

// Service runs callbacks through the pipeline.
type Service struct {
	Store     *store.Store
	Providers *provider.Registry
	// PublicURL is the base of callback URLs ("https://callhook.example.com").
	PublicURL string
	Deps      provider.Deps
	Log       *slog.Logger
	Notifier  Notifier
	Now       func() time.Time
	// TrustHost lets URL-based signatures (Twilio, SignalWire, Plivo) also
	// match the URL as the request's Host header names it. It is for
	// installations without a configured public URL; behind a proxy, set the
	// public URL instead.
	TrustHost bool
	// MaxEvents is how many events one callback may carry (DefaultMaxEvents if 0).
	MaxEvents int
	// OnPanic is called after a recovered panic (the panics metric).
	OnPanic func()

	limitOnce sync.Once
	// perChannel limits accepted callbacks per channel (nil: no limit).
	perChannel *keyedLimiter
	// perSource limits how many anonymous rejections an address may have stored.
	perSource *keyedLimiter
	// reactions are the provider commands still running after their callback.
	reactions sync.WaitGroup
}

// SetRateLimit limits each channel to perSecond callbacks per second (0: no
// limit); refused callbacks answer 429 and are stored as rate_limited.
func (s *Service) SetRateLimit(perSecond int) {
	if perSecond > 0 {
		s.perChannel = newKeyedLimiter(float64(perSecond), perSecond, limiterKeys)
	}
}

func (s *Service) limits() {
	s.limitOnce.Do(func() {
		s.perSource = newKeyedLimiter(defaultRejectPerSec, defaultRejectBurst, limiterKeys)
	})
}

func (s *Service) maxEvents() int {
	if s.MaxEvents <= 0 {
		return DefaultMaxEvents
	}
	return s.MaxEvents
}

// Wait blocks until the provider commands started after callbacks (Telnyx
// call control, for one) have finished; shutdown calls it before closing the
// database.
func (s *Service) Wait() { s.reactions.Wait() }

// Inbound is one received callback request.
type Inbound struct {
	ChannelID string
	Secret    string
	Method    string
	RawQuery  string
	Header    http.Header
	Body      []byte
	TooLarge  bool
	// Malformed marks a request under the callback prefix whose path is not
	// {channel_id}/{secret}: it is stored as unknown_channel.
	Malformed bool
	// URLSize is the length of the request URL; over MaxURL it is refused.
	URLSize    int
	BodySize   int
	RemoteAddr string
	// Replay marks an admin's replay of a stored callback: the secret and
	// signature were checked (or failed) on the original request.
	ReplayOf *int64
	// Scheme and Host are how the request reached us (for TrustHost).
	Scheme, Host string
}

// Result is what the web layer answers.
type Result struct {
	Status      int
	ContentType string
	Body        []byte
	CallbackID  int64
	Outcome     string
	Reason      string
	Error       string
	Events      []store.Applied
	// Stored is false for a rejection that was answered but not stored (an
	// address over its limit of anonymous rejections).
	Stored bool
	// Provider is the provider serving the callback's channel ("" when the
	// channel is not known).
	Provider string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Handle runs one callback through the pipeline.
func (s *Service) Handle(ctx context.Context, in Inbound) (result Result) {
	// The provider serving the channel, once it is known, also for a
	// refusal (the callbacks metric is labelled by it).
	var spec provider.Spec
	defer func() { result.Provider = spec.Name }()
	now := s.now()
	cb := &store.Callback{
		ChannelID:   in.ChannelID,
		Method:      in.Method,
		Path:        Path + in.ChannelID + "/…",
		Query:       in.RawQuery,
		ContentType: in.Header.Get("Content-Type"),
		Headers:     redactHeaders(in.Header),
		BodySize:    len(in.Body),
		ReplayOf:    in.ReplayOf,
		RemoteAddr:  in.RemoteAddr,
		ReceivedAt:  now,
	}
	if in.BodySize > cb.BodySize {
		cb.BodySize = in.BodySize
	}
	s.limits()
	if in.Malformed {
		return s.reject(ctx, cb, in.Body, http.StatusNotFound, ReasonUnknownChannel, "malformed callback path: want "+Path+"{channel_id}/{secret}")
	}
	if len(cb.Query) > MaxURL {
		cb.Query = cb.Query[:MaxURL]
	}
	// The channel and secret are checked first even for a request refused
	// for its size: they decide how much of it is kept and whether it may be
	// replayed.
	ch, err := s.Store.CachedChannel(ctx, in.ChannelID)
	if err != nil && !store.IsNotFound(err) {
		return s.unavailable(err)
	}
	cb.SecretOK = ch != nil && (in.ReplayOf != nil || SecretOK(ch, in.Secret, now))
	var cfg provider.Config
	var resolveErr error
	if ch != nil {
		spec, cfg, resolveErr = s.resolve(ctx, ch)
	}
	switch {
	case in.URLSize > MaxURL:
		return s.reject(ctx, cb, in.Body, http.StatusRequestURITooLong, ReasonTooLarge, fmt.Sprintf("URL of %d bytes is longer than %d", in.URLSize, MaxURL))
	case in.TooLarge:
		return s.reject(ctx, cb, in.Body, http.StatusRequestEntityTooLarge, ReasonTooLarge, "body is larger than the limit")
	case ch == nil:
		return s.reject(ctx, cb, in.Body, http.StatusNotFound, ReasonUnknownChannel, "no channel "+in.ChannelID)
	case !cb.SecretOK:
		return s.reject(ctx, cb, in.Body, http.StatusNotFound, ReasonBadSecret, "secret does not match the channel")
	case in.ReplayOf == nil && !s.perChannel.allow(ch.ID, now):
		return s.reject(ctx, cb, in.Body, http.StatusTooManyRequests, ReasonRateLimited, "too many callbacks for this channel; retry shortly")
	}
	if resolveErr != nil {
		return s.unavailable(resolveErr)
	}
	cb.Provider = spec.Name
	prov, err := spec.New(cfg, s.Deps)
	if err != nil {
		return s.reject(ctx, cb, in.Body, http.StatusInternalServerError, ReasonBadPayload, "provider configuration: "+err.Error())
	}
	secret := in.Secret
	if in.ReplayOf != nil {
		secret = ch.Secret
	}
	req := &provider.Request{
		Method: in.Method,
		URL:    channel.CallbackURL(s.PublicURL, ch.ID, secret),
		Header: in.Header,
		Body:   in.Body,
		Now:    now,
	}
	if in.RawQuery != "" {
		req.URL += "?" + in.RawQuery
	}
	if in.ReplayOf == nil {
		if err := s.verify(prov, req, in); err != nil {
			if errors.Is(err, provider.ErrStaleTimestamp) {
				return s.reject(ctx, cb, in.Body, http.StatusUnauthorized, ReasonStaleTimestamp, err.Error())
			}
			return s.reject(ctx, cb, in.Body, http.StatusUnauthorized, ReasonBadSignature, err.Error())
		}
	}
	if countJSONElements(in.Body, s.maxEvents()) {
		return s.reject(ctx, cb, in.Body, http.StatusRequestEntityTooLarge, ReasonTooManyEvents,
			fmt.Sprintf("more than %d events in one callback", s.maxEvents()))
	}
	events, err := prov.Parse(req)
	if err == nil && len(events) > s.maxEvents() {
		return s.reject(ctx, cb, in.Body, http.StatusRequestEntityTooLarge, ReasonTooManyEvents,
			fmt.Sprintf("%d events in one callback; at most %d", len(events), s.maxEvents()))
	}
	if err != nil {
		if errors.Is(err, provider.ErrUnsupportedMediaType) {
			return s.reject(ctx, cb, in.Body, http.StatusUnsupportedMediaType, ReasonUnsupportedMedia, err.Error())
		}
		return s.reject(ctx, cb, in.Body, http.StatusBadRequest, ReasonBadPayload, err.Error())
	}
	cb.Body = in.Body
	notify := map[string]bool{}
	delivered := false
	for _, e := range events {
		if e.Notify != "" && s.Notifier != nil {
			notify[e.Notify] = true
			if s.Notifier.Bound(e.Notify) > 0 {
				delivered = true
			}
		}
	}
	// Commit: the writer decides what the events change (voice.Plan) and
	// commits them with the callbacks queued beside this one. The HTTP status
	// is recorded with the row, so it is decided here: 200, or 404 for a
	// call notification no open console received (what Twilio expects; the
	// provider's reply says the same).
	cb.StatusCode = http.StatusOK
	if len(notify) > 0 && !delivered {
		cb.StatusCode = http.StatusNotFound
	}
	res, err := s.Store.Ingest(ctx, store.Ingest{Callback: cb, Channel: ch, Provider: spec.Name, Events: events,
		DedupeKey: DedupeKey(ch.ID, spec.Name, events, in.RawQuery, in.Body), Now: now})
	if err != nil {
		return s.unavailable(err)
	}
	// Answer: the provider's reply, rendered from what was committed, off
	// the writer. A duplicate gets the reply its original got.
	out := outcomeOf(res, delivered, ch)
	reply := prov.Reply(req, out)
	if reply.Status == 0 {
		reply.Status = http.StatusOK
	}
	if !res.Duplicate {
		for identity := range notify {
			s.Notifier.Notify(identity, map[string]any{"type": "call.notification", "callback_id": res.CallbackID, "events": eventsJSON(res.Applied)})
		}
		if r, ok := prov.(provider.Reactor); ok {
			s.reactions.Add(1)
			go func() {
				defer s.reactions.Done()
				defer s.recoverPanic("provider command")
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := r.React(ctx, req, out); err != nil {
					secrets := append(spec.Secrets(cfg), ch.Secret)
					if ch.PrevSecret != nil {
						secrets = append(secrets, *ch.PrevSecret)
					}
					s.log().Warn("provider command failed", "provider", spec.Name, "channel", ch.ID,
						"err", provider.NewRedactor(secrets...).Error(err))
				}
			}()
		}
	}
	return Result{Status: reply.Status, ContentType: reply.ContentType, Body: reply.Body,
		CallbackID: res.CallbackID, Outcome: res.Outcome, Events: res.Applied, Stored: true}
}

func outcomeOf(res store.IngestResult, delivered bool, ch *store.Channel) provider.Outcome {
	k := store.ChannelKeypad(ch)
	out := provider.Outcome{Duplicate: res.Duplicate, Delivered: delivered, Prompt: k.Prompt, MaxDigits: k.MaxDigits}
	for _, a := range res.Applied {
		out.Events = append(out.Events, provider.Applied{Event: a.Event, Action: a.Action, Changed: a.Changed, Matched: a.Matched})
	}
	if res.Alert != nil {
		out.Alert = &provider.AlertInfo{ID: res.Alert.ID, Title: res.Alert.Title, Message: res.Alert.Message, State: res.Alert.State}
	}
	return out
}

func eventsJSON(as []store.Applied) []map[string]string {
	var out []map[string]string
	for _, a := range as {
		out = append(out, map[string]string{"call_id": a.Event.CallID, "status": string(a.Event.Status),
			"from": a.Event.From, "to": a.Event.To})
	}
	return out
}

// verify checks the provider signature against the public callback URL and,
// with TrustHost, against the URL the request names in its Host header.
func (s *Service) verify(prov provider.Provider, req *provider.Request, in Inbound) error {
	err := prov.Verify(req)
	if err == nil || !s.TrustHost || in.Host == "" || !errors.Is(err, provider.ErrBadSignature) {
		return err
	}
	scheme := in.Scheme
	if scheme == "" {
		scheme = "http"
	}
	alt := *req
	alt.URL = scheme + "://" + in.Host + strings.TrimPrefix(req.URL, strings.TrimRight(s.PublicURL, "/"))
	if alt.URL == req.URL {
		return err
	}
	if prov.Verify(&alt) == nil {
		return nil
	}
	return err
}

// resolve returns the channel's provider (channel.Resolve) with the cached
// global setting.
func (s *Service) resolve(ctx context.Context, ch *store.Channel) (provider.Spec, provider.Config, error) {
	g, err := s.Store.CachedGlobalProvider(ctx)
	if err != nil {
		return provider.Spec{}, nil, err
	}
	r, err := channel.Resolve(s.Providers, ch, g)
	return r.Spec, r.Config, err
}

// SecretOK compares a presented secret with the channel's current secret and,
// during its grace period, the previous one, in constant time.
func SecretOK(ch *store.Channel, secret string, now time.Time) bool {
	ok := subtle.ConstantTimeCompare([]byte(secret), []byte(ch.Secret)) == 1
	if ch.PrevSecret != nil && ch.PrevSecretExpiresAt != nil && now.Before(*ch.PrevSecretExpiresAt) {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(*ch.PrevSecret)) == 1 {
			ok = true
		}
	}
	return ok && secret != ""
}

// DedupeKey is the 20-byte duplicate key of a callback: the provider's time
// of its first event in seconds (4 bytes, zero when it has none), then 16
// bytes of the SHA-256 of the provider's own idempotency keys when every
// event has one, else of the raw query and body (GET callbacks carry
// everything in the query), scoped to the channel. The store files it under
// the callback's call; a retry carries the same event, so the same time,
// and leading with it keeps the keys of callbacks that name no call
// together too (docs/architecture.md, "The writer").
func DedupeKey(channelID, prov string, events []voice.Event, rawQuery string, body []byte) []byte {
	key := make([]byte, 4, 4+sha256.Size)
	if len(events) > 0 && !events[0].OccurredAt.IsZero() {
		if sec := events[0].OccurredAt.Unix(); sec > 0 && sec <= math.MaxUint32 {
			binary.BigEndian.PutUint32(key, uint32(sec))
		}
	}
	h := sha256.New()
	h.Write([]byte(channelID))
	h.Write([]byte{0})
	keyed := len(events) > 0
	for _, e := range events {
		if e.IdempotencyKey == "" {
			keyed = false
			break
		}
	}
	if keyed {
		h.Write([]byte("k\x00" + prov + "\x00"))
		for _, e := range events {
			h.Write([]byte(e.IdempotencyKey))
			h.Write([]byte{0})
		}
	} else {
		h.Write([]byte("b\x00"))
		h.Write([]byte(rawQuery))
		h.Write([]byte{0})
		h.Write(body)
	}
	return h.Sum(key)[:20]
}

var redacted = map[string]bool{"Authorization": true, "Cookie": true, "Proxy-Authorization": true, "X-Api-Key": true}

func redactHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		if redacted[http.CanonicalHeaderKey(k)] {
			out[k] = []string{redactValue(vs)}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func redactValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	scheme, _, found := strings.Cut(vs[0], " ")
	if found {
		return scheme + " [redacted]"
	}
	return "[redacted]"
}

func (s *Service) reject(ctx context.Context, cb *store.Callback, body []byte, status int, reason, msg string) Result {
	limit := rejectedBodyCap
	if !cb.SecretOK {
		limit = anonymousBodyCap
		// Anonymous junk from one address is stored up to a bound; past it
		// the request is answered and counted, not stored.
		if cb.ReplayOf == nil && !s.perSource.allow(cb.RemoteAddr, cb.ReceivedAt) {
			return Result{Status: http.StatusTooManyRequests, ContentType: "application/json",
				Body:    []byte(`{"error":"too many refused requests from this address; retry later","reason":"rate_limited"}`),
				Outcome: store.OutcomeRejected, Reason: reason, Error: msg}
		}
	}
	if cb.BodySize < len(body) {
		cb.BodySize = len(body)
	}
	if len(body) > limit {
		body = body[:limit]
	}
	cb.BodyTruncated = cb.BodySize > len(body)
	cb.Body = body
	cb.Reason, cb.Error, cb.StatusCode = reason, msg, status
	err := s.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertRejected(ctx, cb) })
	if err != nil {
		s.log().Error("store rejected callback", "reason", reason, "err", err)
	}
	s.log().Info("callback rejected", "channel", cb.ChannelID, "reason", reason, "status", status)
	errMsg := msg
	if status == http.StatusNotFound {
		errMsg = "not found" // one body for unknown channel and wrong secret: no oracle
	}
	b, _ := json.Marshal(map[string]string{"error": errMsg, "reason": reason})
	if status == http.StatusNotFound {
		b = []byte(`{"error":"not found"}`)
	}
	return Result{Status: status, ContentType: "application/json", Body: b, CallbackID: cb.ID,
		Outcome: store.OutcomeRejected, Reason: reason, Error: msg, Stored: err == nil}
}

func (s *Service) unavailable(err error) Result {
	s.log().Error("callback not committed", "err", err)
	return Result{Status: http.StatusServiceUnavailable, ContentType: "application/json",
		Body: []byte(`{"error":"database unavailable; retry later"}`), Error: err.Error()}
}

// Replay runs stored callback id through the pipeline again, as received,
// after an admin fixed the configuration. The secret and signature were
// checked (or failed) on the original request and are not checked again: the
// secret is not stored, and the replay is the admin's decision.
func (s *Service) Replay(ctx context.Context, id int64) (Result, error) {
	cb, err := s.Store.Callback(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !cb.SecretOK {
		return Result{}, fmt.Errorf("callback %d did not name a channel and its secret, so it cannot be replayed: %w", id, ErrNotReplayable)
	}
	h := http.Header{}
	for k, vs := range cb.Headers {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return s.Handle(ctx, Inbound{ChannelID: cb.ChannelID, Method: cb.Method, RawQuery: cb.Query, Header: h,
		Body: cb.Body, BodySize: cb.BodySize, ReplayOf: &cb.ID, RemoteAddr: "replay"}), nil
}

// recoverPanic logs a panic of a background goroutine with its stack instead
// of letting it end the process; deferred first in every goroutine the
// service starts.
func (s *Service) recoverPanic(what string) {
	if r := recover(); r != nil {
		s.log().Error("panic recovered", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		if s.OnPanic != nil {
			s.OnPanic()
		}
	}
}
