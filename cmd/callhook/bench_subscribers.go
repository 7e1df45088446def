package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// subscribersJSON is what --subscribers measured: how long a callback
// took from its 2xx to each subscriber, whether every subscriber got
// everything once, and what the server spent on it.
type subscribersJSON struct {
	// Kind is console (signed-in dashboards on /live) or stream (API
	// clients on /api/v1/stream).
	Kind        string `json:"kind"`
	Subscribers int    `json:"subscribers"`
	Topic       string `json:"topic,omitempty"`
	// Expected is, for consoles, acknowledged callbacks times subscribers:
	// one callback row fragment each (internal/live/push.go); for streams,
	// the feed rows committed while each subscriber was open, summed: a
	// stream client gets every row once, in seq order.
	Expected   uint64 `json:"expected"`
	Deliveries uint64 `json:"deliveries"`
	Lost       uint64 `json:"lost"`
	// Duplicates are fragments or rows a subscriber got again; Gaps are the
	// times a stream's next row was not the one after the last (both are
	// zero when the stream holds its promise).
	Duplicates uint64 `json:"duplicates"`
	Gaps       uint64 `json:"gaps"`
	// Samples are the latencies measured: one per delivered fragment
	// (console) or per event row (stream) of an acknowledged callback.
	Samples uint64 `json:"samples"`
	// Reloads are "reload" messages (a console too far behind re-fetches
	// its regions); Drops are connections the server gave up on, resumed
	// with ?after=.
	Reloads uint64      `json:"reloads"`
	Drops   uint64      `json:"drops"`
	Latency latencyJSON `json:"latency"`
	// CPUSeconds is the server process's CPU time over the run
	// (process_cpu_seconds_total); with the in-process server it includes
	// the generator and the subscribers' reads.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`
	// CPUPerSubscriber is CPU milliseconds per second per subscriber.
	CPUPerSubscriber float64 `json:"cpu_ms_per_s_per_subscriber"`
	InProcess        bool    `json:"in_process"`
}

// ackTimes holds when each callback's 2xx arrived, by callback id from
// base on: written by the callback senders, read by every subscriber on
// every fragment, so reads take no lock (chunks appear once, atomically).
type ackTimes struct {
	base  int64
	mu    sync.Mutex
	dir   [1 << 14]atomic.Pointer[[1 << 14]atomic.Int64]
	count atomic.Uint64
}

func (a *ackTimes) slot(id int64, create bool) *atomic.Int64 {
	i := id - a.base
	if i < 0 || i >= int64(len(a.dir))<<14 {
		return nil
	}
	p := &a.dir[i>>14]
	c := p.Load()
	if c == nil {
		if !create {
			return nil
		}
		a.mu.Lock()
		if c = p.Load(); c == nil {
			c = new([1 << 14]atomic.Int64)
			p.Store(c)
		}
		a.mu.Unlock()
	}
	return &c[i&(1<<14-1)]
}

// put records the 2xx of callback id at t (nanoseconds since the epoch).
func (a *ackTimes) put(id int64, t int64) {
	if s := a.slot(id, true); s != nil && s.Swap(t) == 0 {
		a.count.Add(1)
	}
}

// get returns when callback id was acknowledged, 0 if not (yet).
func (a *ackTimes) get(id int64) int64 {
	if s := a.slot(id, false); s != nil {
		return s.Load()
	}
	return 0
}

// each visits every acknowledged id.
func (a *ackTimes) each(f func(id int64)) {
	for d := range a.dir {
		c := a.dir[d].Load()
		if c == nil {
			continue
		}
		for i := range c {
			if c[i].Load() != 0 {
				f(a.base + int64(d)<<14 + int64(i))
			}
		}
	}
}

// subKind is what a bench subscriber is: a signed-in console on /live or
// an API client on /api/v1/stream.
type subKind int

const (
	kindConsole subKind = iota
	kindStream
)

func (k subKind) String() string {
	if k == kindStream {
		return "stream"
	}
	return "console"
}

