package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
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
	Alert *voice.AlertSnapshot
}

// Ingest commits one callback: the callback row, its events, the calls'
// new state and the alert changes its keypad input decides (voice.Plan). A
// callback whose dedupe key was committed before is stored as a duplicate,
// changes nothing, and reports what the original applied.
//
// Callbacks are not written one by one: the writer gathers the callbacks
// waiting for it and commits them together (docs/architecture.md, "The
// writer"): one read of their calls, one of their dedupe keys (filed
// under those calls), one of the calls' alerts, then one insert of all
// callback rows, one of all events.
func (s *Store) Ingest(ctx context.Context, in Ingest) (IngestResult, error) {
	ij := &ingestJob{in: in, raw: make([]any, len(in.Events))}
	// What can be encoded before the writer decides is encoded here, on the
	// caller's goroutine: the writer is the one thing callbacks queue for.
	h, err := in.Callback.headersText()
	if err != nil {
		return IngestResult{}, fmt.Errorf("%w: headers: %v", ErrInvalid, err)
	}
	in.Callback.headersJSON = h
	for i, e := range in.Events {
		if e.Raw != nil {
			b, err := encodeJSON(e.Raw)
			if err != nil {
				return IngestResult{}, fmt.Errorf("%w: event values: %v", ErrInvalid, err)
			}
			ij.raw[i] = string(b)
		}
	}
	j := &job{ctx: ctx, ingest: ij, done: make(chan error, 1)}
	if err := s.enqueue(ctx, j); err != nil {
		return IngestResult{}, err
	}
	if err := <-j.done; err != nil {
		return IngestResult{}, err
	}
	// What the original of a duplicate applied is read after the commit,
	// on a reader: the writer only decides.
	if j.ingest.dupOf != 0 {
		if err := s.originalOutcome(ctx, j.ingest); err != nil {
			return IngestResult{}, err
		}
	}
	return j.ingest.res, nil
}

// ingestJob is a callback in the writer's queue.
type ingestJob struct {
	in  Ingest
	res IngestResult
	// decided by the writer
	plan   voice.IngestPlan
	dupOf  int64      // the original callback's id (duplicates of earlier batches)
	dupJob *ingestJob // the original in the same batch
	events []*Event
	raw    []any // each event's Raw encoded, or nil
}

// callKey finds a call: calls are matched within their channel.
type callKey struct{ channel, provider, id string }

// ingestState is what a group of callbacks reads before deciding.
type ingestState struct {
	calls  map[callKey]*voice.CallState
	rows   map[*voice.CallState]*Call
	alerts map[int64]*voice.AlertSnapshot
	firing map[string]int64 // newest firing alert by channel
	// created are the calls the group's callbacks create, in order.
	created []*voice.CallState
}

