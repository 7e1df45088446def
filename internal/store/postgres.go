package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"callhook/internal/voice"
	"callhook/migrations"
)

// The write path's SQL for PostgreSQL, in one place (docs/scale-out.md).
// Several callhook processes write to one database, each with its own
// writer and group commit, so unlike SQLite (sqlite.go):
//   - ids come from RETURNING, never from counting: another process inserts
//     between our rows' ids;
//   - a group of callbacks first takes a transaction-level advisory lock per
//     dedupe key and per call it names (sorted, so two processes lock in the
//     same order), then reads its calls and their alerts FOR UPDATE: two
//     processes receiving callbacks of one call at the same moment decide
//     one after the other, each on what the other committed;
//   - the feed rows are inserted last, under one advisory lock held until
//     the commit, so feed sequence numbers follow commit order across every
//     process and a reader resuming after seq N misses nothing. The same
//     transaction NOTIFYs the rows (postgres_notify.go).
// Statements are rendered by bun (values inlined), one per chunk of rows.

// Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
const (
	lockFeed   = 7301 // one lock: the feed's insert order
	lockIngest = 7302 // one per dedupe key or call, hashed
)

// pgChunk bounds the rows of one rendered statement.
const pgChunk = 500

// feedChannel is the NOTIFY channel of committed feed rows.
const feedChannel = "callhook_feed"

type postgresDialect struct{}

// openPostgres opens a PostgreSQL database. Readers and the writer are two
// pools on one server; the writer needs one connection for its
// transactions, a second for claims of the poller.
func openPostgres(dsn string, opt Options) (*Store, error) {
	open := func(n int) (*bun.DB, error) {
		sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithTimeout(30*time.Second)))
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		if err := sqldb.Ping(); err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		return bun.NewDB(sqldb, pgdialect.New()), nil
	}
	wdb, err := open(2)
	if err != nil {
		return nil, err
	}
	rdb, err := open(10)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	sub, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	s := newStore(rdb, wdb, postgresDialect{}, sub, opt)
	return s, nil
}

func (postgresDialect) prepare(context.Context, *Store) (*hotStmts, error) {
	return &hotStmts{named: map[string]*sql.Stmt{}}, nil
}

func (postgresDialect) publishesOnCommit() bool { return false }

func (postgresDialect) soleWriter() bool { return false }

// isPGCode reports whether err is a PostgreSQL error with one of codes.
func isPGCode(err error, codes ...string) bool {
	var pe pgdriver.Error
	if !errors.As(err, &pe) {
		return false
	}
	c := pe.Field('C')
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// retryable: a deadlock between two processes' locks, a serialization
// failure, or a unique key another process committed first.
func (postgresDialect) retryable(err error) bool {
	return isPGCode(err, "40P01", "40001", "23505")
}

func lockHash(parts ...string) int32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int32(h.Sum32())
}

func (postgresDialect) lockIngest(ctx context.Context, tx *Tx, jobs []*ingestJob) error {
	seen := map[int32]bool{}
	var keys []int32
	add := func(k int32) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, j := range jobs {
		if len(j.in.DedupeKey) > 0 {
			add(lockHash("dedupe", string(j.in.DedupeKey)))
		}
		for _, e := range j.in.Events {
			for _, id := range []string{e.CallID, e.AltCallID} {
				if id != "" {
					add(lockHash("call", j.in.Channel.ID, j.in.Provider, id))
				}
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
	for start := 0; start < len(keys); start += pgChunk {
		part := keys[start:min(len(keys), start+pgChunk)]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		q := "SELECT count(pg_advisory_xact_lock(" + fmt.Sprint(lockIngest) + ", k)) FROM (SELECT k FROM (VALUES " +
			strings.TrimSuffix(strings.Repeat("(?::int), ", len(part)), ", ") + ") AS v(k) ORDER BY k) AS s"
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: lock callbacks: %w", err)
		}
	}
	return nil
}

func (postgresDialect) lockAlert(ctx context.Context, tx *Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, "SELECT 1 FROM alerts WHERE id = ? FOR UPDATE", id); err != nil {
		return fmt.Errorf("store: lock alert: %w", err)
	}
	return nil
}

// pgInsert inserts rows of columns into table in chunks and hands each row
// its id, read back with RETURNING: ids of one statement are drawn in row
// order, so the sorted ids are the rows' ids in order.
func pgInsert(ctx context.Context, tx *Tx, table, columns, idCol string, n int, args func(i int) []any, setID func(i int, id int64)) error {
	return pgInsertSuffix(ctx, tx, table, columns, "", idCol, n, args, setID)
}

// errFewerRows is a multi-row insert that inserted fewer rows than given
// (ON CONFLICT DO NOTHING skipped some).
var errFewerRows = errors.New("fewer rows inserted than given")

// pgInsertSuffix is pgInsert with a clause (ON CONFLICT …) before RETURNING.
func pgInsertSuffix(ctx context.Context, tx *Tx, table, columns, suffix, idCol string, n int, args func(i int) []any, setID func(i int, id int64)) error {
	ncol := strings.Count(columns, ",") + 1
	one := "(" + placeholders(ncol) + ")"
	for start := 0; start < n; start += pgChunk {
		size := min(pgChunk, n-start)
		all := make([]any, 0, size*ncol)
		for i := start; i < start+size; i++ {
			all = append(all, args(i)...)
		}
		q := "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", size), ", ") +
			" " + suffix + " RETURNING " + idCol
		rows, err := tx.QueryContext(ctx, q, all...)
		if err != nil {
			return fmt.Errorf("store: insert into %s: %w", table, err)
		}
		ids := make([]int64, 0, size)
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: insert into %s: %w", table, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: insert into %s: %w", table, err)
		}
		if len(ids) != size {
			return fmt.Errorf("store: insert into %s: %d ids for %d rows: %w", table, len(ids), size, errFewerRows)
		}
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
		for i, id := range ids {
			setID(start+i, id)
		}
	}
	return nil
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func (postgresDialect) insertCallbacks(ctx context.Context, tx *Tx, cbs []*Callback) error {
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
			optInt(cb.ReplayOf), cb.RemoteAddr, cb.SecretOK, cb.ReceivedAt.UTC(), key}
	}
	return pgInsert(ctx, tx, "callbacks", callbackColumns, "id", len(cbs), func(i int) []any { return args[i] },
		func(i int, id int64) { cbs[i].ID = id })
}

