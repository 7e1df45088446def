package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// The write path's SQL for SQLite, in one place (docs/architecture.md,
// "The writer"). The single statements run prepared on the writer's one
// connection: bun renders arguments into the SQL text, so SQLite would parse
// every statement again. None uses RETURNING: SQLite runs RETURNING as a
// trigger, which makes every such insert keep a statement journal (measured:
// a fifth of the writer's time); ids come from the last insert rowid, and a
// multi-row insert's rows get consecutive ids because only the writer
// inserts. Values are encoded as bun encodes them, so bun reads these rows
// back unchanged.

const callColumns = "id, channel_id, alert_id, provider, provider_call_id, direction, from_number, to_number, " +
	"message, status, duration_s, mos, poll_attempts, next_poll_at, created_at, updated_at"

const callbackColumns = "channel_id, provider, method, path, query, content_type, headers, body, body_size, body_truncated, " +
	"outcome, reason, error, status_code, event_count, replay_of, remote_addr, secret_ok, received_at, dedupe_key"

const newCallColumns = "channel_id, alert_id, provider, provider_call_id, direction, from_number, to_number, " +
	"message, status, duration_s, mos, poll_attempts, next_poll_at, created_at, updated_at"

const eventColumns = "callback_id, call_id, channel_id, provider, provider_call_id, event_type, status, digit, action, " +
	"applied, native, message, seq, occurred_at, received_at, raw"

var hotSQL = map[string]string{
	"findCall":   "SELECT " + callColumns + " FROM calls WHERE provider_call_id = ? AND channel_id = ? AND provider = ? LIMIT 1",
	"updateCall": "UPDATE calls SET status = ?, duration_s = ?, mos = ?, from_number = ?, to_number = ?, next_poll_at = ?, updated_at = ? WHERE id = ?",
	"feedLast":   "SELECT last FROM feed ORDER BY seq DESC LIMIT 1",
	"feedInsert": "INSERT INTO feed (seq, last, items, created_at) VALUES (?, ?, ?, ?)",
}

// multiRowLimit bounds the keys of one lookup (SQLite allows 32,766 bound
// values per statement).
const multiRowLimit = 500

// hotStmts are prepared once on the writer connection.
type hotStmts struct {
	named map[string]*sql.Stmt
	// feedJSON and feedPacked are the feed row's buffers, kept between
	// transactions: built anew, they were a quarter of the bytes the
	// write path allocated.
	feedJSON, feedPacked []byte
}

func prepareHot(ctx context.Context, db *bun.DB) (*hotStmts, error) {
	h := &hotStmts{named: map[string]*sql.Stmt{}}
	for name, q := range hotQueries() {
		st, err := db.DB.PrepareContext(ctx, q)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("store: prepare %s: %w", name, err)
		}
		h.named[name] = st
	}
	return h, nil
}

// hotQueries are the writer's statements by name: hotSQL and the
// multi-row ones for each power of two.
func hotQueries() map[string]string {
	queries := map[string]string{}
	for name, q := range hotSQL {
		queries[name] = q
	}
	for n := 1; n <= maxRowsPerInsert; n *= 2 {
		queries[fmt.Sprintf("callbacks/%d", n)] = multiRowSQL("callbacks", callbackColumns, n)
		queries[fmt.Sprintf("events/%d", n)] = multiRowSQL("events", eventColumns, n)
		queries[fmt.Sprintf("newCalls/%d", n)] = multiRowSQL("calls", newCallColumns, n)
		queries[fmt.Sprintf("updateCalls/%d", n)] = "UPDATE calls SET status = v.column2, duration_s = v.column3, mos = v.column4, " +
			"from_number = v.column5, to_number = v.column6, next_poll_at = v.column7, updated_at = v.column8 FROM (VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ") + ") AS v WHERE calls.id = v.column1"
		queries[fmt.Sprintf("dedupe/%d", n)] = "SELECT dedupe_key, id FROM callbacks WHERE dedupe_key IN (" + placeholders(n) + ")"
		queries[fmt.Sprintf("calls/%d", n)] = "SELECT " + callColumns + " FROM calls WHERE (provider_call_id, channel_id, provider) IN (VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ") + ")"
	}
	return queries
}