// ingestGroup decides and writes a run of consecutive callbacks in tx.
func (tx *Tx) ingestGroup(ctx context.Context, jobs []*ingestJob) error {
	st := &ingestState{calls: map[callKey]*voice.CallState{}, rows: map[*voice.CallState]*Call{},
		alerts: map[int64]*voice.AlertSnapshot{}, firing: map[string]int64{}}

	// A group decided before in a transaction that did not commit is
	// decided again from scratch.
	for _, j := range jobs {
		j.res, j.plan, j.dupOf, j.dupJob, j.events = IngestResult{}, voice.IngestPlan{}, 0, nil, nil
	}
	if err := tx.d.lockIngest(ctx, tx, jobs); err != nil {
		return err
	}
	// The calls the callbacks name: a callback's dedupe key is stored
	// under its call (dedupeCalls), and the fresh ones are decided against them.
	var want []callKey
	for _, j := range jobs {
		for _, e := range j.in.Events {
			want = append(want, callKey{j.in.Channel.ID, j.in.Provider, e.CallID})
			if e.AltCallID != "" {
				want = append(want, callKey{j.in.Channel.ID, j.in.Provider, e.AltCallID})
			}
		}
	}
	tx.calls.fill(st, want)
	if err := tx.loadCalls(ctx, st, want); err != nil {
		return err
	}
	// Duplicates: of callbacks committed before, looked up under each call
	// a key may be filed under, or of one earlier in this group.
	stored := make([][][]byte, len(jobs))
	var keys [][]byte
	for i, j := range jobs {
		if len(j.in.DedupeKey) > 0 {
			for _, id := range st.dedupeCalls(j) {
				stored[i] = append(stored[i], storedKey(id, j.in.DedupeKey))
			}
			keys = append(keys, stored[i]...)
		}
	}
	seen, err := tx.dedupeLookup(ctx, keys)
	if err != nil {
		return err
	}
	first := map[string]*ingestJob{}
	var fresh []*ingestJob
	for i, j := range jobs {
		for _, k := range stored[i] {
			if j.dupOf = seen[string(k)]; j.dupOf != 0 {
				break
			}
		}
		k := string(j.in.DedupeKey)
		switch {
		case k == "":
			fresh = append(fresh, j)
		case j.dupOf != 0:
			// committed before
		case first[k] != nil:
			j.dupJob = first[k]
		default:
			first[k] = j
			fresh = append(fresh, j)
		}
	}

	// The alerts of those calls.
	if err := tx.loadAlerts(ctx, st); err != nil {
		return err
	}

	for _, j := range fresh {
		if err := tx.decide(ctx, st, j); err != nil {
			return err
		}
	}
	if err := tx.insertCreated(ctx, st); err != nil {
		return err
	}
	if err := tx.writeGroup(ctx, st, jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		if o := j.dupJob; o != nil {
			j.res.Applied, j.res.Alert = o.res.Applied, o.res.Alert
		}
	}
	for _, row := range st.rows {
		tx.touched = append(tx.touched, row)
	}
	return nil
}

// dedupeCalls are the ids of the calls a callback's first event names
// (by its id, then its other id), then 0: a callback's dedupe key is
// stored under the first of them that exists when it is committed
// (storedKey), and a retry is looked up under each, so one whose call was
// created after its original still finds it.
func (st *ingestState) dedupeCalls(j *ingestJob) []int64 {
	var ids []int64
	if len(j.in.Events) > 0 {
		e := j.in.Events[0]
		for _, id := range []string{e.CallID, e.AltCallID} {
			c := st.calls[callKey{j.in.Channel.ID, j.in.Provider, id}]
			if id != "" && c != nil && c.ID != 0 && (len(ids) == 0 || ids[0] != c.ID) {
				ids = append(ids, c.ID)
			}
		}
	}
	return append(ids, 0)
}

// storedKey is a dedupe key as the callbacks row stores it: the id of the
// callback's call, 8 bytes big-endian (0 when it names none), then the key.
// A call's callbacks arrive while it is in progress and calls get ids in
// the order they are created, so the keys a transaction inserts sit
// together at the end of the unique index instead of one random page each
// (docs/architecture.md, "The writer").
func storedKey(callID int64, key []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(key)), uint64(callID)), key...)
}

