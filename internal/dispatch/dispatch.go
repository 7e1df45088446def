// Package dispatch creates alerts, places and registers calls through the
// configured provider, applies alert actions from the API and console, and
// polls providers for the status of calls that have not finished.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"callhook/internal/auth"
	"callhook/internal/channel"
	"callhook/internal/provider"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// Dispatcher places calls and changes alerts.
type Dispatcher struct {
	Store    *store.Store
	Channels *channel.Manager
	Deps     provider.Deps
	Log      *slog.Logger
	// PollInterval is the first poll delay of a call placed through a provider
	// that can be polled (default 10s); it doubles up to PollMaxInterval. For
	// providers that also send callbacks the poll is a safety net: it records
	// only a status the callbacks have not brought.
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	// PollGiveUp stops polling calls older than this (default 2h).
	PollGiveUp time.Duration
	Now        func() time.Time
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

func invalid(format string, args ...any) error {
	return voice.Invalid("", format, args...)
}

var phonePattern = regexp.MustCompile(`^(\+?[0-9]{3,16}|(sip|client):[^\s]{1,128})$`)

// AlertInput creates an alert.
type AlertInput struct {
	Title     string   `json:"title"`
	Message   string   `json:"message"`
	Severity  string   `json:"severity"`
	ChannelID string   `json:"channel_id"`
	Targets   []string `json:"targets"`
	// Mode is "all" (every target at once, the default) or "sequential"
	// (one after another: the next when a call ends and the alert is still
	// firing).
	Mode string `json:"mode"`
}

// CreateAlert stores a firing alert and places one call per target through
// the channel's provider. A target whose call cannot be placed gets a failed
// call with the provider's error in its timeline.
func (d *Dispatcher) CreateAlert(ctx context.Context, in AlertInput) (int64, error) {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || len(in.Title) > 200 {
		return 0, invalid("title must be 1 to 200 characters")
	}
	if in.Severity == "" {
		in.Severity = "critical"
	}
	okSev := false
	for _, s := range voice.Severities {
		okSev = okSev || s == in.Severity
	}
	if !okSev {
		return 0, invalid("severity must be one of %s", strings.Join(voice.Severities, ", "))
	}
	if len(in.Targets) > 50 {
		return 0, invalid("at most 50 targets")
	}
	switch in.Mode {
	case "":
		in.Mode = voice.ModeAll
	case voice.ModeAll, voice.ModeSequential:
	default:
		return 0, voice.Invalid("mode", "must be %q or %q", voice.ModeAll, voice.ModeSequential)
	}
	for _, t := range in.Targets {
		if !phonePattern.MatchString(strings.TrimSpace(t)) {
			return 0, invalid("target %q is not a phone number (E.164), sip: or client: address", t)
		}
	}
	var ch *store.Channel
	if in.ChannelID != "" || len(in.Targets) > 0 {
		if in.ChannelID == "" {
			return 0, invalid("channel_id is required to place calls")
		}
		c, err := d.Store.Channel(ctx, in.ChannelID)
		if err != nil {
			if store.IsNotFound(err) {
				return 0, invalid("channel %q does not exist", in.ChannelID)
			}
			return 0, err
		}
		ch = c
	}
	a := &store.Alert{Title: in.Title, Message: strings.TrimSpace(in.Message), Severity: in.Severity, Mode: in.Mode}
	if ch != nil {
		a.ChannelID = &ch.ID
	}
	targets := make([]string, 0, len(in.Targets))
	for _, t := range in.Targets {
		targets = append(targets, strings.TrimSpace(t))
	}
	if in.Mode == voice.ModeSequential && len(targets) > 1 {
		// The first target now, the others one by one (Escalate).
		a.PendingTargets, targets = targets[1:], targets[:1]
	}
	if err := d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateAlert(ctx, a, d.now())
	}); err != nil {
		return 0, err
	}
	for _, t := range targets {
		if _, err := d.PlaceCall(ctx, CallInput{ChannelID: ch.ID, To: t, Message: alertMessage(a.Title, a.Message), AlertID: &a.ID}); err != nil {
			d.log().Warn("place call failed", "alert", a.ID, "channel", ch.ID, "err", err)
		}
	}
	return a.ID, nil
}

// alertMessage is what a call about an alert says.
func alertMessage(title, message string) string { return "Alert: " + title + ". " + message }