func (h *hotStmts) close() {
	if h == nil {
		return
	}
	for _, st := range h.named {
		st.Close()
	}
}

// txHot binds the prepared statements to one transaction, lazily.
type txHot struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *hotStmts
	bound map[*sql.Stmt]*sql.Stmt
}

func (h *txHot) bind(st *sql.Stmt) *sql.Stmt {
	if b, ok := h.bound[st]; ok {
		return b
	}
	b := h.tx.StmtContext(h.ctx, st)
	h.bound[st] = b
	return b
}

func (h *txHot) stmt(name string) *sql.Stmt { return h.bind(h.stmts.named[name]) }

// Multi-row inserts are prepared once, for row counts that are powers of
// two up to maxRowsPerInsert; a batch of n rows is inserted in as many
// statements as n has bits set (at most 9). Preparing one statement per
// batch size instead cost a tenth of the writer's time.
const maxRowsPerInsert = 256

// multiRowSQL is the insert of n rows of columns into table.
func multiRowSQL(table, columns string, n int) string {
	one := "(" + placeholders(strings.Count(columns, ",")+1) + ")"
	return "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// insertMany inserts n rows, each row's values given by args, and calls
// setID with each row's id: consecutive, because only the writer inserts.
func (sqliteDialect) insertMany(ctx context.Context, tx *Tx, table string, n int, args func(i int) []any, setID func(i int, id int64)) error {
	for start := 0; start < n; {
		size := maxRowsPerInsert
		for size > n-start {
			size /= 2
		}
		st := tx.hot.stmt(fmt.Sprintf("%s/%d", table, size))
		all := make([]any, 0, size*20)
		for i := start; i < start+size; i++ {
			all = append(all, args(i)...)
		}
		r, err := st.ExecContext(ctx, all...)
		if err != nil {
			return fmt.Errorf("store: insert into %s: %w", table, err)
		}
		last, err := r.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: insert into %s: %w", table, err)
		}
		for i := start; i < start+size; i++ {
			setID(i, last-int64(start+size-1-i))
		}
		start += size
	}
	return nil
}

// timeText encodes a time as bun's SQLite dialect does.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999-07:00") }

func optTimeText(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeText(*t)
}

func optInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// insertCallbacks inserts callback rows and sets their ids.
func (d sqliteDialect) insertCallbacks(ctx context.Context, tx *Tx, cbs []*Callback) error {
	args := make([][]any, len(cbs))
	for i, cb := range cbs {
		headers, err := cb.headersText()
		if err != nil {
			return fmt.Errorf("store: insert callback: %w", err)
		}
		body := cb.Body
		if body == nil {
			body = []byte{}
		}
		var key any
		if len(cb.DedupeKey) > 0 {
			key = cb.DedupeKey
		}
		args[i] = []any{cb.ChannelID, cb.Provider, cb.Method, cb.Path, cb.Query, cb.ContentType, headers, body,
			cb.BodySize, cb.BodyTruncated, cb.Outcome, cb.Reason, cb.Error, cb.StatusCode, cb.EventCount,
			optInt(cb.ReplayOf), cb.RemoteAddr, cb.SecretOK, timeText(cb.ReceivedAt), key}
	}
	return d.insertMany(ctx, tx, "callbacks", len(cbs), func(i int) []any { return args[i] },
		func(i int, id int64) { cbs[i].ID = id })
}