// parseSubKind reads --subscribers-kind.
func parseSubKind(s string) (subKind, error) {
	switch s {
	case "console":
		return kindConsole, nil
	case "stream":
		return kindStream, nil
	}
	return 0, fmt.Errorf("bench: --subscribers-kind is console or stream, not %q", s)
}

// subscriber is one WebSocket of the bench, a console or a stream client.
// A thousand of them share two cores with the server, so each reads with
// as little work as it can, so that the figures measure the server: it
// finds the seq and the callback ids with byte scans (no JSON decoding),
// reuses one buffer for every message, and only notes when each callback
// arrived in a slice allocated up front; the latencies are worked out from
// those notes after the run.
type subscriber struct {
	kind subKind
	acks *ackTimes
	ids  *fragIDs
	// Written by run's goroutine only and read after done is closed.
	arrivals []arrival
	// seen has a bit per callback id from acks.base: a console's fragment
	// counts once even if a resume sends it again.
	seen []uint64
	// first is the seq of a stream's hello, lastSeq the newest seq
	// received (where a resume starts).
	first, lastSeq int64
	// rows, dups and gaps count a stream's rows: received in order, again,
	// after a skip.
	rows, dups, gaps uint64
	reloads, drops   int
	readErr          error
	// last is lastSeq for settle; delivered counts a console's fragments.
	last      atomic.Int64
	delivered atomic.Uint64
	mu        sync.Mutex // guards conn, replaced on a resume
	conn      msgReader
	closing   atomic.Bool
	done      chan struct{}
	// open dials the subscriber's WebSocket, with query appended to its URL.
	open   func(ctx context.Context, query string) (msgReader, error)
	opened chan struct{}
}

// arrival is when a callback's fragment or event reached a subscriber
// (nanoseconds since the epoch).
type arrival struct{ id, at int64 }

// fragIDs caches the callback ids of each push message: every console gets
// the same message for a batch, so it is scanned once, not once per
// console (the scan would otherwise cost the in-process run as much CPU as
// the server's writes).
type fragIDs struct{ m sync.Map }

type msgKey struct{ seq, size int64 }

// head is how far into a message its seq and type are looked for: both
// lead every message the server sends.
const head = 64

func (f *fragIDs) of(msg []byte) []int64 {
	k := msgKey{size: int64(len(msg))}
	if i := bytes.Index(msg[:min(len(msg), head)], seqField); i >= 0 {
		k.seq = leadingInt(msg[i+len(seqField):])
		if v, ok := f.m.Load(k); ok {
			return v.([]int64)
		}
	}
	var ids []int64
	for rest := msg; ; {
		i := bytes.Index(rest, fragID)
		if i < 0 {
			break
		}
		rest = rest[i+len(fragID):]
		ids = append(ids, leadingInt(rest))
	}
	if k.seq != 0 {
		f.m.Store(k, ids)
	}
	return ids
}

var (
	seqField   = []byte(`"seq":`)
	typeHello  = []byte(`{"type":"hello"`)
	typeRel    = []byte(`{"type":"reload"`)
	fragID     = []byte(`"id":"callback-row-`)
	streamSeq  = []byte(`{"seq":`)
	streamHi   = []byte(`,"type":"hello"`)
	streamEvt  = []byte(`,"type":"event"`)
	callbackID = []byte(`"callback_id":`)
)