func (postgresDialect) insertEvents(ctx context.Context, tx *Tx, evs []*Event) error {
	args := make([][]any, len(evs))
	for i, ev := range evs {
		raw, err := ev.rawText()
		if err != nil {
			return fmt.Errorf("store: insert event: %w", err)
		}
		args[i] = []any{ev.CallbackID, optInt(ev.CallID), ev.ChannelID, ev.Provider, ev.ProviderCallID, ev.EventType,
			ev.Status, ev.Digit, ev.Action, ev.Applied, ev.Native, ev.Message, ev.Seq, optTime(ev.OccurredAt),
			ev.ReceivedAt.UTC(), raw}
	}
	return pgInsert(ctx, tx, "events", eventColumns, "id", len(evs), func(i int) []any { return args[i] },
		func(i int, id int64) { evs[i].ID = id })
}

// insertCalls inserts call rows in one statement. A call taken meanwhile
// by another process is left out by ON CONFLICT DO NOTHING rather than
// aborting the transaction, and reported as ErrConflict.
func (postgresDialect) insertCalls(ctx context.Context, tx *Tx, calls []*Call) error {
	err := pgInsertSuffix(ctx, tx, "calls", newCallColumns, "ON CONFLICT DO NOTHING", "id", len(calls), func(i int) []any {
		c := calls[i]
		return []any{c.ChannelID, optInt(c.AlertID), c.Provider, c.ProviderCallID, c.Direction, c.From, c.To, c.Message,
			c.Status, c.DurationS, c.MOS, c.PollAttempts, optTime(c.NextPollAt), c.CreatedAt.UTC(), c.UpdatedAt.UTC()}
	}, func(i int, id int64) { calls[i].ID = id })
	if errors.Is(err, errFewerRows) {
		return fmt.Errorf("call %s/%s: %w", calls[0].Provider, calls[0].ProviderCallID, ErrConflict)
	}
	return err
}

func (postgresDialect) saveCalls(ctx context.Context, tx *Tx, calls []*Call) error {
	const row = "(?::bigint, ?::text, ?::double precision, ?::double precision, ?::text, ?::text, ?::timestamptz, ?::timestamptz)"
	for start := 0; start < len(calls); start += pgChunk {
		part := calls[start:min(len(calls), start+pgChunk)]
		args := make([]any, 0, 8*len(part))
		for _, c := range part {
			args = append(args, c.ID, c.Status, c.DurationS, c.MOS, c.From, c.To, optTime(c.NextPollAt), c.UpdatedAt.UTC())
		}
		q := "UPDATE calls SET status = v.status, duration_s = v.duration_s, mos = v.mos, from_number = v.from_number, " +
			"to_number = v.to_number, next_poll_at = v.next_poll_at, updated_at = v.updated_at FROM (VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", len(part)), ", ") +
			") AS v(id, status, duration_s, mos, from_number, to_number, next_poll_at, updated_at) WHERE calls.id = v.id"
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: update calls: %w", err)
		}
	}
	return nil
}

func (postgresDialect) saveCall(ctx context.Context, tx *Tx, c *Call) error {
	if _, err := tx.ExecContext(ctx, "UPDATE calls SET status = ?, duration_s = ?, mos = ?, from_number = ?, to_number = ?, "+
		"next_poll_at = ?, updated_at = ? WHERE id = ?", c.Status, c.DurationS, c.MOS, c.From, c.To,
		optTime(c.NextPollAt), c.UpdatedAt.UTC(), c.ID); err != nil {
		return fmt.Errorf("store: update call: %w", err)
	}
	return nil
}