// insertEvents inserts event rows and sets their ids.
func (d sqliteDialect) insertEvents(ctx context.Context, tx *Tx, evs []*Event) error {
	args := make([][]any, len(evs))
	for i, ev := range evs {
		raw, err := ev.rawText()
		if err != nil {
			return fmt.Errorf("store: insert event: %w", err)
		}
		args[i] = []any{ev.CallbackID, optInt(ev.CallID), ev.ChannelID, ev.Provider, ev.ProviderCallID, ev.EventType,
			ev.Status, ev.Digit, ev.Action, ev.Applied, ev.Native, ev.Message, ev.Seq, optTimeText(ev.OccurredAt),
			timeText(ev.ReceivedAt), raw}
	}
	return d.insertMany(ctx, tx, "events", len(evs), func(i int) []any { return args[i] },
		func(i int, id int64) { evs[i].ID = id })
}

// insertCalls inserts call rows and sets their ids.
func (d sqliteDialect) insertCalls(ctx context.Context, tx *Tx, calls []*Call) error {
	err := d.insertMany(ctx, tx, "newCalls", len(calls), func(i int) []any {
		c := calls[i]
		return []any{c.ChannelID, optInt(c.AlertID), c.Provider, c.ProviderCallID, c.Direction, c.From, c.To, c.Message,
			c.Status, c.DurationS, c.MOS, c.PollAttempts, optTimeText(c.NextPollAt), timeText(c.CreatedAt), timeText(c.UpdatedAt)}
	}, func(i int, id int64) { calls[i].ID = id })
	if isUnique(err) {
		return fmt.Errorf("call %s/%s: %w", calls[0].Provider, calls[0].ProviderCallID, ErrConflict)
	}
	return err
}

// saveCalls writes the changed state of calls in as few statements as
// their count has bits set: one UPDATE ... FROM (VALUES ...) each, since
// opening and closing the cursors of calls and its indexes per row was an
// eighth of the writer's time under load.
func (sqliteDialect) saveCalls(ctx context.Context, tx *Tx, calls []*Call) error {
	return lookupChunks(len(calls), func(start, size, padded int) error {
		args := make([]any, 0, 8*padded)
		for i := 0; i < padded; i++ {
			c := calls[start+min(i, size-1)]
			args = append(args, c.ID, c.Status, c.DurationS, c.MOS, c.From, c.To, optTimeText(c.NextPollAt), timeText(c.UpdatedAt))
		}
		if _, err := tx.hot.stmt(fmt.Sprintf("updateCalls/%d", padded)).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: update calls: %w", err)
		}
		return nil
	})
}

func (sqliteDialect) saveCall(ctx context.Context, tx *Tx, c *Call) error {
	if _, err := tx.hot.stmt("updateCall").ExecContext(ctx, c.Status, c.DurationS, c.MOS, c.From, c.To,
		optTimeText(c.NextPollAt), timeText(c.UpdatedAt), c.ID); err != nil {
		return fmt.Errorf("store: update call: %w", err)
	}
	return nil
}

// insertFeed numbers a batch's feed items after the newest and inserts
// them as one row (feed.go).
func (sqliteDialect) insertFeed(ctx context.Context, tx *Tx, feed []voice.FeedItem) error {
	if len(feed) == 0 {
		return nil
	}
	var last int64
	if err := tx.hot.stmt("feedLast").QueryRowContext(ctx).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: feed: %w", err)
	}
	h := tx.hot.stmts
	h.feedJSON = appendFeed(h.feedJSON[:0], feed, last)
	h.feedPacked = packFeed(h.feedPacked, h.feedJSON)
	if _, err := tx.hot.stmt("feedInsert").ExecContext(ctx, last+1, last+int64(len(feed)), h.feedPacked,
		timeText(feed[len(feed)-1].CreatedAt)); err != nil {
		return fmt.Errorf("store: insert into feed: %w", err)
	}
	return nil
}

// lookupChunks splits n keys into chunks whose sizes are powers of two up
// to maxRowsPerInsert, padding the last with repeats of its first key, so
// every lookup runs one of the prepared statements.
func lookupChunks(n int, each func(start, size, padded int) error) error {
	for start := 0; start < n; start += maxRowsPerInsert {
		size := min(maxRowsPerInsert, n-start)
		padded := 1
		for padded < size {
			padded *= 2
		}
		if err := each(start, size, padded); err != nil {
			return err
		}
	}
	return nil
}

