package store

import (
	"context"
	"time"

	"callhook/internal/voice"
)

// dialect is the part of the write path whose SQL differs between SQLite
// (sqlite.go) and PostgreSQL (postgres.go); Open chooses it from the URL.
// ingest.go decides the same way on both: only how rows are read, locked
// and written differs (docs/architecture.md, "The writer"; docs/scale-out.md).
type dialect interface {
	// prepare readies the writer's statements before its first batch.
	prepare(ctx context.Context, s *Store) (*hotStmts, error)
	// lockIngest takes whatever a group of callbacks needs so that another
	// process deciding the same callbacks or calls waits for this
	// transaction (PostgreSQL); SQLite's one writer needs nothing.
	lockIngest(ctx context.Context, tx *Tx, jobs []*ingestJob) error
	// lockAlert keeps an alert from changing under tx until it commits.
	lockAlert(ctx context.Context, tx *Tx, id int64) error
	insertCallbacks(ctx context.Context, tx *Tx, cbs []*Callback) error
	insertEvents(ctx context.Context, tx *Tx, evs []*Event) error
	// insertCalls inserts call rows and sets their ids; a call its channel
	// already has (same provider and provider call id) is ErrConflict.
	insertCalls(ctx context.Context, tx *Tx, calls []*Call) error
	saveCalls(ctx context.Context, tx *Tx, calls []*Call) error
	saveCall(ctx context.Context, tx *Tx, c *Call) error
	// insertFeed inserts a batch's feed rows last in its transaction and
	// sets their sequence numbers, which must follow commit order.
	insertFeed(ctx context.Context, tx *Tx, feed []voice.FeedItem) error
	dedupeLookup(ctx context.Context, tx *Tx, keys [][]byte) (map[string]int64, error)
	loadCalls(ctx context.Context, tx *Tx, st *ingestState, keys []callKey) error
	loadAlerts(ctx context.Context, tx *Tx, st *ingestState) error
	findCall(ctx context.Context, tx *Tx, channelID, prov, providerCallID string) (*Call, error)
	// dueForPoll returns calls due for a status poll; on a shared database
	// each due call goes to one process only.
	dueForPoll(ctx context.Context, s *Store, now time.Time, limit int) ([]Call, error)
	// retryable reports whether a failed transaction may succeed when run
	// again (a deadlock or a unique key taken by another process meanwhile).
	retryable(err error) bool
	// publishesOnCommit reports whether the writer hands committed feed rows
	// to OnCommit itself; otherwise a listener does (postgres_notify.go).
	publishesOnCommit() bool
	// soleWriter reports whether the writer is the database's only writer,
	// so what it committed may be remembered (callCache).
	soleWriter() bool
}

// sqliteDialect is SQLite's write path (sqlite.go).
type sqliteDialect struct{}

func (sqliteDialect) prepare(ctx context.Context, s *Store) (*hotStmts, error) {
	return prepareHot(ctx, s.wdb)
}

func (sqliteDialect) lockIngest(context.Context, *Tx, []*ingestJob) error { return nil }

func (sqliteDialect) lockAlert(context.Context, *Tx, int64) error { return nil }

func (sqliteDialect) retryable(error) bool { return false }

func (sqliteDialect) publishesOnCommit() bool { return true }

func (sqliteDialect) soleWriter() bool { return true }

func (sqliteDialect) dueForPoll(ctx context.Context, s *Store, now time.Time, limit int) ([]Call, error) {
	var out []Call
	err := s.db.NewSelect().Model(&out).Where("next_poll_at IS NOT NULL AND next_poll_at <= ?", now).
		Order("next_poll_at").Limit(int64(limit)).Scan(ctx)
	return out, err
}

// The Tx methods the rest of the package calls, each the dialect's.

func (tx *Tx) insertCallbacks(ctx context.Context, cbs []*Callback) error {
	return tx.d.insertCallbacks(ctx, tx, cbs)
}

func (tx *Tx) insertEvents(ctx context.Context, evs []*Event) error {
	return tx.d.insertEvents(ctx, tx, evs)
}

func (tx *Tx) insertEvent(ctx context.Context, ev *Event) error {
	return tx.d.insertEvents(ctx, tx, []*Event{ev})
}

func (tx *Tx) insertCall(ctx context.Context, c *Call) error {
	return tx.d.insertCalls(ctx, tx, []*Call{c})
}

func (tx *Tx) insertCalls(ctx context.Context, calls []*Call) error {
	return tx.d.insertCalls(ctx, tx, calls)
}

func (tx *Tx) saveCalls(ctx context.Context, calls []*Call) error {
	return tx.d.saveCalls(ctx, tx, calls)
}

func (tx *Tx) saveCall(ctx context.Context, c *Call) error { return tx.d.saveCall(ctx, tx, c) }

func (tx *Tx) dedupeLookup(ctx context.Context, keys [][]byte) (map[string]int64, error) {
	return tx.d.dedupeLookup(ctx, tx, keys)
}

func (tx *Tx) loadCalls(ctx context.Context, st *ingestState, keys []callKey) error {
	return tx.d.loadCalls(ctx, tx, st, keys)
}

func (tx *Tx) loadAlerts(ctx context.Context, st *ingestState) error {
	return tx.d.loadAlerts(ctx, tx, st)
}

func (tx *Tx) findCall(ctx context.Context, channelID, prov, providerCallID string) (*Call, error) {
	return tx.d.findCall(ctx, tx, channelID, prov, providerCallID)
}