// decide applies the ingest rules to one fresh callback against the group's state.
func (tx *Tx) decide(ctx context.Context, st *ingestState, j *ingestJob) error {
	ch := j.in.Channel
	calls := map[string]*voice.CallState{}
	needFiring := false
	for _, e := range j.in.Events {
		for _, id := range []string{e.CallID, e.AltCallID} {
			if c := st.calls[callKey{ch.ID, j.in.Provider, id}]; c != nil && id != "" {
				calls[id] = c
			}
		}
		if calls[e.CallID] == nil && e.Direction == voice.Inbound && voice.CallerAllowed(ch.InboundAllow, e.From) {
			needFiring = true
		}
	}
	firing := int64(0)
	if needFiring {
		var err error
		if firing, err = tx.newestFiring(ctx, st, ch.ID); err != nil {
			return err
		}
	}
	j.plan = voice.Plan(voice.IngestInput{ChannelID: ch.ID, Provider: j.in.Provider, DTMF: ChannelDTMF(ch),
		InboundAllow: ch.InboundAllow, Events: j.in.Events, Calls: calls, Alerts: st.alerts, NewestFiring: firing})
	for _, c := range j.plan.Created {
		// Created calls are inserted together once the group is decided
		// (insertCreated), before its events are written.
		row := &Call{ChannelID: c.ChannelID, Provider: c.Provider, ProviderCallID: c.ProviderCallID,
			Direction: string(c.Direction), From: c.From, To: c.To, Status: string(c.Status), CreatedAt: j.in.Now, UpdatedAt: j.in.Now}
		if c.AlertID != 0 {
			id := c.AlertID
			row.AlertID = &id
		}
		st.calls[callKey{c.ChannelID, c.Provider, c.ProviderCallID}] = c
		st.rows[c] = row
		st.created = append(st.created, c)
	}
	for _, c := range j.plan.Changed {
		st.rows[c].UpdatedAt = j.in.Now
	}
	return nil
}

// insertCreated inserts the calls a group creates, in one statement, and
// gives their states the new ids the events and alert changes name.
func (tx *Tx) insertCreated(ctx context.Context, st *ingestState) error {
	if len(st.created) == 0 {
		return nil
	}
	rows := make([]*Call, len(st.created))
	for i, c := range st.created {
		rows[i] = st.rows[c]
	}
	if err := tx.insertCalls(ctx, rows); err != nil {
		return err
	}
	for i, c := range st.created {
		c.ID = rows[i].ID
	}
	return nil
}