// dedupeLookup returns the ids of committed callbacks by dedupe key.
func (sqliteDialect) dedupeLookup(ctx context.Context, tx *Tx, keys [][]byte) (map[string]int64, error) {
	out := map[string]int64{}
	err := lookupChunks(len(keys), func(start, size, padded int) error {
		args := make([]any, padded)
		for i := range args {
			args[i] = keys[start+min(i, size-1)]
		}
		rows, err := tx.hot.stmt(fmt.Sprintf("dedupe/%d", padded)).QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("store: dedupe: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k []byte
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				return fmt.Errorf("store: dedupe: %w", err)
			}
			out[string(k)] = id
		}
		return rows.Err()
	})
	return out, err
}

// loadCalls reads the calls of keys not yet in st.
func (sqliteDialect) loadCalls(ctx context.Context, tx *Tx, st *ingestState, keys []callKey) error {
	var todo []callKey
	seen := map[callKey]bool{}
	for _, k := range keys {
		if k.id != "" && !seen[k] && st.calls[k] == nil {
			seen[k] = true
			todo = append(todo, k)
		}
	}
	return lookupChunks(len(todo), func(start, size, padded int) error {
		args := make([]any, 0, 3*padded)
		for i := 0; i < padded; i++ {
			k := todo[start+min(i, size-1)]
			args = append(args, k.id, k.channel, k.provider)
		}
		rows, err := tx.hot.stmt(fmt.Sprintf("calls/%d", padded)).QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("store: find calls: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCall(rows)
			if err != nil {
				return err
			}
			s := callState(c)
			st.calls[callKey{c.ChannelID, c.Provider, c.ProviderCallID}] = s
			st.rows[s] = c
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find calls: %w", err)
		}
		return nil
	})
}

// loadAlerts reads the alerts of the calls in st not yet loaded.
func (sqliteDialect) loadAlerts(ctx context.Context, tx *Tx, st *ingestState) error {
	var ids []any
	seen := map[int64]bool{}
	for _, c := range st.calls {
		if c.AlertID != 0 && st.alerts[c.AlertID] == nil && !seen[c.AlertID] {
			seen[c.AlertID] = true
			ids = append(ids, c.AlertID)
		}
	}
	for start := 0; start < len(ids); start += multiRowLimit {
		part := ids[start:min(len(ids), start+multiRowLimit)]
		rows, err := tx.QueryContext(ctx, "SELECT id, title, message, state FROM alerts WHERE id IN ("+placeholders(len(part))+")", part...)
		if err != nil {
			return fmt.Errorf("store: find alerts: %w", err)
		}
		for rows.Next() {
			a := &voice.AlertSnapshot{}
			var state string
			if err := rows.Scan(&a.ID, &a.Title, &a.Message, &state); err != nil {
				rows.Close()
				return fmt.Errorf("store: find alerts: %w", err)
			}
			a.State = voice.AlertState(state)
			st.alerts[a.ID] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find alerts: %w", err)
		}
	}
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

type rowScanner interface{ Scan(dest ...any) error }

func scanCall(r rowScanner) (*Call, error) {
	var (
		c                      Call
		next, created, updated any
	)
	if err := r.Scan(&c.ID, &c.ChannelID, &c.AlertID, &c.Provider, &c.ProviderCallID, &c.Direction, &c.From, &c.To,
		&c.Message, &c.Status, &c.DurationS, &c.MOS, &c.PollAttempts, &next, &created, &updated); err != nil {
		return nil, err
	}
	var err error
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
		return nil, fmt.Errorf("store: read call: %w", err)
	}
	return &c, nil
}

func (sqliteDialect) findCall(ctx context.Context, tx *Tx, channelID, prov, providerCallID string) (*Call, error) {
	c, err := scanCall(tx.hot.stmt("findCall").QueryRowContext(ctx, providerCallID, channelID, prov))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call: %w", err)
	}
	return c, nil
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
