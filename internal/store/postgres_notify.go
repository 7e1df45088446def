package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"callhook/internal/voice"
)

// On PostgreSQL every process's committed feed rows reach every process's
// live hub through LISTEN/NOTIFY (docs/scale-out.md): each transaction that
// inserts feed rows NOTIFYs them on feedChannel; PostgreSQL delivers
// notifications at commit, in commit order, which the feed lock makes
// sequence order. A process's own rows come back the same way, so a hub sees
// one ordered stream, each row once. A batch whose rows do not fit a
// notification (PostgreSQL's limit is 8000 bytes) is sent as its sequence
// range and read back from the feed table.

// maxNotify is the largest payload sent inline, under PostgreSQL's 8000 bytes.
const maxNotify = 7800

// notifyPayload is "i" and the rows as JSON, or "r" and the rows' first and
// last sequence numbers.
func notifyPayload(feed []voice.FeedItem) string {
	if b, err := json.Marshal(feed); err == nil && len(b)+1 <= maxNotify {
		return "i" + string(b)
	}
	return fmt.Sprintf("r%d,%d", feed[0].Seq, feed[len(feed)-1].Seq)
}

// feedListener hands the rows of every commit to OnCommit, in order.
type feedListener struct {
	s      *Store
	fn     func([]voice.FeedItem)
	ln     *pgdriver.Listener
	cancel context.CancelFunc
	done   chan struct{}
	// last is the newest sequence number handed on.
	last int64
	// hooksMu guards the hooks set after the listener started: lag observes
	// how long after its creation a row was handed on; wanted, when set and
	// false, means nobody in this process would receive the rows
	// (SetFeedWanted).
	hooksMu sync.Mutex
	lag     func(time.Duration)
	wanted  func() bool
}

// SetFeedWanted sets fn, which tells the listener whether anyone in this
// process receives committed rows now (PostgreSQL only). While fn reports
// false the listener notes the rows' sequence numbers without reading them
// back or handing them on: a batch too large to notify inline costs a read
// of the feed table in every process, and a subscriber that comes later
// reads what it missed from the table itself.
func (s *Store) SetFeedWanted(fn func() bool) {
	if s.listener != nil {
		s.listener.hooksMu.Lock()
		s.listener.wanted = fn
		s.listener.hooksMu.Unlock()
	}
}

func (l *feedListener) isWanted() bool {
	l.hooksMu.Lock()
	fn := l.wanted
	l.hooksMu.Unlock()
	return fn == nil || fn()
}

// skip notes the rows of a notification as handed on without reading them.
func (l *feedListener) skip(ctx context.Context, payload string) {
	if r, ok := strings.CutPrefix(payload, "r"); ok {
		if _, to, ok := strings.Cut(r, ","); ok {
			if b, err := strconv.ParseInt(to, 10, 64); err == nil {
				l.last = max(l.last, b)
				return
			}
		}
	}
	if strings.HasPrefix(payload, "i") {
		if items, ok := l.decode(payload); ok && len(items) > 0 {
			l.last = max(l.last, items[len(items)-1].Seq)
			return
		}
	}
	l.skipToNewest(ctx)
}

// skipToNewest notes every committed row as handed on.
func (l *feedListener) skipToNewest(ctx context.Context) {
	if seq, err := l.s.LastSeq(ctx); err == nil {
		l.last = max(l.last, seq)
	}
}

// SetNotifyLag sets the observer of the delay between a feed row's creation
// (on any process) and its delivery to this process's OnCommit; PostgreSQL only.
func (s *Store) SetNotifyLag(fn func(time.Duration)) {
	if s.listener != nil {
		s.listener.hooksMu.Lock()
		s.listener.lag = fn
		s.listener.hooksMu.Unlock()
	}
}

// startFeedListener listens before reading the newest sequence number, so
// no commit falls between the two.
func startFeedListener(s *Store, fn func([]voice.FeedItem)) (*feedListener, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &feedListener{s: s, fn: fn, ln: pgdriver.NewListener(s.db), cancel: cancel, done: make(chan struct{})}
	if err := l.ln.Listen(ctx, feedChannel); err != nil {
		cancel()
		l.ln.Close()
		return nil, fmt.Errorf("store: listen for feed: %w", err)
	}
	last, err := s.LastSeq(ctx)
	if err != nil {
		cancel()
		l.ln.Close()
		return nil, err
	}
	l.last = last
	go l.run(ctx)
	return l, nil
}

func (l *feedListener) close() {
	l.cancel()
	l.ln.Close()
	<-l.done
}

func (l *feedListener) run(ctx context.Context) {
	defer close(l.done)
	for {
		_, payload, err := l.ln.ReceiveTimeout(ctx, 30*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// A timeout or a lost connection (the listener reconnects):
			// whatever was notified meanwhile is in the feed table.
			if !strings.Contains(err.Error(), "timeout") {
				l.s.log.Warn("feed listener", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
			l.catchUp(ctx)
			continue
		}
		if !l.isWanted() {
			l.skip(ctx, payload)
			continue
		}
		items, ok := l.decode(payload)
		if !ok || len(items) == 0 {
			l.catchUp(ctx)
			continue
		}
		if items[0].Seq > l.last+1 {
			// A gap: a sequence number skipped by a rolled-back insert, or
			// a notification missed. The table says which.
			l.catchUp(ctx)
		}
		l.deliver(items)
	}
}

func (l *feedListener) decode(payload string) ([]voice.FeedItem, bool) {
	switch {
	case strings.HasPrefix(payload, "i"):
		var items []voice.FeedItem
		if err := json.Unmarshal([]byte(payload[1:]), &items); err != nil {
			return nil, false
		}
		return items, true
	case strings.HasPrefix(payload, "r"):
		from, to, ok := strings.Cut(payload[1:], ",")
		if !ok {
			return nil, false
		}
		a, err1 := strconv.ParseInt(from, 10, 64)
		b, err2 := strconv.ParseInt(to, 10, 64)
		if err1 != nil || err2 != nil || b < a {
			return nil, false
		}
		items, err := l.s.FeedAfter(context.Background(), max(a-1, l.last), int(b-max(a-1, l.last)))
		if err != nil {
			l.s.log.Warn("feed listener: read notified rows", "err", err)
			return nil, false
		}
		return items, true
	}
	return nil, false
}

// catchUp hands on every committed row after the last one handed on.
func (l *feedListener) catchUp(ctx context.Context) {
	if !l.isWanted() {
		l.skipToNewest(ctx)
		return
	}
	for ctx.Err() == nil {
		items, err := l.s.FeedAfter(ctx, l.last, 1000)
		if err != nil {
			l.s.log.Warn("feed listener: catch up", "err", err)
			return
		}
		l.deliver(items)
		if len(items) < 1000 {
			return
		}
	}
}

// deliver hands on the rows not handed on before.
func (l *feedListener) deliver(items []voice.FeedItem) {
	i := 0
	for i < len(items) && items[i].Seq <= l.last {
		i++
	}
	items = items[i:]
	if len(items) == 0 {
		return
	}
	l.last = items[len(items)-1].Seq
	l.hooksMu.Lock()
	lag := l.lag
	l.hooksMu.Unlock()
	if lag != nil {
		now := time.Now()
		for _, it := range items {
			lag(now.Sub(it.CreatedAt))
		}
	}
	l.fn(items)
}