// CallAgain places a new call to each distinct target of an alert's earlier
// outbound calls, through the channel each was placed on, as CreateAlert
// does: when every call of a firing alert failed, an admin asks for another
// round from the alert's page or the API. A placement the provider refuses
// is stored as a failed call like any other. It returns the ids of the new
// calls; a resolved alert, or one without outbound calls, is refused.
func (d *Dispatcher) CallAgain(ctx context.Context, alertID int64) ([]int64, error) {
	a, err := d.Store.AlertView(ctx, alertID)
	if err != nil {
		return nil, err
	}
	if a.State == string(voice.AlertResolved) {
		return nil, fmt.Errorf("alert %d is resolved: %w", alertID, store.ErrConflict)
	}
	type target struct{ channel, to string }
	seen := map[target]bool{}
	var targets []target
	// Calls come oldest first; the first call to a number sets its place in the round.
	for _, c := range a.Calls {
		t := target{c.ChannelID, strings.TrimSpace(c.To)}
		if c.Direction != string(voice.Outbound) || t.to == "" || seen[t] {
			continue
		}
		seen[t] = true
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, invalid("alert %d has no outbound calls to place again", alertID)
	}
	var ids []int64
	for _, t := range targets {
		id, err := d.PlaceCall(ctx, CallInput{ChannelID: t.channel, To: t.to, Message: alertMessage(a.Title, a.Message), AlertID: &a.ID})
		if err != nil && !errors.Is(err, ErrPlaceFailed) {
			return ids, fmt.Errorf("call %s again for alert %d: %w", t.to, alertID, err)
		}
		if err != nil {
			d.log().Warn("place call failed", "alert", a.ID, "channel", t.channel, "err", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// CallInput registers or places a call.
type CallInput struct {
	ChannelID      string `json:"channel_id"`
	To             string `json:"to"`
	From           string `json:"from"`
	Message        string `json:"message"`
	AlertID        *int64 `json:"alert_id"`
	ProviderCallID string `json:"provider_call_id"`
	Direction      string `json:"direction"`
}

// ErrPlaceFailed wraps a provider's refusal to place a call; the call is
// stored as failed with the reason.
var ErrPlaceFailed = errors.New("placing the call failed")

// PlaceCall registers a call placed elsewhere (ProviderCallID set) or dials
// it through the channel's provider and registers the result.
func (d *Dispatcher) PlaceCall(ctx context.Context, in CallInput) (int64, error) {
	ch, err := d.Store.Channel(ctx, in.ChannelID)
	if err != nil {
		if store.IsNotFound(err) {
			return 0, invalid("channel %q does not exist", in.ChannelID)
		}
		return 0, err
	}
	if in.AlertID != nil {
		if _, err := d.Store.Alert(ctx, *in.AlertID); err != nil {
			if store.IsNotFound(err) {
				return 0, invalid("alert %d does not exist", *in.AlertID)
			}
			return 0, err
		}
	}
	r, err := d.Channels.Provider(ctx, ch)
	spec, cfg := r.Spec, r.Config
	if err != nil {
		return 0, err
	}
	c := &store.Call{ChannelID: ch.ID, AlertID: in.AlertID, Provider: spec.Name, To: strings.TrimSpace(in.To),
		From: strings.TrimSpace(in.From), Message: in.Message, Direction: string(voice.Outbound)}
	if in.Direction == string(voice.Inbound) {
		c.Direction = string(voice.Inbound)
	}
	if in.ProviderCallID != "" {
		c.ProviderCallID = strings.TrimSpace(in.ProviderCallID)
		if err := d.register(ctx, c, ch, spec); err != nil {
			return 0, err
		}
		return c.ID, nil
	}
	if c.To == "" || !phonePattern.MatchString(c.To) {
		return 0, invalid("to must be a phone number (E.164), sip: or client: address")
	}
	prov, err := spec.New(cfg, d.Deps)
	if err != nil {
		return 0, invalid("provider configuration: %v", err)
	}
	placer, ok := prov.(provider.Placer)
	if !ok {
		return 0, invalid("provider %s cannot place calls; register calls placed elsewhere with provider_call_id", spec.Name)
	}
	if c.From == "" {
		// The provider dials from its configured caller id (the config key
		// "from", docs/providers.md); the call records it so the console can
		// say who the callee saw calling.
		c.From = strings.TrimSpace(cfg["from"])
	}
	dtmf := store.ChannelDTMF(ch)
	placed, perr := placer.PlaceCall(ctx, provider.PlaceRequest{To: c.To, From: in.From, Message: in.Message,
		CallbackURL: d.Channels.URL(ch),
		Prompt:      dtmf.Prompt(), MaxDigits: dtmf.MaxDigits()})
	if perr != nil {
		// The provider's answer may echo the request: callback URL and credentials.
		reason := redactor(ch, spec, cfg).Error(perr)
		c.ProviderCallID = "failed-" + auth.RandomToken(9)
		c.Status = string(voice.StatusFailed)
		if err := d.register(ctx, c, ch, spec); err != nil {
			return 0, err
		}
		if err := d.addEvent(ctx, c, voice.Event{CallID: c.ProviderCallID, Type: voice.EventError, Status: voice.StatusFailed,
			Native: "place-call", Message: reason, Sequence: -1}); err != nil {
			return c.ID, err
		}
		return c.ID, fmt.Errorf("%w: %s", ErrPlaceFailed, reason)
	}
	c.ProviderCallID = placed.ProviderCallID
	if placed.Status != "" && placed.Status != voice.StatusUnknown {
		c.Status = string(placed.Status)
	}
	if err := d.register(ctx, c, ch, spec); err != nil {
		return 0, err
	}
	return c.ID, nil
}

// redactor hides, in what a channel's provider answers, the secrets callhook
// sent it: the channel's secrets (the callback URL of every placed call holds
// one) and the provider's credentials. Provider errors and messages pass
// through it before they are stored, returned or logged (docs/outbound.md).
func redactor(ch *store.Channel, spec provider.Spec, cfg provider.Config) provider.Redactor {
	secrets := append(spec.Secrets(cfg), ch.Secret)
	if ch.PrevSecret != nil {
		secrets = append(secrets, *ch.PrevSecret)
	}
	return provider.NewRedactor(secrets...)
}

func (d *Dispatcher) register(ctx context.Context, c *store.Call, ch *store.Channel, spec provider.Spec) error {
	now := d.now()
	if first := d.firstPoll(spec); first > 0 && !voice.Status(c.Status).Terminal() {
		t := now.Add(first)
		c.NextPollAt = &t
	}
	return d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if c.Provider != "" {
			if existing, err := tx.FindCall(ctx, c.ChannelID, c.Provider, c.ProviderCallID); err != nil {
				return err
			} else if existing != nil {
				return fmt.Errorf("call %s is already registered as call %d: %w", c.ProviderCallID, existing.ID, store.ErrConflict)
			}
		}
		return tx.RegisterCall(ctx, c, ch, now)
	})
}

func (d *Dispatcher) firstPoll(spec provider.Spec) time.Duration {
	if !spec.Has(provider.CapStatusPolling) {
		return 0
	}
	if d.PollInterval > 0 {
		return d.PollInterval
	}
	return 10 * time.Second
}

func (d *Dispatcher) addEvent(ctx context.Context, c *store.Call, e voice.Event) error {
	return d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.AddCallEvent(ctx, c, e, d.now())
		return err
	})
}

