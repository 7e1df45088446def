// Package store keeps callhook's data in SQLite (the default) or PostgreSQL
// (several instances, docs/scale-out.md) through bun. Reads use a pool of
// connections; every write goes through one writer goroutine per process
// that batches waiting jobs into one transaction (group commit) and tells
// each job only after the commit is durable.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"callhook/internal/voice"
	"callhook/migrations"
)

// The store's errors are the domain's kinds (voice.ErrNotFound and the
// rest), named here for its callers' convenience.
var (
	// ErrNotFound is returned when a row does not exist.
	ErrNotFound = voice.ErrNotFound
	// ErrConflict is returned when a unique value is taken.
	ErrConflict = voice.ErrConflict
	// ErrInvalid marks a bad filter or argument.
	ErrInvalid = voice.ErrInvalid
	// ErrUnavailable wraps errors of the database itself (cannot begin, write or commit).
	ErrUnavailable = voice.ErrUnavailable
)

// Store is the database.
type Store struct {
	db  *bun.DB // readers
	wdb *bun.DB // the one writer connection
	log *slog.Logger
	d   dialect
	// migrations are the dialect's SQL files (bun migrate naming).
	migrations fs.FS
	// listener delivers committed feed rows of every process (PostgreSQL).
	listener *feedListener

	jobs chan *job
	stop chan struct{}
	done chan struct{}
	// ckpt is the checkpointer's connection (SQLite); ckptDone closes when
	// it has stopped.
	ckpt     *sql.DB
	ckptDone chan struct{}
	// pub carries committed feed rows, in commit order, from the writer to
	// the publisher goroutine, so OnCommit's work is not the writer's.
	pub      chan []voice.FeedItem
	pubDone  chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	onCommit func([]voice.FeedItem)
	// observe, when set, is told of every committed transaction (metrics).
	observe func(CommitStats)
	// failCommit, when set (tests only), makes the next commits fail.
	failCommit func() error
	// hot are the writer's prepared statements (writer goroutine only).
	hot   *hotStmts
	reads readStmts
	cache readCache
	// calls are the calls in progress as last committed (writer goroutine
	// only; nil where other processes write too).
	calls *callCache
	// writerRaised is whether the writer runs on a thread of its own at a
	// raised scheduling priority (Options.RaiseWriter, priority.go).
	writerRaised bool

	statsMu sync.Mutex
	stats   []voice.Stat
	statsAt time.Time
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	// MaxBatch bounds how many jobs share one transaction (default 256).
	MaxBatch int
	// RaiseWriter runs SQLite's writer on an OS thread of its own at a
	// raised scheduling priority where the process may raise it
	// (priority.go); WriterRaised tells whether it did.
	RaiseWriter bool
}

// Open opens the database named by dsn: "sqlite://PATH" (or a bare path;
// the folder of PATH is created) or "postgres://…" (docs/scale-out.md).
// Migrations are not applied; call Migrate.
func Open(dsn string, opt Options) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(dsn, opt)
	}
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" && path != ":memory:" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create folder: %w", err)
		}
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	// The writer checkpoints only as a backstop (walBackstopPages); the
	// checkpointer goroutine does it on a connection of its own.
	wsql, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate&_pragma=temp_store(MEMORY)"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walBackstopPages))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	rsql, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	rsql.SetMaxOpenConns(8)
	rsql.SetMaxIdleConns(8) // reopening a connection re-runs every pragma
	if err := wsql.Ping(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	csql, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	csql.SetMaxOpenConns(1)
	s := newStore(bun.NewDB(rsql, sqlitedialect.New()), bun.NewDB(wsql, sqlitedialect.New()), sqliteDialect{}, sub, opt)
	s.ckpt = csql
	s.ckptDone = make(chan struct{})
	go s.checkpointer(csql, checkpointEvery)
	return s, nil
}

// SQLite copies the write-ahead log back into the database file in a
// checkpoint. Left to the writer (every 1,000 pages by default), that copy
// and its two fsyncs were a seventh of the writer's time on a database of a
// million callbacks. A goroutine on its own connection checkpoints instead,
// beside the writer (PASSIVE: it never waits for the writer or a reader);
// the writer still checkpoints if the log reaches walBackstopPages, should
// the checkpointer fall behind (docs/architecture.md, "The writer").
const (
	checkpointEvery  = 100 * time.Millisecond
	walBackstopPages = 16384 // 64 MiB of 4 KiB pages
)

