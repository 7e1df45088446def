package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// Ingest is one verified, parsed callback ready to be committed.
type Ingest struct {
	Callback  *Callback // outcome, event count and id are filled in
	Channel   *Channel
	Provider  string
	Events    []voice.Event
	DedupeKey []byte
	Now       time.Time
}

// Applied is what happened to one event.
type Applied struct {
	Event   voice.Event
	Action  voice.Action
	Changed bool
	Matched bool
	CallID  int64
	AlertID int64
}

// IngestResult is what Ingest committed.
type IngestResult struct {
	CallbackID int64
	Outcome    string
	Duplicate  bool
	Applied    []Applied
	// Alert is the alert of the first matched call, after the changes.
	Alert *Alert
}

// Ingest stores a callback, its events, the calls' new statuses, the DTMF
// actions applied to alerts and the feed rows, all inside tx. A callback whose
// dedupe key was seen before is stored as a duplicate and changes nothing else.
func (tx *Tx) Ingest(ctx context.Context, in Ingest) (IngestResult, error) {
	var res IngestResult
	cb := in.Callback
	cb.Provider = in.Provider
	cb.ReceivedAt = in.Now
	fresh, err := tx.dedupeInsert(ctx, in.DedupeKey)
	if err != nil {
		return res, err
	}
	if !fresh {
		cb.Outcome = OutcomeDuplicate
		cb.EventCount = len(in.Events)
		if err := tx.insertCallback(ctx, cb); err != nil {
			return res, err
		}
		res = IngestResult{CallbackID: cb.ID, Outcome: cb.Outcome, Duplicate: true}
		return res, tx.originalOutcome(ctx, in, &res)
	}

	dtmf := ChannelDTMF(in.Channel)
	calls := map[string]*Call{}
	dirty := map[int64]bool{}
	var order []*Call
	for _, e := range in.Events {
		if _, ok := calls[e.CallID]; ok {
			continue
		}
		c, err := tx.findCall(ctx, in.Channel.ID, in.Provider, e.CallID)
		if err != nil {
			return res, err
		}
		if c == nil && e.AltCallID != "" {
			if c, err = tx.findCall(ctx, in.Channel.ID, in.Provider, e.AltCallID); err != nil {
				return res, err
			}
		}
		if c == nil && e.Direction == voice.Inbound {
			c, err = tx.createInboundCall(ctx, in, e)
			if err != nil {
				return res, err
			}
		}
		calls[e.CallID] = c
		if c != nil {
			order = append(order, c)
		}
	}
	matched := 0
	for _, e := range in.Events {
		if calls[e.CallID] != nil {
			matched++
		}
	}
	cb.Outcome = OutcomeAccepted
	if matched == 0 && len(in.Events) > 0 {
		cb.Outcome = OutcomeUnmatched
	}
	cb.EventCount = len(in.Events)
	if err := tx.insertCallback(ctx, cb); err != nil {
		return res, err
	}
	if err := tx.dedupeSet(ctx, in.DedupeKey, cb.ID); err != nil {
		return res, err
	}
	res.CallbackID, res.Outcome = cb.ID, cb.Outcome

	for _, e := range in.Events {
		c := calls[e.CallID]
		ev := newEvent(cb.ID, in.Channel.ID, in.Provider, e, in.Now)
		a := Applied{Event: e, Action: dtmf.Resolve(e)}
		ev.Action = string(a.Action)
		if c != nil {
			a.Matched, a.CallID = true, c.ID
			ev.CallID = &c.ID
			if applyToCall(c, e) {
				dirty[c.ID] = true
			}
			if c.AlertID != nil {
				a.AlertID = *c.AlertID
				if a.Action != voice.ActionNone {
					changed, err := tx.applyDTMF(ctx, *c.AlertID, a.Action, c, e, in.Channel, in.Now)
					if err != nil {
						return res, err
					}
					a.Changed, ev.Applied = changed, changed
				}
			}
		}
		if err := tx.insertEvent(ctx, ev); err != nil {
			return res, err
		}
		if err := tx.Publish(ctx, voice.FeedItem{Type: voice.FeedEvent, CallID: ev.CallID, ChannelID: &in.Channel.ID,
			AlertID: nonZero(a.AlertID), Data: mustJSON(ev.View()), CreatedAt: in.Now}); err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, a)
	}
	for _, c := range order {
		if !dirty[c.ID] {
			continue
		}
		c.UpdatedAt = in.Now
		if err := tx.updateCall(ctx, c); err != nil {
			return res, err
		}
	}
	for _, c := range order {
		if c.AlertID != nil {
			al, err := GetAlert(ctx, tx, *c.AlertID)
			if err == nil {
				res.Alert = al
			}
			break
		}
	}
	return res, tx.Publish(ctx, voice.FeedItem{Type: voice.FeedCallback, ChannelID: &in.Channel.ID,
		Data: mustJSON(cb.View(false)), CreatedAt: in.Now})
}