// ChangeAlert acknowledges or resolves an alert on behalf of a person or token.
func (d *Dispatcher) ChangeAlert(ctx context.Context, id int64, a voice.Action, who auth.Principal, via string) (bool, error) {
	var changed bool
	err := d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		changed, err = tx.ChangeAlert(ctx, id, a, store.AlertActor{Actor: who.Name, Via: via}, d.now())
		return err
	})
	return changed, err
}

// EscalateOnce calls the next target of every firing sequential alert whose
// calls have all ended (voice.Escalate); it returns how many it called.
func (d *Dispatcher) EscalateOnce(ctx context.Context) int {
	alerts, err := d.Store.EscalatingAlerts(ctx, 50)
	if err != nil {
		d.log().Warn("escalate: list alerts", "err", err)
		return 0
	}
	n := 0
	for _, a := range alerts {
		v, err := d.Store.AlertView(ctx, a.ID)
		if err != nil || a.ChannelID == nil {
			continue
		}
		var statuses []voice.Status
		for _, c := range v.Calls {
			statuses = append(statuses, voice.Status(c.Status))
		}
		if !voice.Escalate(voice.AlertState(a.State), len(a.PendingTargets), statuses) {
			continue
		}
		var next string
		if err := d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			next, err = tx.TakeNextTarget(ctx, a.ID, d.now())
			return err
		}); err != nil || next == "" {
			continue
		}
		if _, err := d.PlaceCall(ctx, CallInput{ChannelID: *a.ChannelID, To: next, Message: alertMessage(a.Title, a.Message), AlertID: &a.ID}); err != nil {
			d.log().Warn("escalate: place call failed", "alert", a.ID, "err", err)
		}
		n++
	}
	return n
}
