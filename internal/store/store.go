// Package store keeps callhook's data in SQLite through bun. Reads use a
// pool of connections; every write goes through one writer goroutine that
// batches waiting jobs into one transaction (group commit), each job in its
// own savepoint, and tells each job only after the commit is durable.
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

	"callhook/migrations"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique value is taken.
var ErrConflict = errors.New("already exists")

// ErrInvalid marks a bad filter or argument.
var ErrInvalid = errors.New("invalid")

// ErrUnavailable wraps errors of the database itself (cannot begin, write or commit).
var ErrUnavailable = errors.New("database unavailable")

// Store is the database.
type Store struct {
	db  *bun.DB // readers
	wdb *bun.DB // the one writer connection
	log *slog.Logger

	jobs     chan *job
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	onCommit func([]FeedItem)
	// failCommit, when set (tests only), makes the next commits fail.
	failCommit func() error
	// hot are the writer's prepared statements (writer goroutine only).
	hot   hotStmts
	cache readCache

	statsMu sync.Mutex
	stats   []Stat
	statsAt time.Time
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	// MaxBatch bounds how many jobs share one transaction (default 256).
	MaxBatch int
}

// Open opens the database named by dsn: "sqlite://PATH" (or a bare path).
// The folder of PATH is created. Migrations are not applied; call Migrate.
func Open(dsn string, opt Options) (*Store, error) {
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
	wsql, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
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
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		db:   bun.NewDB(rsql, sqlitedialect.New()),
		wdb:  bun.NewDB(wsql, sqlitedialect.New()),
		log:  log,
		jobs: make(chan *job, 1024),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	maxBatch := opt.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 256
	}
	go s.writer(maxBatch)
	return s, nil
}

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
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", fmt.Errorf("store: postgres is not supported by this build yet; use sqlite://PATH")
	case strings.Contains(dsn, "://"):
		return "", fmt.Errorf("store: unknown database URL scheme in %q (want sqlite://PATH)", dsn)
	}
	return dsn, nil
}

// SetOnCommit sets the hook that receives the feed rows of every committed
// batch, in sequence order. Call it before the first write.
func (s *Store) SetOnCommit(fn func([]FeedItem)) { s.onCommit = fn }

func (s *Store) migrator() (*migrate.Migrator, error) {
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return nil, err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
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
	s.hot.close()
	return errors.Join(s.db.Close(), s.wdb.Close())
}

// Tx is the write transaction a job runs in.
type Tx struct {
	bun.Tx
	feed []FeedItem
	hot  *txHot
}

// Publish queues a feed row. The rows of a whole batch are inserted in one
// statement just before the commit and handed to OnCommit after it.
func (tx *Tx) Publish(_ context.Context, item FeedItem) error {
	if item.CreatedAt.IsZero() {
		item.CreatedAt = time.Now().UTC()
	}
	if item.Data == "" {
		item.Data = "{}"
	}
	tx.feed = append(tx.feed, item)
	return nil
}

// insertFeed inserts feed rows in one statement and sets their sequence
// numbers. The single writer makes AUTOINCREMENT values of one multi-row
// insert contiguous, ending at the last insert id.
func insertFeed(ctx context.Context, tx bun.Tx, feed []FeedItem) error {
	if len(feed) == 0 {
		return nil
	}
	for i := range feed {
		feed[i].Seq = 0
	}
	if _, err := tx.NewInsert().Model(&feed).ExcludeColumn("seq").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert feed: %w", err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT last_insert_rowid()").Scan(&last); err != nil {
		return fmt.Errorf("store: feed seq: %w", err)
	}
	first := last - int64(len(feed)) + 1
	for i := range feed {
		feed[i].Seq = first + int64(i)
	}
	return nil
}

type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *Tx) error
	done chan error
}

// Write runs fn inside the shared write transaction and returns once the
// transaction is committed (nil) or failed. An error returned by fn rolls back
// only fn's own changes; a failed commit returns an error wrapping ErrUnavailable.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
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
	// Wait for the result even if ctx ends: the job may already be in a
	// transaction and the caller must not report it as lost when it commits.
	return <-j.done
}

func (s *Store) writer(maxBatch int) {
	defer close(s.done)
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

func (s *Store) runBatch(batch []*job) {
	ctx := context.Background()
	fail := func(err error) {
		for _, j := range batch {
			j.done <- fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if s.hot == nil {
		h, err := prepareHot(ctx, s.wdb)
		if err != nil {
			fail(err)
			return
		}
		s.hot = h
	}
	btx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	hot := &txHot{ctx: ctx, tx: btx.Tx, stmts: s.hot, bound: map[string]*sql.Stmt{}}
	results := make([]error, len(batch))
	var feed []FeedItem
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := hot.stmt("savepoint").ExecContext(ctx); err != nil {
			results[i] = fmt.Errorf("%w: %v", ErrUnavailable, err)
			continue
		}
		tx := &Tx{Tx: btx, hot: hot}
		err := runJob(ctx, j, tx)
		if err != nil {
			if _, rerr := hot.stmt("rollback").ExecContext(ctx); rerr != nil {
				_ = btx.Rollback()
				fail(rerr)
				return
			}
		} else {
			feed = append(feed, tx.feed...)
		}
		if _, err := hot.stmt("release").ExecContext(ctx); err != nil {
			_ = btx.Rollback()
			fail(err)
			return
		}
		results[i] = err
	}
	if err := insertFeed(ctx, btx, feed); err != nil {
		_ = btx.Rollback()
		fail(err)
		return
	}
	if s.failCommit != nil {
		if err := s.failCommit(); err != nil {
			_ = btx.Rollback()
			fail(err)
			return
		}
	}
	if err := btx.Commit(); err != nil {
		_ = btx.Rollback()
		s.log.Error("commit failed", "err", err, "jobs", len(batch))
		fail(err)
		return
	}
	for i, j := range batch {
		j.done <- results[i]
	}
	if len(feed) > 0 && s.onCommit != nil {
		s.onCommit(feed)
	}
}

// runJob runs one job's function; a panic in it fails that job alone (its
// savepoint is rolled back) instead of ending the writer and every caller
// waiting on it.
func runJob(ctx context.Context, j *job, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write job panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return j.fn(ctx, tx)
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
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