// ChannelDTMF returns the channel's DTMF mapping, the default if it has none.
func ChannelDTMF(ch *Channel) voice.DTMFMap {
	if ch == nil || len(ch.DTMFMap) == 0 {
		return voice.DefaultDTMFMap()
	}
	m := voice.DTMFMap{}
	for k, v := range ch.DTMFMap {
		m[k] = voice.Action(v)
	}
	return m
}

func nonZero(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func newEvent(callbackID int64, channelID, prov string, e voice.Event, now time.Time) *Event {
	ev := &Event{CallbackID: callbackID, ChannelID: channelID, Provider: prov, ProviderCallID: e.CallID,
		EventType: string(e.Type), Status: string(e.Status), Digit: e.Digit, Native: e.Native,
		Message: e.Message, Seq: e.Sequence, ReceivedAt: now, Raw: e.Raw}
	if ev.Status == "" {
		ev.Status = string(voice.StatusUnknown)
	}
	if !e.OccurredAt.IsZero() {
		t := e.OccurredAt.UTC()
		ev.OccurredAt = &t
	}
	return ev
}

// applyToCall moves the call's status forward and copies reported facts; it
// reports whether the call changed.
func applyToCall(c *Call, e voice.Event) bool {
	changed := false
	if e.Type != voice.EventDTMF || c.Status == string(voice.StatusQueued) || c.Status == string(voice.StatusRinging) {
		st := e.Status
		if e.Type == voice.EventDTMF && st == voice.StatusUnknown {
			st = voice.StatusAnswered // keypad input means someone answered
		}
		if next, ok := voice.Advance(voice.Status(c.Status), st); ok {
			c.Status = string(next)
			changed = true
		}
	}
	if e.DurationS != nil && (c.DurationS == nil || *c.DurationS != *e.DurationS) {
		d := *e.DurationS
		c.DurationS = &d
		changed = true
	}
	if e.MOS != nil {
		m := *e.MOS
		c.MOS = &m
		changed = true
	}
	if c.From == "" && e.From != "" {
		c.From, changed = e.From, true
	}
	if c.To == "" && e.To != "" {
		c.To, changed = e.To, true
	}
	return changed
}

func (tx *Tx) applyDTMF(ctx context.Context, alertID int64, a voice.Action, c *Call, e voice.Event, ch *Channel, now time.Time) (bool, error) {
	who := c.To
	if c.Direction == string(voice.Inbound) {
		who = c.From
	}
	if who == "" {
		who = "unknown number"
	}
	actor := fmt.Sprintf("phone %s (channel %s, call %d", who, ch.ID, c.ID)
	if e.Digit != "" {
		actor += ", digit " + e.Digit
	}
	actor += ")"
	var digit *string
	if e.Digit != "" {
		d := e.Digit
		digit = &d
	}
	return tx.ChangeAlert(ctx, alertID, a, AlertActor{Actor: actor, Via: "dtmf", CallID: &c.ID, Digit: digit}, now)
}

// AlertActor says who or what changed an alert.
type AlertActor struct {
	Actor  string
	Via    string // dtmf, api, console
	CallID *int64
	Digit  *string
}

// ChangeAlert applies action to the alert if it changes its state, records the
// change and publishes it. It reports whether the state changed.
func (tx *Tx) ChangeAlert(ctx context.Context, alertID int64, a voice.Action, by AlertActor, now time.Time) (bool, error) {
	al, err := GetAlert(ctx, tx, alertID)
	if err != nil {
		return false, err
	}
	next, ok := voice.ApplyAction(voice.AlertState(al.State), a)
	if !ok {
		return false, nil
	}
	from := al.State
	al.State = string(next)
	al.UpdatedAt = now
	actor := by.Actor
	switch next {
	case voice.AlertAcknowledged:
		al.AcknowledgedBy, al.AcknowledgedAt = &actor, &now
	case voice.AlertResolved:
		al.ResolvedBy, al.ResolvedAt = &actor, &now
	}
	if _, err := tx.NewUpdate().Model(al).WherePK().Exec(ctx); err != nil {
		return false, fmt.Errorf("store: update alert: %w", err)
	}
	ch := &AlertChange{AlertID: al.ID, FromState: from, ToState: al.State, Actor: actor, Via: by.Via,
		CallID: by.CallID, Digit: by.Digit, CreatedAt: now}
	if _, err := tx.NewInsert().Model(ch).Exec(ctx); err != nil {
		return false, fmt.Errorf("store: insert alert change: %w", err)
	}
	return true, tx.Publish(ctx, voice.FeedItem{Type: voice.FeedAlertUpdated, AlertID: &al.ID, ChannelID: al.ChannelID,
		Data: mustJSON(al.View()), CreatedAt: now})
}

// InsertRejected stores a rejected callback and publishes it to the feed.
func (tx *Tx) InsertRejected(ctx context.Context, cb *Callback) error {
	cb.Outcome = OutcomeRejected
	if err := tx.insertCallback(ctx, cb); err != nil {
		return err
	}
	var chID *string
	if cb.ChannelID != "" {
		chID = &cb.ChannelID
	}
	return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedCallback, ChannelID: chID, Data: mustJSON(cb.View(false)), CreatedAt: cb.ReceivedAt})
}