func (s *Store) checkpointer(db *sql.DB, every time.Duration) {
	defer close(s.ckptDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		err := safely("checkpoint", func() error {
			_, err := db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return err
		})
		if err != nil {
			s.log.Warn("checkpoint failed", "err", err)
		}
	}
}

// newStore starts the writer of a store on opened databases.
func newStore(rdb, wdb *bun.DB, d dialect, migs fs.FS, opt Options) *Store {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		db:         rdb,
		wdb:        wdb,
		log:        log,
		d:          d,
		migrations: migs,
		jobs:       make(chan *job, 1024),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		pub:        make(chan []voice.FeedItem, 256),
		pubDone:    make(chan struct{}),
	}
	s.reads = readStmts{db: rdb.DB}
	if d.soleWriter() {
		s.calls = newCallCache()
	}
	go s.publisher()
	maxBatch := opt.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 256
	}
	var raised chan error
	if opt.RaiseWriter && d.soleWriter() {
		raised = make(chan error, 1)
	}
	go s.writer(maxBatch, raised)
	if raised != nil {
		if err := <-raised; err != nil {
			log.Info("the writer runs at the usual priority: it needs Linux 6.12 or CAP_SYS_NICE (docs/architecture.md, \"The writer\")", "err", err)
		} else {
			s.writerRaised = true
		}
	}
	return s
}

// WriterRaised tells whether the writer runs on a thread of its own at a
// raised scheduling priority (Options.RaiseWriter).
func (s *Store) WriterRaised() bool { return s.writerRaised }

func sqlitePath(dsn string) (string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		p := strings.TrimPrefix(dsn, "sqlite://")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return "", fmt.Errorf("store: %q names no file", dsn)
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		return p, nil
	case strings.Contains(dsn, "://"):
		return "", fmt.Errorf("store: unknown database URL scheme in %q (want sqlite://PATH or postgres://…)", dsn)
	}
	return dsn, nil
}

// CommitStats describe one committed write transaction.
type CommitStats struct {
	// Duration is from the transaction's begin to its durable commit.
	Duration time.Duration
	// Jobs is how many writes (callbacks and others) the transaction held.
	Jobs int
}

// SetCommitObserver sets fn, which the writer calls after every commit (the
// metrics' commit latency and batch size). Call it before the first write:
// the writer reads it without a lock.
func (s *Store) SetCommitObserver(fn func(CommitStats)) {
	s.observe = fn
}

// SetOnCommit sets the hook that receives the feed rows of every committed
// batch, in sequence order. Call it before the first write, after Migrate.
// On PostgreSQL the hook receives the rows every process commits, from a
// listener (postgres_notify.go); it fails if the listener cannot start.
func (s *Store) SetOnCommit(fn func([]voice.FeedItem)) error {
	s.onCommit = fn
	if s.d.publishesOnCommit() || fn == nil {
		return nil
	}
	l, err := startFeedListener(s, fn)
	if err != nil {
		return err
	}
	s.listener = l
	return nil
}

func (s *Store) migrator() (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(s.migrations); err != nil {
		return nil, fmt.Errorf("store: discover migrations: %w", err)
	}
	return migrate.NewMigrator(s.wdb, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies the embedded migrations not yet applied. It returns the
// names of those it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	m, err := s.migrator()
	if err != nil {
		return nil, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("store: init migrations: %w", err)
	}
	g, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var names []string
	for _, mg := range g.Migrations {
		names = append(names, mg.Name)
	}
	return names, nil
}

// Ready reports an error unless the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	m, err := s.migrator()
	if err != nil {
		return err
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return fmt.Errorf("store: migration status: %w", err)
	}
	if n := len(ms.Unapplied()); n > 0 {
		return fmt.Errorf("store: %d migrations not applied", n)
	}
	return nil
}

// Close stops the writer after the jobs already queued and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.closeMu.Unlock()
	<-s.done
	close(s.pub)
	<-s.pubDone
	if s.ckpt != nil {
		<-s.ckptDone
		s.ckpt.Close()
	}
	s.hot.close()
	s.reads.close()
	if s.listener != nil {
		s.listener.close()
	}
	return errors.Join(s.db.Close(), s.wdb.Close())
}

