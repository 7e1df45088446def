package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// Page is a cursor page: items newest first, and the cursor of the next page.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// ListFilter narrows a list query. Cursor is the opaque next_cursor of the previous page.
type ListFilter struct {
	Status         string
	ChannelID      string
	ProviderCallID string
	Outcome        string
	AlertID        int64
	Limit          int
	Cursor         string
}

func (f ListFilter) limit() int {
	switch {
	case f.Limit <= 0:
		return 50
	case f.Limit > 500:
		return 500
	}
	return f.Limit
}

func (f ListFilter) cursor() (int64, error) {
	if f.Cursor == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(f.Cursor, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("cursor %q is not valid", f.Cursor)
	}
	return id, nil
}

func nextCursor(n, limit int, lastID int64) *string {
	if n < limit {
		return nil
	}
	s := strconv.FormatInt(lastID, 10)
	return &s
}

// Calls lists calls, newest first.
func (s *Store) Calls(ctx context.Context, f ListFilter) (Page[Call], error) {
	cur, err := f.cursor()
	if err != nil {
		return Page[Call]{}, voice.Invalid("cursor", "%v", err)
	}
	var out []Call
	q := s.db.NewSelect().Model(&out).OrderExpr("id DESC").Limit(int64(f.limit()))
	if cur > 0 {
		q = q.Where("id < ?", cur)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.ChannelID != "" {
		q = q.Where("channel_id = ?", f.ChannelID)
	}
	if f.ProviderCallID != "" {
		q = q.Where("provider_call_id = ?", f.ProviderCallID)
	}
	if f.AlertID != 0 {
		q = q.Where("alert_id = ?", f.AlertID)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[Call]{}, fmt.Errorf("store: list calls: %w", err)
	}
	p := Page[Call]{Items: out}
	if len(out) > 0 {
		p.NextCursor = nextCursor(len(out), f.limit(), out[len(out)-1].ID)
	}
	return p, nil
}

// Call returns call id.
func (s *Store) Call(ctx context.Context, id int64) (*Call, error) { return getCall(ctx, s.db, id) }

// CallByProviderID returns the channel's call a provider knows as providerCallID, or nil.
func (s *Store) CallByProviderID(ctx context.Context, channelID, prov, providerCallID string) (*Call, error) {
	return findCall(ctx, s.db, channelID, prov, providerCallID)
}

// CallEvents returns the call's timeline in order.
func (s *Store) CallEvents(ctx context.Context, callID int64) ([]Event, error) {
	return callEvents(ctx, s.db, callID)
}

func callEvents(ctx context.Context, db bun.IDB, callID int64) ([]Event, error) {
	var evs []Event
	if err := db.NewSelect().Model(&evs).Where("call_id = ?", callID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: call events: %w", err)
	}
	sortTimeline(evs)
	return evs, nil
}

// CallView returns the API view of call id with its timeline.
func (s *Store) CallView(ctx context.Context, id int64) (voice.CallView, error) {
	c, err := s.Call(ctx, id)
	if err != nil {
		return voice.CallView{}, err
	}
	evs, err := s.CallEvents(ctx, id)
	if err != nil {
		return voice.CallView{}, err
	}
	v := c.View()
	v.Events = make([]voice.EventView, 0, len(evs))
	for i := range evs {
		v.Events = append(v.Events, evs[i].View())
	}
	return v, nil
}

// Alerts lists alerts newest first; Status filters by state.
func (s *Store) Alerts(ctx context.Context, f ListFilter) (Page[Alert], error) {
	cur, err := f.cursor()
	if err != nil {
		return Page[Alert]{}, voice.Invalid("cursor", "%v", err)
	}
	var out []Alert
	q := s.db.NewSelect().Model(&out).OrderExpr("id DESC").Limit(int64(f.limit()))
	if cur > 0 {
		q = q.Where("id < ?", cur)
	}
	if f.Status != "" {
		q = q.Where("state = ?", f.Status)
	}
	if f.ChannelID != "" {
		q = q.Where("channel_id = ?", f.ChannelID)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[Alert]{}, fmt.Errorf("store: list alerts: %w", err)
	}
	p := Page[Alert]{Items: out}
	if len(out) > 0 {
		p.NextCursor = nextCursor(len(out), f.limit(), out[len(out)-1].ID)
	}
	return p, nil
}

// Alert returns alert id.
func (s *Store) Alert(ctx context.Context, id int64) (*Alert, error) { return GetAlert(ctx, s.db, id) }

// AlertView returns the API view of alert id with its calls and changes.
func (s *Store) AlertView(ctx context.Context, id int64) (voice.AlertView, error) {
	a, err := s.Alert(ctx, id)
	if err != nil {
		return voice.AlertView{}, err
	}
	return s.alertView(ctx, a, true)
}

// AlertViews returns the API views of alerts with their calls.
func (s *Store) AlertViews(ctx context.Context, alerts []Alert) ([]voice.AlertView, error) {
	out := make([]voice.AlertView, 0, len(alerts))
	for i := range alerts {
		v, err := s.alertView(ctx, &alerts[i], false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Store) alertView(ctx context.Context, a *Alert, changes bool) (voice.AlertView, error) {
	v := a.View()
	var calls []Call
	if err := s.db.NewSelect().Model(&calls).Where("alert_id = ?", a.ID).Order("id").Scan(ctx); err != nil {
		return v, fmt.Errorf("store: alert calls: %w", err)
	}
	for i := range calls {
		v.Calls = append(v.Calls, calls[i].View())
	}
	if changes {
		var chs []AlertChange
		if err := s.db.NewSelect().Model(&chs).Where("alert_id = ?", a.ID).Order("id").Scan(ctx); err != nil {
			return v, fmt.Errorf("store: alert changes: %w", err)
		}
		v.Changes = []voice.ChangeView{}
		for _, c := range chs {
			v.Changes = append(v.Changes, voice.ChangeView{FromState: c.FromState, ToState: c.ToState, Actor: c.Actor,
				Via: c.Via, CallID: c.CallID, Digit: c.Digit, At: c.CreatedAt})
		}
	}
	return v, nil
}

// Callbacks lists stored callbacks newest first.
func (s *Store) Callbacks(ctx context.Context, f ListFilter) (Page[Callback], error) {
	cur, err := f.cursor()
	if err != nil {
		return Page[Callback]{}, voice.Invalid("cursor", "%v", err)
	}
	var out []Callback
	q := s.db.NewSelect().Model(&out).ExcludeColumn("body", "headers").OrderExpr("id DESC").Limit(int64(f.limit()))
	if cur > 0 {
		q = q.Where("id < ?", cur)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if f.ChannelID != "" {
		q = q.Where("channel_id = ?", f.ChannelID)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[Callback]{}, fmt.Errorf("store: list callbacks: %w", err)
	}
	p := Page[Callback]{Items: out}
	if len(out) > 0 {
		p.NextCursor = nextCursor(len(out), f.limit(), out[len(out)-1].ID)
	}
	return p, nil
}

// Callback returns callback id with its raw request.
func (s *Store) Callback(ctx context.Context, id int64) (*Callback, error) {
	cb := new(Callback)
	if err := s.db.NewSelect().Model(cb).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "callback")
	}
	return cb, nil
}

// CallbackEvents returns the events parsed from callback id.
func (s *Store) CallbackEvents(ctx context.Context, id int64) ([]Event, error) {
	var evs []Event
	if err := s.db.NewSelect().Model(&evs).Where("callback_id = ?", id).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: callback events: %w", err)
	}
	return evs, nil
}

// statsTTL bounds how often the statistics are recomputed: they scan every
// call, and the stats page refreshes live on each event.
const statsTTL = 5 * time.Second

// Stats returns totals per channel and provider, at most statsTTL old. A call
// counts as answered when it reached "answered" (a completed call was
// answered).
func (s *Store) Stats(ctx context.Context) ([]voice.Stat, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats != nil && time.Since(s.statsAt) < statsTTL {
		return append([]voice.Stat(nil), s.stats...), nil
	}
	out, err := s.computeStats(ctx)
	if err != nil {
		return nil, err
	}
	s.stats, s.statsAt = out, time.Now()
	return append([]voice.Stat(nil), out...), nil
}

func (s *Store) computeStats(ctx context.Context) ([]voice.Stat, error) {
	out := []voice.Stat{}
	err := s.db.NewSelect().TableExpr("calls").
		ColumnExpr("channel_id, provider, COUNT(*) AS calls").
		ColumnExpr("SUM(CASE WHEN status IN ('answered', 'completed') THEN 1 ELSE 0 END) AS answered").
		ColumnExpr("COALESCE(SUM(duration_s), 0.0) AS total_duration").
		ColumnExpr("AVG(duration_s) AS mean_duration, AVG(mos) AS mean_mos").
		GroupExpr("channel_id, provider").OrderExpr("channel_id, provider").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	for i := range out {
		if out[i].Calls > 0 {
			out[i].AnsweredRate = float64(out[i].Answered) / float64(out[i].Calls)
		}
	}
	return out, nil
}

// Counts are the dashboard's counters, each capped at Cap.
type Counts struct {
	InProgress   int
	Firing       int
	Acknowledged int
	Rejected     int // callbacks rejected since the given time
	Cap          int
}

// DashboardCounts counts calls in progress, open alerts and callbacks
// rejected since since, reading at most limit rows for each.
func (s *Store) DashboardCounts(ctx context.Context, since time.Time, limit int) (Counts, error) {
	out := Counts{Cap: limit}
	err := s.db.NewRaw(`SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM calls WHERE status IN ('queued', 'ringing', 'answered') LIMIT ?) AS p),
		(SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE state = 'firing' LIMIT ?) AS f),
		(SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE state = 'acknowledged' LIMIT ?) AS a),
		(SELECT COUNT(*) FROM (SELECT received_at FROM callbacks WHERE outcome = 'rejected' ORDER BY id DESC LIMIT ?) AS r WHERE received_at >= ?)`,
		limit, limit, limit, limit, since.UTC()).Scan(ctx, &out.InProgress, &out.Firing, &out.Acknowledged, &out.Rejected)
	if err != nil {
		return out, fmt.Errorf("store: dashboard counts: %w", err)
	}
	return out, nil
}