func (tx *Tx) updateCall(ctx context.Context, c *Call) error {
	if c.Status != "" && voice.Status(c.Status).Terminal() {
		c.NextPollAt = nil
	}
	if err := tx.saveCall(ctx, c); err != nil {
		return err
	}
	return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedCallUpdated, CallID: &c.ID, AlertID: c.AlertID,
		ChannelID: &c.ChannelID, Data: mustJSON(c.View()), CreatedAt: c.UpdatedAt})
}

func (tx *Tx) createInboundCall(ctx context.Context, in Ingest, e voice.Event) (*Call, error) {
	c := &Call{ChannelID: in.Channel.ID, Provider: in.Provider, ProviderCallID: e.CallID,
		Direction: string(voice.Inbound), From: e.From, To: e.To, Status: string(voice.StatusQueued),
		CreatedAt: in.Now, UpdatedAt: in.Now}
	// Only a caller on the channel's allow-list hears and acts on its alerts
	// (docs/architecture.md, "Channel isolation").
	if voice.CallerAllowed(in.Channel.InboundAllow, e.From) {
		if al, err := NewestFiringAlert(ctx, tx, in.Channel.ID); err != nil {
			return nil, err
		} else if al != nil {
			c.AlertID = &al.ID
		}
	}
	if err := tx.insertCall(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (tx *Tx) insertCall(ctx context.Context, c *Call) error {
	if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
		if isUnique(err) {
			return fmt.Errorf("call %s/%s: %w", c.Provider, c.ProviderCallID, ErrConflict)
		}
		return fmt.Errorf("store: insert call: %w", err)
	}
	return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedCallCreated, CallID: &c.ID, AlertID: c.AlertID,
		ChannelID: &c.ChannelID, Data: mustJSON(c.View()), CreatedAt: c.CreatedAt})
}

// RegisterCall stores a new call and attaches to it every unmatched event of
// the same provider call id received before, applying their statuses and
// DTMF actions in the order they were received.
func (tx *Tx) RegisterCall(ctx context.Context, c *Call, ch *Channel, now time.Time) error {
	if c.Status == "" {
		c.Status = string(voice.StatusQueued)
	}
	if c.Direction == "" {
		c.Direction = string(voice.Outbound)
	}
	c.CreatedAt, c.UpdatedAt = now, now
	if err := tx.insertCall(ctx, c); err != nil {
		return err
	}
	var evs []Event
	if err := tx.NewSelect().Model(&evs).Where("call_id IS NULL AND channel_id = ? AND provider = ? AND provider_call_id = ?",
		c.ChannelID, c.Provider, c.ProviderCallID).Order("id").Scan(ctx); err != nil {
		return fmt.Errorf("store: find unmatched events: %w", err)
	}
	if len(evs) == 0 {
		return nil
	}
	sortTimeline(evs)
	dtmf := ChannelDTMF(ch)
	changed := false
	for i := range evs {
		ev := &evs[i]
		e := ev.voiceEvent()
		ev.CallID = &c.ID
		if applyToCall(c, e) {
			changed = true
		}
		if a := dtmf.Resolve(e); a != voice.ActionNone && c.AlertID != nil {
			ev.Action = string(a)
			ok, err := tx.applyDTMF(ctx, *c.AlertID, a, c, e, ch, now)
			if err != nil {
				return err
			}
			ev.Applied = ok
		}
		if _, err := tx.NewUpdate().Model(ev).Column("call_id", "action", "applied").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store: attach event: %w", err)
		}
		if err := tx.Publish(ctx, voice.FeedItem{Type: voice.FeedEvent, CallID: &c.ID, AlertID: c.AlertID, ChannelID: &c.ChannelID,
			Data: mustJSON(ev.View()), CreatedAt: now}); err != nil {
			return err
		}
	}
	if changed {
		c.UpdatedAt = now
		return tx.updateCall(ctx, c)
	}
	return nil
}