// writeGroup writes the decided callbacks, events, calls, alert changes and
// feed rows of a group.
func (tx *Tx) writeGroup(ctx context.Context, st *ingestState, jobs []*ingestJob) error {
	cbs := make([]*Callback, len(jobs))
	for i, j := range jobs {
		cb := j.in.Callback
		cb.Provider, cb.ReceivedAt, cb.EventCount = j.in.Provider, j.in.Now, len(j.in.Events)
		cb.DedupeKey = nil
		switch {
		case j.dupOf != 0 || j.dupJob != nil:
			cb.Outcome = voice.OutcomeDuplicate
		default:
			cb.Outcome = j.plan.Outcome
			if len(j.in.DedupeKey) > 0 {
				// After insertCreated: a call the callback created has its id.
				cb.DedupeKey = storedKey(st.dedupeCalls(j)[0], j.in.DedupeKey)
			}
		}
		cbs[i] = cb
	}
	if err := tx.insertCallbacks(ctx, cbs); err != nil {
		return err
	}
	var evs []*Event
	for _, j := range jobs {
		j.res = IngestResult{CallbackID: j.in.Callback.ID, Outcome: j.in.Callback.Outcome, Duplicate: j.in.Callback.Outcome == voice.OutcomeDuplicate}
		if j.res.Duplicate {
			continue
		}
		for i, d := range j.plan.Decisions {
			ev := newEvent(j.in.Callback.ID, j.in.Channel.ID, j.in.Provider, d.Event, j.in.Now)
			ev.Action, ev.Applied = string(d.Action), d.Applied
			if i < len(j.raw) {
				ev.rawJSON = j.raw[i]
			}
			a := applied(d)
			if d.Call != nil {
				id := d.Call.ID
				ev.CallID = &id
			}
			j.events = append(j.events, ev)
			evs = append(evs, ev)
			j.res.Applied = append(j.res.Applied, a)
		}
		j.res.Alert = snapshotCopy(j.plan.Alert)
	}
	if err := tx.insertEvents(ctx, evs); err != nil {
		return err
	}
	// Calls, each once, in the order they first changed.
	var dirty []*voice.CallState
	seen := map[*voice.CallState]bool{}
	for _, j := range jobs {
		for _, c := range j.plan.Changed {
			if !seen[c] {
				seen[c] = true
				dirty = append(dirty, c)
			}
		}
	}
	rows := make([]*Call, 0, len(dirty))
	for _, c := range dirty {
		row := st.rows[c]
		row.setState(c)
		if voice.Status(row.Status).Terminal() {
			row.NextPollAt = nil
		}
		rows = append(rows, row)
	}
	if err := tx.saveCalls(ctx, rows); err != nil {
		return err
	}
	// Alert changes, then the feed in the order a reader expects: per
	// callback, its created calls, events, changed calls, alert changes and
	// the callback itself.
	for _, j := range jobs {
		if j.res.Duplicate {
			tx.publish(voice.FeedItem{Type: voice.FeedCallback, ChannelID: &j.in.Channel.ID,
				Data: mustJSON(j.in.Callback.View(false)), CreatedAt: j.in.Now})
			continue
		}
		for _, c := range j.plan.Created {
			row := st.rows[c]
			tx.publish(voice.FeedItem{Type: voice.FeedCallCreated, CallID: &row.ID, AlertID: row.AlertID,
				ChannelID: &row.ChannelID, Data: mustJSON(row.View()), CreatedAt: j.in.Now})
		}
		for i, ev := range j.events {
			alertID := int64(0)
			if c := j.plan.Decisions[i].Call; c != nil {
				alertID = c.AlertID
			}
			tx.publish(voice.FeedItem{Type: voice.FeedEvent, CallID: ev.CallID, ChannelID: &j.in.Channel.ID,
				AlertID: nonZero(alertID), Data: mustJSON(ev.View()), CreatedAt: j.in.Now})
		}
		for _, c := range j.plan.Changed {
			row := st.rows[c]
			tx.publish(voice.FeedItem{Type: voice.FeedCallUpdated, CallID: &row.ID, AlertID: row.AlertID,
				ChannelID: &row.ChannelID, Data: mustJSON(row.View()), CreatedAt: j.in.Now})
		}
		for _, ac := range j.plan.AlertChanges {
			callID := ac.Call.ID
			var digit *string
			if ac.Digit != "" {
				d := ac.Digit
				digit = &d
			}
			al, err := GetAlert(ctx, tx, ac.AlertID)
			if err != nil {
				return err
			}
			if err := tx.applyAlertChange(ctx, al, ac.To, AlertActor{Actor: voice.DTMFActor(ac.Call, ac.Digit),
				Via: "dtmf", CallID: &callID, Digit: digit}, j.in.Now); err != nil {
				return err
			}
		}
		tx.publish(voice.FeedItem{Type: voice.FeedCallback, ChannelID: &j.in.Channel.ID,
			Data: mustJSON(j.in.Callback.View(false)), CreatedAt: j.in.Now})
	}
	return nil
}

func applied(d voice.Decision) Applied {
	a := Applied{Event: d.Event, Action: d.Action, Changed: d.Applied, Matched: d.Call != nil}
	if d.Call != nil {
		a.CallID, a.AlertID = d.Call.ID, d.Call.AlertID
	}
	return a
}