// Tx is the write transaction a job runs in.
type Tx struct {
	bun.Tx
	feed []voice.FeedItem
	hot  *txHot
	d    dialect
	// calls is the writer's cache of calls in progress (callCache), nil
	// when it may not be used; touched are the call rows the transaction
	// read or wrote, remembered there once it commits.
	calls   *callCache
	touched []*Call
}

// Publish queues a feed row. The rows of a whole batch are inserted in one
// statement just before the commit and handed to OnCommit after it.
func (tx *Tx) Publish(_ context.Context, item voice.FeedItem) error {
	tx.publish(item)
	return nil
}

func (tx *Tx) publish(item voice.FeedItem) {
	if item.CreatedAt.IsZero() {
		item.CreatedAt = time.Now().UTC()
	}
	if item.Data == "" {
		item.Data = "{}"
	}
	tx.feed = append(tx.feed, item)
}

type job struct {
	ctx context.Context
	// fn is a write of its own; ingest a callback, which the writer commits
	// together with the callbacks queued next to it.
	fn     func(ctx context.Context, tx *Tx) error
	ingest *ingestJob
	done   chan error
}

// Write runs fn inside the shared write transaction and returns once the
// transaction is committed (nil) or failed. An error returned by fn rolls back
// only fn's own changes; a failed commit returns an error wrapping ErrUnavailable.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := s.enqueue(ctx, j); err != nil {
		return err
	}
	// Wait for the result even if ctx ends: the job may already be in a
	// transaction and the caller must not report it as lost when it commits.
	return <-j.done
}

// enqueue hands j to the writer.
func (s *Store) enqueue(ctx context.Context, j *job) error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return fmt.Errorf("%w: store is closed", ErrUnavailable)
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	return nil
}