func (ev *Event) voiceEvent() voice.Event {
	e := voice.Event{CallID: ev.ProviderCallID, Type: voice.EventType(ev.EventType), Status: voice.Status(ev.Status),
		Digit: ev.Digit, Native: ev.Native, Message: ev.Message, Sequence: ev.Seq, Raw: ev.Raw}
	if ev.OccurredAt != nil {
		e.OccurredAt = *ev.OccurredAt
	}
	// An explicit action carried by the payload was stored in Action.
	if a, err := voice.ParseAction(ev.Action); err == nil {
		e.Action = a
	}
	return e
}

// sortTimeline orders a call's events: by the provider's sequence numbers when
// every event has one, else by the provider's time (or the receive time), then
// by arrival.
func sortTimeline(evs []Event) {
	allSeq := true
	for _, e := range evs {
		if e.Seq < 0 {
			allSeq = false
			break
		}
	}
	at := func(e *Event) time.Time {
		if e.OccurredAt != nil {
			return *e.OccurredAt
		}
		return e.ReceivedAt
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := &evs[i], &evs[j]
		if allSeq && a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		if ta, tb := at(a), at(b); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		if a.Seq >= 0 && b.Seq >= 0 && a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.ID < b.ID
	})
}

// originalOutcome fills a duplicate's result with what the original callback
// applied, so a provider retrying because it lost our reply gets the same
// reply (a retried gather still hears "Alert acknowledged").
func (tx *Tx) originalOutcome(ctx context.Context, in Ingest, res *IngestResult) error {
	var origID int64
	if err := tx.NewRaw("SELECT callback_id FROM dedupe WHERE key = ?", in.DedupeKey).Scan(ctx, &origID); err != nil {
		return fmt.Errorf("store: dedupe original: %w", err)
	}
	var evs []Event
	if err := tx.NewSelect().Model(&evs).Where("callback_id = ?", origID).Order("id").Scan(ctx); err != nil {
		return fmt.Errorf("store: original events: %w", err)
	}
	if len(evs) != len(in.Events) {
		// Same provider key, different content: report the events as received, unapplied.
		for _, e := range in.Events {
			res.Applied = append(res.Applied, Applied{Event: e})
		}
		return nil
	}
	for i, ev := range evs {
		a := Applied{Event: in.Events[i], Action: voice.Action(ev.Action), Changed: ev.Applied, Matched: ev.CallID != nil}
		if ev.CallID != nil {
			a.CallID = *ev.CallID
			if c, err := getCall(ctx, tx, *ev.CallID); err == nil && c.AlertID != nil {
				a.AlertID = *c.AlertID
				if res.Alert == nil {
					if al, err := GetAlert(ctx, tx, *c.AlertID); err == nil {
						res.Alert = al
					}
				}
			}
		}
		res.Applied = append(res.Applied, a)
	}
	return nil
}

func getCall(ctx context.Context, db bun.IDB, id int64) (*Call, error) {
	c := new(Call)
	if err := db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "call")
	}
	return c, nil
}

// SetCallbackStatus records the HTTP status answered for callback id.
func (tx *Tx) SetCallbackStatus(ctx context.Context, id int64, status int) error {
	if _, err := tx.NewUpdate().Model((*Callback)(nil)).Set("status_code = ?", status).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("store: callback status: %w", err)
	}
	return nil
}