func snapshotCopy(a *voice.AlertSnapshot) *voice.AlertSnapshot {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// originalOutcome fills the result of a duplicate of a callback committed
// in an earlier transaction with what the original applied, so a provider
// retrying because it lost our reply gets the same reply (a retried gather
// still hears "Alert acknowledged").
func (s *Store) originalOutcome(ctx context.Context, j *ingestJob) error {
	// The events with their calls' alerts, in two reads driven by indexes
	// whatever the planner knows of the tables (a join let PostgreSQL hash
	// the whole calls table while its statistics were young): a duplicate
	// used to cost 1 + 2 reads per event, as much CPU as a fresh callback.
	evs, err := s.reads.get(ctx, "SELECT e.action, e.applied, e.call_id, "+
		"(SELECT c.alert_id FROM calls AS c WHERE c.id = e.call_id) FROM events AS e WHERE e.callback_id = $1 ORDER BY e.id")
	if err != nil {
		return fmt.Errorf("store: original events: %w", err)
	}
	rows, err := evs.QueryContext(ctx, j.dupOf)
	if err != nil {
		return fmt.Errorf("store: original events: %w", err)
	}
	defer rows.Close()
	var applied []Applied
	alertID := int64(0)
	for rows.Next() {
		var a Applied
		var callID, alert sql.NullInt64
		if err := rows.Scan(&a.Action, &a.Changed, &callID, &alert); err != nil {
			return fmt.Errorf("store: original events: %w", err)
		}
		a.Matched, a.CallID, a.AlertID = callID.Valid, callID.Int64, alert.Int64
		if alertID == 0 {
			alertID = a.AlertID
		}
		applied = append(applied, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: original events: %w", err)
	}
	if len(applied) != len(j.in.Events) {
		// Same provider key, different content: report the events as received, unapplied.
		for _, e := range j.in.Events {
			j.res.Applied = append(j.res.Applied, Applied{Event: e})
		}
		return nil
	}
	for i := range applied {
		applied[i].Event = j.in.Events[i]
	}
	j.res.Applied = applied
	if alertID != 0 && j.res.Alert == nil {
		al, err := s.reads.get(ctx, "SELECT title, message, state FROM alerts WHERE id = $1")
		if err != nil {
			return fmt.Errorf("store: original alert: %w", err)
		}
		a := voice.AlertSnapshot{ID: alertID}
		if err := al.QueryRowContext(ctx, alertID).Scan(&a.Title, &a.Message, &a.State); err == nil {
			j.res.Alert = &a
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: original alert: %w", err)
		}
	}
	return nil
}

// newestFiring returns the channel's newest firing alert id (0: none), once per group.
func (tx *Tx) newestFiring(ctx context.Context, st *ingestState, channelID string) (int64, error) {
	if id, ok := st.firing[channelID]; ok {
		return id, nil
	}
	al, err := NewestFiringAlert(ctx, tx, channelID)
	if err != nil {
		return 0, err
	}
	id := int64(0)
	if al != nil {
		id = al.ID
		if st.alerts[id] == nil {
			st.alerts[id] = &voice.AlertSnapshot{ID: al.ID, Title: al.Title, Message: al.Message, State: voice.AlertState(al.State)}
		}
	}
	st.firing[channelID] = id
	return id, nil
}

// Keypad is a channel's DTMF mapping and what callers are told of it.
type Keypad struct {
	Map       voice.DTMFMap
	Prompt    string
	MaxDigits int
}

// ChannelKeypad returns the channel's keypad: worked out once for a
// channel from the read cache, which must not be changed.
func ChannelKeypad(ch *Channel) Keypad {
	if ch != nil && ch.keypad != nil {
		return *ch.keypad
	}
	m := ChannelDTMF(ch)
	return Keypad{Map: m, Prompt: m.Prompt(), MaxDigits: m.MaxDigits()}
}

// ChannelDTMF returns the channel's DTMF mapping, the default if it has none.
func ChannelDTMF(ch *Channel) voice.DTMFMap {
	if ch != nil && ch.keypad != nil {
		return ch.keypad.Map
	}
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

// callState is the rules' view of a call row.
func callState(c *Call) *voice.CallState {
	s := &voice.CallState{ID: c.ID, ChannelID: c.ChannelID, Provider: c.Provider, ProviderCallID: c.ProviderCallID,
		Direction: voice.Direction(c.Direction), From: c.From, To: c.To, Status: voice.Status(c.Status),
		DurationS: c.DurationS, MOS: c.MOS}
	if c.AlertID != nil {
		s.AlertID = *c.AlertID
	}
	return s
}

// applyToCall moves a call row by an event (voice.CallState.Apply); it
// reports whether the call changed.
func applyToCall(c *Call, e voice.Event) bool {
	s := callState(c)
	if !s.Apply(e) {
		return false
	}
	c.setState(s)
	return true
}

// setState copies what the rules change of a call (voice.CallState.Apply)
// back to its row.
func (c *Call) setState(s *voice.CallState) {
	c.Status, c.DurationS, c.MOS, c.From, c.To = string(s.Status), s.DurationS, s.MOS, s.From, s.To
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
	if err := tx.d.lockAlert(ctx, tx, alertID); err != nil {
		return false, err
	}
	al, err := GetAlert(ctx, tx, alertID)
	if err != nil {
		return false, err
	}
	next, ok := voice.ApplyAction(voice.AlertState(al.State), a)
	if !ok {
		return false, nil
	}
	return true, tx.applyAlertChange(ctx, al, next, by, now)
}

// applyAlertChange moves alert al, as read in tx, to state next, records the
// change and publishes it.
func (tx *Tx) applyAlertChange(ctx context.Context, al *Alert, next voice.AlertState, by AlertActor, now time.Time) error {
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
		return fmt.Errorf("store: update alert: %w", err)
	}
	ch := &AlertChange{AlertID: al.ID, FromState: from, ToState: al.State, Actor: actor, Via: by.Via,
		CallID: by.CallID, Digit: by.Digit, CreatedAt: now}
	if _, err := tx.NewInsert().Model(ch).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert alert change: %w", err)
	}
	tx.publish(voice.FeedItem{Type: voice.FeedAlertUpdated, AlertID: &al.ID, ChannelID: al.ChannelID,
		Data: mustJSON(al.View()), CreatedAt: now})
	return nil
}

// InsertRejected stores a rejected callback and publishes it to the feed.
func (tx *Tx) InsertRejected(ctx context.Context, cb *Callback) error {
	cb.Outcome = voice.OutcomeRejected
	cb.DedupeKey = nil
	if err := tx.insertCallbacks(ctx, []*Callback{cb}); err != nil {
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

// RegisterCall stores a new call and attaches to it every unmatched event of
// its channel with the same provider call id received before, applying their
// statuses and DTMF actions in the order they happened.
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
	tx.publish(voice.FeedItem{Type: voice.FeedCallCreated, CallID: &c.ID, AlertID: c.AlertID,
		ChannelID: &c.ChannelID, Data: mustJSON(c.View()), CreatedAt: c.CreatedAt})
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
	state := callState(c)
	changed := false
	for i := range evs {
		ev := &evs[i]
		e := ev.voiceEvent()
		ev.CallID = &c.ID
		if state.Apply(e) {
			changed = true
		}
		if a := dtmf.Resolve(e); a != voice.ActionNone && c.AlertID != nil {
			ev.Action = string(a)
			ok, err := tx.ChangeAlert(ctx, *c.AlertID, a, AlertActor{Actor: voice.DTMFActor(state, e.Digit), Via: "dtmf",
				CallID: &c.ID, Digit: optDigit(e.Digit)}, now)
			if err != nil {
				return err
			}
			ev.Applied = ok
		}
		if _, err := tx.NewUpdate().Model(ev).Column("call_id", "action", "applied").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store: attach event: %w", err)
		}
		tx.publish(voice.FeedItem{Type: voice.FeedEvent, CallID: &c.ID, AlertID: c.AlertID, ChannelID: &c.ChannelID,
			Data: mustJSON(ev.View()), CreatedAt: now})
	}
	if changed {
		c.setState(state)
		c.UpdatedAt = now
		return tx.updateCall(ctx, c)
	}
	return nil
}

func optDigit(d string) *string {
	if d == "" {
		return nil
	}
	return &d
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

func getCall(ctx context.Context, db bun.IDB, id int64) (*Call, error) {
	c := new(Call)
	if err := db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "call")
	}
	return c, nil
}