// insertFeed takes the feed lock, numbers the items after the newest,
// inserts their row and queues their NOTIFY. The lock is held until the
// commit, so the next process's items get larger numbers and commit after
// these: number order is commit order.
func (postgresDialect) insertFeed(ctx context.Context, tx *Tx, feed []voice.FeedItem) error {
	if len(feed) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, 0)", lockFeed); err != nil {
		return fmt.Errorf("store: lock feed: %w", err)
	}
	last, err := lastSeq(ctx, tx)
	if err != nil {
		return err
	}
	r := feedRow{Seq: last + 1, Last: last + int64(len(feed)), Items: string(appendFeed(nil, feed, last)),
		CreatedAt: feed[len(feed)-1].CreatedAt}
	if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert into feed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", feedChannel, notifyPayload(feed)); err != nil {
		return fmt.Errorf("store: notify feed: %w", err)
	}
	return nil
}

func (postgresDialect) dedupeLookup(ctx context.Context, tx *Tx, keys [][]byte) (map[string]int64, error) {
	out := map[string]int64{}
	for start := 0; start < len(keys); start += pgChunk {
		part := keys[start:min(len(keys), start+pgChunk)]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		rows, err := tx.QueryContext(ctx, "SELECT dedupe_key, id FROM callbacks WHERE dedupe_key IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("store: dedupe: %w", err)
		}
		for rows.Next() {
			var k []byte
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: dedupe: %w", err)
			}
			out[string(k)] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: dedupe: %w", err)
		}
	}
	return out, nil
}

// loadCalls reads and locks the calls of keys not yet in st, in id order.
func (postgresDialect) loadCalls(ctx context.Context, tx *Tx, st *ingestState, keys []callKey) error {
	var todo []callKey
	seen := map[callKey]bool{}
	for _, k := range keys {
		if k.id != "" && !seen[k] && st.calls[k] == nil {
			seen[k] = true
			todo = append(todo, k)
		}
	}
	for start := 0; start < len(todo); start += pgChunk {
		part := todo[start:min(len(todo), start+pgChunk)]
		args := make([]any, 0, 3*len(part))
		for _, k := range part {
			args = append(args, k.id, k.channel, k.provider)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+callColumns+" FROM calls WHERE (provider_call_id, channel_id, provider) IN (VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(part)), ", ")+") ORDER BY id FOR UPDATE", args...)
		if err != nil {
			return fmt.Errorf("store: find calls: %w", err)
		}
		for rows.Next() {
			c, err := scanCall(rows)
			if err != nil {
				rows.Close()
				return err
			}
			s := callState(c)
			st.calls[callKey{c.ChannelID, c.Provider, c.ProviderCallID}] = s
			st.rows[s] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: find calls: %w", err)
		}
	}
	return nil
}

// loadAlerts reads and locks the alerts of the calls in st, in id order.
func (postgresDialect) loadAlerts(ctx context.Context, tx *Tx, st *ingestState) error {
	var ids []int64
	seen := map[int64]bool{}
	for _, c := range st.calls {
		if c.AlertID != 0 && st.alerts[c.AlertID] == nil && !seen[c.AlertID] {
			seen[c.AlertID] = true
			ids = append(ids, c.AlertID)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	for start := 0; start < len(ids); start += pgChunk {
		part := ids[start:min(len(ids), start+pgChunk)]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, title, message, state FROM alerts WHERE id IN ("+placeholders(len(part))+
			") ORDER BY id FOR UPDATE", args...)
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

func (postgresDialect) findCall(ctx context.Context, tx *Tx, channelID, prov, providerCallID string) (*Call, error) {
	c, err := scanCall(tx.QueryRowContext(ctx, "SELECT "+callColumns+" FROM calls WHERE channel_id = ? AND provider = ? "+
		"AND provider_call_id = ? LIMIT 1 FOR UPDATE", channelID, prov, providerCallID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call: %w", err)
	}
	return c, nil
}

// pollLease is how long a claimed call is left to the process that claimed
// it before another may poll it (its poll writes the real next time).
const pollLease = time.Minute

// dueForPoll claims due calls: the rows are locked with SKIP LOCKED and
// their next poll moved a lease ahead in one statement, so two processes
// polling at the same moment get disjoint calls and each call is polled once.
// Each call is returned with the poll time it was due at, as on SQLite (the
// poller's lag metric), not the lease.
func (postgresDialect) dueForPoll(ctx context.Context, s *Store, now time.Time, limit int) ([]Call, error) {
	var out []Call
	rows, err := s.db.QueryContext(ctx, "UPDATE calls SET next_poll_at = ? FROM (SELECT id AS due_id, next_poll_at AS due_at FROM calls "+
		"WHERE next_poll_at IS NOT NULL AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ? FOR UPDATE SKIP LOCKED) AS due "+
		"WHERE calls.id = due.due_id RETURNING "+strings.Replace(callColumns, "next_poll_at", "due.due_at", 1),
		now.Add(pollLease).UTC(), now.UTC(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}