// leadingInt parses the decimal number at the start of b.
func leadingInt(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// handle reads one message: a stream's one feed row, or a console's one
// frame or several, one a line.
func (s *subscriber) handle(msg []byte, now int64) {
	if s.kind == kindStream {
		s.streamRow(msg, now)
		return
	}
	for len(msg) > 0 {
		frame := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			frame, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		s.consoleFrame(frame, now)
	}
}

// hello marks the subscriber open.
func (s *subscriber) hello() {
	select {
	case <-s.opened:
	default:
		close(s.opened)
	}
}

// consoleFrame reads one console frame: its seq (to resume from) and the
// ids of the callback rows it carries.
func (s *subscriber) consoleFrame(msg []byte, now int64) {
	if i := bytes.Index(msg[:min(len(msg), head)], seqField); i >= 0 {
		s.lastSeq = max(s.lastSeq, leadingInt(msg[i+len(seqField):]))
	}
	if bytes.HasPrefix(msg, typeRel) {
		s.reloads++
		return
	}
	if bytes.HasPrefix(msg, typeHello) {
		s.hello()
		return
	}
	for _, id := range s.ids.of(msg) {
		k := id - s.acks.base
		if k < 0 {
			continue // a callback from before the run
		}
		w := int(k >> 6)
		for w >= len(s.seen) {
			s.seen = append(s.seen, make([]uint64, len(s.seen)+64)...)
		}
		if s.seen[w]&(1<<(k&63)) != 0 {
			s.dups++
			continue
		}
		s.seen[w] |= 1 << (k & 63)
		s.arrivals = append(s.arrivals, arrival{id, now})
		s.delivered.Add(1)
	}
}

// streamRow reads one stream message, {"seq":N,"type":T,...}: the hello,
// or a feed row, which must be the one after the last; an event's
// callback_id is noted with the time.
func (s *subscriber) streamRow(msg []byte, now int64) {
	if !bytes.HasPrefix(msg, streamSeq) {
		return
	}
	rest := msg[len(streamSeq):]
	seq := leadingInt(rest)
	for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
		rest = rest[1:]
	}
	if bytes.HasPrefix(rest, streamHi) {
		select {
		case <-s.opened:
		default:
			s.first, s.lastSeq = seq, seq
			s.last.Store(seq)
			s.hello()
		}
		return
	}
	switch {
	case seq <= s.lastSeq:
		s.dups++
		return
	case seq > s.lastSeq+1:
		s.gaps++
	}
	s.lastSeq = seq
	s.last.Store(seq)
	s.rows++
	if !bytes.HasPrefix(rest, streamEvt) {
		return
	}
	if i := bytes.Index(rest, callbackID); i >= 0 {
		if id := leadingInt(rest[i+len(callbackID):]); id >= s.acks.base {
			s.arrivals = append(s.arrivals, arrival{id, now})
		}
	}
}

// run reads the subscriber's messages until it is closed, resuming after
// the last seq when the server drops it.
func (s *subscriber) run() {
	defer close(s.done)
	for {
		for {
			msg, err := s.conn.next()
			if err != nil {
				if s.closing.Load() {
					return
				}
				break
			}
			s.handle(msg, time.Now().UnixNano())
		}
		s.conn.Close()
		s.drops++
		c, err := s.open(context.Background(), "after="+strconv.FormatInt(s.lastSeq, 10))
		if err != nil {
			s.readErr = err
			return
		}
		s.mu.Lock()
		s.conn = c
		s.mu.Unlock()
		if s.closing.Load() {
			c.Close()
			return
		}
	}
}

// dial opens one WebSocket.
func dial(ctx context.Context, d *websocket.Dialer, u string, h http.Header) (*websocket.Conn, error) {
	c, resp, err := d.DialContext(ctx, u, h)
	var body []byte
	if resp != nil && resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 200))
		resp.Body.Close()
	}
	if err != nil && resp != nil {
		return nil, fmt.Errorf("%w (HTTP %d: %s)", err, resp.StatusCode, bytes.TrimSpace(body))
	}
	return c, err
}

// consoleLogin signs user in through the sign-in form, as a browser does,
// and returns the cookie jar holding the session.
func consoleLogin(base, user, password string) (*cookiejar.Jar, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("sign in: GET /login: HTTP %d without a _csrf field", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "name": {user}, "password": {password}})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in as %s: HTTP %d, want 303", user, resp.StatusCode)
	}
	return jar, nil
}

