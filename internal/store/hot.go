package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The writer's hottest statements run as prepared statements on its one
// connection. None uses RETURNING: SQLite runs RETURNING as a trigger, which
// makes every such insert keep a statement journal (measured: a fifth of the
// writer's time); the rowid comes from LastInsertId instead. Also, bun renders arguments into the SQL text, so SQLite would parse
// every statement again (measured: ~45% of the writer's CPU). Values are
// encoded as bun encodes them, so bun reads these rows back unchanged.

const callColumns = "id, channel_id, alert_id, provider, provider_call_id, direction, from_number, to_number, " +
	"message, status, duration_s, mos, poll_attempts, next_poll_at, created_at, updated_at"

var hotSQL = map[string]string{
	"dedupeInsert":   "INSERT INTO dedupe (key, callback_id) VALUES (?, 0) ON CONFLICT DO NOTHING",
	"dedupeSet":      "UPDATE dedupe SET callback_id = ? WHERE key = ?",
	"findCall":       "SELECT " + callColumns + " FROM calls WHERE channel_id = ? AND provider = ? AND provider_call_id = ? LIMIT 1",
	"insertCallback": "INSERT INTO callbacks (channel_id, provider, method, path, query, content_type, headers, body, body_size, body_truncated, outcome, reason, error, status_code, event_count, replay_of, remote_addr, secret_ok, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"insertEvent":    "INSERT INTO events (callback_id, call_id, channel_id, provider, provider_call_id, event_type, status, digit, action, applied, native, message, seq, occurred_at, received_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"insertFeed":     "INSERT INTO feed (type, call_id, alert_id, channel_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	"updateCall":     "UPDATE calls SET status = ?, duration_s = ?, mos = ?, from_number = ?, to_number = ?, next_poll_at = ?, updated_at = ? WHERE id = ?",
}

// hotStmts are prepared once on the writer connection.
type hotStmts map[string]*sql.Stmt

func prepareHot(ctx context.Context, db *bun.DB) (hotStmts, error) {
	h := hotStmts{}
	for name, q := range hotSQL {
		st, err := db.DB.PrepareContext(ctx, q)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("store: prepare %s: %w", name, err)
		}
		h[name] = st
	}
	return h, nil
}

func (h hotStmts) close() {
	for _, st := range h {
		st.Close()
	}
}

// txHot binds the prepared statements to one batch's transaction, lazily.
type txHot struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts hotStmts
	bound map[string]*sql.Stmt
}

func (h *txHot) stmt(name string) *sql.Stmt {
	if st, ok := h.bound[name]; ok {
		return st
	}
	st := h.tx.StmtContext(h.ctx, h.stmts[name])
	h.bound[name] = st
	return st
}

// timeText encodes a time as bun's SQLite dialect does.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999-07:00") }

func optInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func optString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func optTimeText(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeText(*t)
}

func jsonText(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (tx *Tx) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	return tx.hot.stmt(name).ExecContext(ctx, args...)
}

func (tx *Tx) dedupeInsert(ctx context.Context, key []byte) (bool, error) {
	r, err := tx.exec(ctx, "dedupeInsert", key)
	if err != nil {
		return false, fmt.Errorf("store: dedupe: %w", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

func (tx *Tx) dedupeSet(ctx context.Context, key []byte, callbackID int64) error {
	if _, err := tx.exec(ctx, "dedupeSet", callbackID, key); err != nil {
		return fmt.Errorf("store: dedupe: %w", err)
	}
	return nil
}

func (tx *Tx) insertCallback(ctx context.Context, cb *Callback) error {
	if cb.Headers == nil {
		cb.Headers = map[string][]string{}
	}
	headers, err := jsonText(cb.Headers, false)
	if err != nil {
		return fmt.Errorf("store: insert callback: %w", err)
	}
	var replay any
	if cb.ReplayOf != nil {
		replay = *cb.ReplayOf
	}
	body := cb.Body
	if body == nil {
		body = []byte{}
	}
	r, err := tx.hot.stmt("insertCallback").ExecContext(ctx, cb.ChannelID, cb.Provider, cb.Method, cb.Path, cb.Query,
		cb.ContentType, headers, body, cb.BodySize, cb.BodyTruncated, cb.Outcome, cb.Reason, cb.Error, cb.StatusCode,
		cb.EventCount, replay, cb.RemoteAddr, cb.SecretOK, timeText(cb.ReceivedAt))
	if err == nil {
		cb.ID, err = r.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("store: insert callback: %w", err)
	}
	return nil
}

func (tx *Tx) insertEvent(ctx context.Context, ev *Event) error {
	raw, err := jsonText(ev.Raw, ev.Raw == nil)
	if err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	var callID any
	if ev.CallID != nil {
		callID = *ev.CallID
	}
	r, err := tx.hot.stmt("insertEvent").ExecContext(ctx, ev.CallbackID, callID, ev.ChannelID, ev.Provider,
		ev.ProviderCallID, ev.EventType, ev.Status, ev.Digit, ev.Action, ev.Applied, ev.Native, ev.Message, ev.Seq,
		optTimeText(ev.OccurredAt), timeText(ev.ReceivedAt), raw)
	if err == nil {
		ev.ID, err = r.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	return nil
}

func (tx *Tx) saveCall(ctx context.Context, c *Call) error {
	if _, err := tx.exec(ctx, "updateCall", c.Status, c.DurationS, c.MOS, c.From, c.To,
		optTimeText(c.NextPollAt), timeText(c.UpdatedAt), c.ID); err != nil {
		return fmt.Errorf("store: update call: %w", err)
	}
	return nil
}

func (tx *Tx) findCall(ctx context.Context, channelID, prov, providerCallID string) (*Call, error) {
	var (
		c                      Call
		next, created, updated any
	)
	err := tx.hot.stmt("findCall").QueryRowContext(ctx, channelID, prov, providerCallID).Scan(&c.ID, &c.ChannelID, &c.AlertID,
		&c.Provider, &c.ProviderCallID, &c.Direction, &c.From, &c.To, &c.Message, &c.Status, &c.DurationS, &c.MOS,
		&c.PollAttempts, &next, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call: %w", err)
	}
	if c.NextPollAt, err = scanOptTime(next); err == nil {
		var t *time.Time
		if t, err = scanOptTime(created); err == nil && t != nil {
			c.CreatedAt = *t
		}
		if t, err = scanOptTime(updated); err == nil && t != nil {
			c.UpdatedAt = *t
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call: %w", err)
	}
	return &c, nil
}

// scanOptTime reads a timestamp column, which the driver returns as a
// time.Time or as bun's text encoding.
func scanOptTime(v any) (*time.Time, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t := x.UTC()
		return &t, nil
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if t, err := time.Parse(layout, x); err == nil {
				t = t.UTC()
				return &t, nil
			}
		}
		return nil, fmt.Errorf("unreadable time %q", x)
	case []byte:
		return scanOptTime(string(x))
	}
	return nil, fmt.Errorf("unexpected time value %T", v)
}