// writer runs every write (group commit). Given raised, it first takes an
// OS thread of its own at a raised priority (raiseOwnThread) and tells
// raised how that went.
func (s *Store) writer(maxBatch int, raised chan<- error) {
	defer close(s.done)
	if raised != nil {
		undo, err := raiseOwnThread()
		if err == nil {
			defer undo()
		}
		raised <- err
	}
	for {
		var first *job
		select {
		case first = <-s.jobs:
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case j := <-s.jobs:
					s.runBatch([]*job{j})
				default:
					return
				}
			}
		}
		batch := []*job{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

// runBatch commits a batch of jobs in one transaction. Jobs run without
// savepoints (a savepoint makes SQLite copy every page a job touches into a
// statement journal, measured as the largest single cost of the write path):
// if any job fails, the whole transaction is rolled back and every job of
// the batch is run again in a transaction of its own, so a job that fails
// never takes an innocent one with it (docs/architecture.md, "The writer").
func (s *Store) runBatch(batch []*job) {
	ctx := context.Background()
	if s.hot == nil {
		h, err := s.d.prepare(ctx, s)
		if err != nil {
			s.failAll(batch, err)
			return
		}
		s.hot = h
	}
	live := batch[:0:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- err
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	feed, jobErr, err := s.commit(ctx, live)
	// Another process may have taken a key or a lock this batch needed
	// (PostgreSQL, docs/scale-out.md): the batch is decided again on what
	// that process committed.
	for try := 0; err != nil && !errors.Is(err, errJob) && s.d.retryable(err) && try < 5; try++ {
		s.log.Debug("commit retried", "err", err, "jobs", len(live))
		feed, jobErr, err = s.commit(ctx, live)
	}
	switch {
	case errors.Is(err, errJob):
		// A batch of one whose job failed: the job was told.
	case err != nil:
		s.log.Error("commit failed", "err", err, "jobs", len(live))
		s.failAll(live, err)
	case jobErr:
		// One job failed: nothing of the batch was committed. Run each job
		// alone so that only the failing one reports its error.
		for _, j := range live {
			feed, _, err := s.commit(ctx, []*job{j})
			for try := 0; err != nil && !errors.Is(err, errJob) && s.d.retryable(err) && try < 5; try++ {
				feed, _, err = s.commit(ctx, []*job{j})
			}
			if err != nil && !errors.Is(err, errJob) {
				s.failAll([]*job{j}, err)
				continue
			}
			s.publish(feed)
		}
	default:
		s.publish(feed)
	}
}

// errJob marks a transaction rolled back because one of its jobs failed.
var errJob = errors.New("store: a job failed")

// commit runs jobs in one transaction and commits it. If a job fails the
// transaction is rolled back and jobFailed is true; with a single job, that
// job is told its error. On success every job is told nil. err is set when
// the database itself failed (begin, the feed insert or the commit); no job
// is told anything then.
func (s *Store) commit(ctx context.Context, jobs []*job) (feed []voice.FeedItem, jobFailed bool, err error) {
	began := time.Now()
	btx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	hot := &txHot{ctx: ctx, tx: btx.Tx, stmts: s.hot, bound: map[*sql.Stmt]*sql.Stmt{}}
	tx := &Tx{Tx: btx, hot: hot, d: s.d, calls: s.calls}
	for _, j := range jobs {
		if j.ingest == nil {
			// Another write may change calls unseen: the cache starts again.
			s.calls.forget()
			break
		}
	}
	// Whatever fails below, the rows changed in memory were not committed.
	committed := false
	defer func() {
		if !committed {
			s.calls.forget()
		}
	}()
	fail := func(j *job, jerr error) (bool, error) {
		_ = btx.Rollback()
		if s.d.retryable(jerr) {
			return false, jerr
		}
		if len(jobs) == 1 {
			j.done <- jerr
			return true, errJob
		}
		return true, nil
	}
	// Other writes run first, one by one in queue order, then every
	// callback of the batch is decided and written as one group. Jobs of
	// one batch were all waiting at once, so no caller has seen another's
	// result and any order among them is one the callers could have seen;
	// keeping callbacks together keeps the group's reads and inserts to one
	// statement each however other writes interleave with them.
	var group []*ingestJob
	for _, j := range jobs {
		if j.ingest != nil {
			group = append(group, j.ingest)
			continue
		}
		if jerr := safely("write job", func() error { return j.fn(ctx, tx) }); jerr != nil {
			failed, ferr := fail(j, jerr)
			return nil, failed, ferr
		}
	}
	if len(group) > 0 {
		if err := safely("ingest", func() error { return tx.ingestGroup(ctx, group) }); err != nil {
			failed, ferr := fail(jobs[0], err)
			return nil, failed, ferr
		}
	}
	feed = tx.feed
	if err := s.d.insertFeed(ctx, tx, feed); err != nil {
		_ = btx.Rollback()
		return nil, false, err
	}
	if s.failCommit != nil {
		if err := s.failCommit(); err != nil {
			_ = btx.Rollback()
			return nil, false, err
		}
	}
	if err := btx.Commit(); err != nil {
		_ = btx.Rollback()
		return nil, false, err
	}
	committed = true
	s.calls.keep(tx.touched)
	if s.observe != nil {
		s.observe(CommitStats{Duration: time.Since(began), Jobs: len(jobs)})
	}
	for _, j := range jobs {
		j.done <- nil
	}
	return feed, false, nil
}

func (s *Store) failAll(jobs []*job, err error) {
	for _, j := range jobs {
		j.done <- fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}

func (s *Store) publish(feed []voice.FeedItem) {
	if len(feed) > 0 && s.onCommit != nil && s.d.publishesOnCommit() {
		s.pub <- feed
	}
}

// publisher hands committed feed rows to OnCommit in commit order. The
// writer only queues them: encoding and fanning out the rows (the hub) cost
// the writer a twelfth of its time when it did it itself.
func (s *Store) publisher() {
	defer close(s.pubDone)
	for feed := range s.pub {
		if err := safely("publish", func() error { s.onCommit(feed); return nil }); err != nil {
			s.log.Error("publishing committed rows failed", "err", err)
		}
	}
}

// safely runs fn, one step of the store's own goroutines (the writer, the
// publisher, the checkpointer); a panic in it becomes an error (on the
// writer: failing fn's transaction) instead of ending the goroutine and
// every caller waiting on it.
func safely(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: %s panicked: %v\n%s", what, r, debug.Stack())
		}
	}()
	return fn()
}

// SetFailCommit makes every commit fail with the error fn returns while fn
// is set and returns non-nil. It exists for tests of the failure path.
func (s *Store) SetFailCommit(fn func() error) {
	done := make(chan error, 1)
	s.jobs <- &job{ctx: context.Background(), done: done, fn: func(context.Context, *Tx) error {
		s.failCommit = fn
		return nil
	}}
	<-done
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || isPGCode(err, "23505"))
}