// subscribers is the set of subscribers of one run.
type subscribers struct {
	kind subKind
	acks *ackTimes
	subs []*subscriber
	// For streams: where to ask for the newest seq, and that seq once the
	// generator has stopped (every subscriber must reach it).
	dialer *websocket.Dialer
	header http.Header
	wsURL  string
	end    int64
}

// subscriberAuth is how subscribers sign in: consoles as a user through
// the sign-in form, streams with an admin API token.
type subscriberAuth struct{ token, user, password string }

// openSubscribers opens n subscribers of kind, a few at a time, waiting
// for each one's hello. Consoles show the dashboard, on one signed-in
// session; streams use the token. Each notes up to expect callbacks
// without growing its notes.
func openSubscribers(ctx context.Context, kind subKind, base string, auth subscriberAuth, n, expect int, acks *ackTimes) (*subscribers, error) {
	// Consoles ask for compression, as browsers do, and inflate each
	// distinct push once for all of them (bench_wsread.go); API clients of
	// the stream ask for none. A large read buffer lets a reader that fell
	// behind take several messages in one read.
	d := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 64 << 10}
	ws := "ws" + strings.TrimPrefix(base, "http")
	cs := &subscribers{kind: kind, acks: acks, subs: make([]*subscriber, n), dialer: d}
	var jar http.CookieJar
	switch kind {
	case kindConsole:
		j, err := consoleLogin(base, auth.user, auth.password)
		if err != nil {
			return nil, err
		}
		jar = j
		cs.wsURL = ws + "/live?topics=dashboard"
	case kindStream:
		cs.header = http.Header{"Authorization": {"Bearer " + auth.token}}
		cs.wsURL = ws + "/api/v1/stream"
	}
	ids := &fragIDs{}
	cache := newInflated()
	open := func(ctx context.Context, query string) (msgReader, error) {
		u := cs.wsURL
		if query != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + query
		}
		if kind == kindConsole {
			return dialDeflated(ctx, u, jar, cache)
		}
		c, err := dial(ctx, d, u, cs.header)
		if err != nil {
			return nil, err
		}
		return &plainReader{c: c}, nil
	}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := open(ctx, "")
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("open %s %d: %w", kind, i, err)
				}
				mu.Unlock()
				return
			}
			s := &subscriber{kind: kind, acks: acks, ids: ids, arrivals: make([]arrival, 0, expect), conn: c,
				done: make(chan struct{}), open: open, opened: make(chan struct{})}
			cs.subs[i] = s
			go s.run()
			select {
			case <-s.opened:
			case <-time.After(30 * time.Second):
			}
		}()
	}
	wg.Wait()
	if first != nil {
		cs.close()
		return nil, first
	}
	return cs, nil
}

// finish notes, for streams, the newest feed seq once the generator has
// stopped: every callback it sent has been answered, so committed.
func (cs *subscribers) finish(ctx context.Context) error {
	if cs.kind != kindStream {
		return nil
	}
	c, err := dial(ctx, cs.dialer, cs.wsURL, cs.header)
	if err != nil {
		return fmt.Errorf("newest seq: %w", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		return fmt.Errorf("newest seq: %w", err)
	}
	if !bytes.HasPrefix(msg, streamSeq) {
		return fmt.Errorf("newest seq: the stream began with %.100s, not a hello", msg)
	}
	cs.end = leadingInt(msg[len(streamSeq):])
	return nil
}

// caughtUp reports whether every subscriber has everything: each console
// every acknowledged callback's fragment, each stream every row up to end.
func (cs *subscribers) caughtUp() bool {
	if cs.kind == kindStream {
		for _, s := range cs.subs {
			if s.last.Load() < cs.end {
				return false
			}
		}
		return true
	}
	var n uint64
	for _, s := range cs.subs {
		n += s.delivered.Load()
	}
	return n >= cs.acks.count.Load()*uint64(len(cs.subs))
}

// settle waits until every subscriber has caught up, or until the wait is
// over.
func (cs *subscribers) settle(wait time.Duration) {
	until := time.Now().Add(wait)
	for time.Now().Before(until) && !cs.caughtUp() {
		time.Sleep(20 * time.Millisecond)
	}
}

func (cs *subscribers) close() {
	for _, s := range cs.subs {
		if s == nil {
			continue
		}
		s.closing.Store(true)
		s.mu.Lock()
		c := s.conn
		s.mu.Unlock()
		c.Close()
	}
	for _, s := range cs.subs {
		if s != nil {
			<-s.done
		}
	}
}

// summary merges the subscribers' measurements. Call it after close.
func (cs *subscribers) summary() (subscribersJSON, error) {
	out := subscribersJSON{Kind: cs.kind.String(), Subscribers: len(cs.subs)}
	if cs.kind == kindConsole {
		out.Topic = "dashboard"
	}
	var h histogram
	var firstErr error
	var acked []int64
	cs.acks.each(func(id int64) { acked = append(acked, id) })
	for _, s := range cs.subs {
		// A fragment or event may beat the response to the generator: it
		// counts as arriving at once.
		for _, a := range s.arrivals {
			if at := cs.acks.get(a.id); at != 0 {
				h.add(time.Duration(max(a.at-at, 0)))
				out.Samples++
			}
		}
		out.Reloads += uint64(s.reloads)
		out.Drops += uint64(s.drops)
		out.Duplicates += s.dups
		out.Gaps += s.gaps
		if s.readErr != nil && firstErr == nil {
			firstErr = s.readErr
		}
		if cs.kind == kindStream {
			want := uint64(max(cs.end-s.first, 0))
			out.Expected += want
			out.Deliveries += min(s.rows, want)
			continue
		}
		// Only fragments of callbacks the generator saw acknowledged count.
		out.Expected += uint64(len(acked))
		for _, id := range acked {
			k := id - cs.acks.base
			if w := int(k >> 6); w < len(s.seen) && s.seen[w]&(1<<(k&63)) != 0 {
				out.Deliveries++
			}
		}
	}
	out.Lost = out.Expected - out.Deliveries
	out.Latency = h.summary()
	return out, firstErr
}

// lastCallbackID is the newest stored callback's id (0 when there is none):
// the run's callbacks come after it.
func (t *target) lastCallbackID() (int64, error) {
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if _, err := t.api("GET", "/api/v1/callbacks?limit=1", nil, &page); err != nil {
		return 0, err
	}
	if len(page.Items) == 0 {
		return 0, nil
	}
	return page.Items[0].ID, nil
}

// cpuSeconds reads the server's process_cpu_seconds_total.
func (t *target) cpuSeconds() (float64, error) {
	v, ok := t.metric("process_cpu_seconds_total")
	if !ok {
		return 0, errors.New("bench: /metrics has no process_cpu_seconds_total")
	}
	return v, nil
}

func printSubscribers(w io.Writer, s *subscribersJSON) {
	what := "fragment"
	if s.Kind == "stream" {
		what = "event"
		fmt.Fprintf(w, "%d stream subscribers: %d of %d feed rows delivered, %d lost, %d duplicates, %d gaps, %d drops\n",
			s.Subscribers, s.Deliveries, s.Expected, s.Lost, s.Duplicates, s.Gaps, s.Drops)
	} else {
		fmt.Fprintf(w, "%d %s consoles: %d of %d callback fragments delivered, %d lost, %d reloads, %d drops\n",
			s.Subscribers, s.Topic, s.Deliveries, s.Expected, s.Lost, s.Reloads, s.Drops)
	}
	fmt.Fprintf(w, "2xx to %s delivered (%d samples) p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n",
		what, s.Samples, s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	who := "server"
	if s.InProcess {
		who = "process (server, generator and subscribers)"
	}
	fmt.Fprintf(w, "%s CPU %.1fs = %.2f cores, %.3f ms/s per subscriber\n", who, s.CPUSeconds, s.CPUCores, s.CPUPerSubscriber)
}
