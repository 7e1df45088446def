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

// subscribersJSON is what --subscribers measured: how long a callback's
// fragment took from the callback's 2xx to each console, whether every
// console got every fragment, and what the server spent on it.
type subscribersJSON struct {
	Subscribers int    `json:"subscribers"`
	Topic       string `json:"topic"`
	// Expected is acknowledged callbacks times subscribers: one callback
	// row fragment each (internal/live/push.go).
	Expected   uint64 `json:"expected"`
	Deliveries uint64 `json:"deliveries"`
	Lost       uint64 `json:"lost"`
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

// subscriber is one console connection of the bench.
type subscriber struct {
	acks *ackTimes
	ids  *fragIDs
	hist histogram
	// seen has a bit per callback id from acks.base: a fragment counts
	// once even if a resume sends it again.
	seen []uint64
	// pending are fragments that arrived before their callback's 2xx did
	// (the push can beat the response): resolved after the run.
	pending    []arrival
	lastSeq    int64
	reloads    int
	drops      int
	delivered  atomic.Uint64
	mu         sync.Mutex // guards all of the above against the final read
	conn       *websocket.Conn
	closing    atomic.Bool
	done       chan struct{}
	readErr    error
	dialer     *websocket.Dialer
	wsURL      string
	openedOnce chan struct{}
}

type arrival struct{ id, at int64 }

// fragIDs caches the callback ids of each push message: every console gets
// the same message for a batch, so it is scanned once, not once per
// console (the scan would otherwise cost the in-process run as much CPU as
// the server's writes).
type fragIDs struct{ m sync.Map }

type msgKey struct{ seq, size int64 }

func (f *fragIDs) of(msg []byte) []int64 {
	k := msgKey{size: int64(len(msg))}
	if i := bytes.Index(msg[:min(len(msg), 64)], seqField); i >= 0 {
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
	seqField  = []byte(`"seq":`)
	typeHello = []byte(`{"type":"hello"`)
	typeRel   = []byte(`{"type":"reload"`)
	fragID    = []byte(`"id":"callback-row-`)
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

// handle reads one console message, which holds one frame or several, one
// a line.
func (s *subscriber) handle(msg []byte, now int64) {
	for len(msg) > 0 {
		frame := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			frame, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		s.handleFrame(frame, now)
	}
}

// handleFrame reads one frame: its seq (to resume from) and the ids of the
// callback rows it carries.
func (s *subscriber) handleFrame(msg []byte, now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := bytes.Index(msg, seqField); i >= 0 {
		if seq := leadingInt(msg[i+len(seqField):]); seq > s.lastSeq {
			s.lastSeq = seq
		}
	}
	if bytes.HasPrefix(msg, typeRel) {
		s.reloads++
		return
	}
	if bytes.HasPrefix(msg, typeHello) {
		select {
		case <-s.openedOnce:
		default:
			close(s.openedOnce)
		}
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
			continue
		}
		s.seen[w] |= 1 << (k & 63)
		s.delivered.Add(1)
		if at := s.acks.get(id); at != 0 {
			s.hist.add(time.Duration(now - at))
		} else {
			s.pending = append(s.pending, arrival{id, now})
		}
	}
}

// run reads the console until it is closed, resuming after the last seq
// when the server drops it.
func (s *subscriber) run() {
	defer close(s.done)
	var buf bytes.Buffer // reused: a message is handled before the next is read
	for {
		for {
			_, r, err := s.conn.NextReader()
			if err == nil {
				buf.Reset()
				_, err = buf.ReadFrom(r)
			}
			if err != nil {
				if s.closing.Load() {
					return
				}
				break
			}
			s.handle(buf.Bytes(), time.Now().UnixNano())
		}
		s.conn.Close()
		s.mu.Lock()
		s.drops++
		u := s.wsURL + "&after=" + strconv.FormatInt(s.lastSeq, 10)
		s.mu.Unlock()
		c, resp, err := s.dialer.Dial(u, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
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

// consoles is the set of subscribers of one run.
type consoles struct {
	acks *ackTimes
	subs []*subscriber
}

// openConsoles signs in once and opens n dashboard consoles on that
// session, a few at a time, waiting for each one's hello.
func openConsoles(ctx context.Context, base, user, password string, n int, acks *ackTimes) (*consoles, error) {
	jar, err := consoleLogin(base, user, password)
	if err != nil {
		return nil, err
	}
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/live?topics=dashboard"
	// Browsers ask for compression; these consoles do not, so that a
	// thousand readers inflating every message do not starve the generator
	// on a small machine. The server frames each message once either way.
	d := &websocket.Dialer{Jar: jar, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 16 << 10}
	cs := &consoles{acks: acks, subs: make([]*subscriber, n)}
	ids := &fragIDs{}
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
			c, resp, err := d.DialContext(ctx, wsURL, nil)
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("open console %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			s := &subscriber{acks: acks, ids: ids, conn: c, done: make(chan struct{}), dialer: d, wsURL: wsURL, openedOnce: make(chan struct{})}
			cs.subs[i] = s
			go s.run()
			select {
			case <-s.openedOnce:
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

func (cs *consoles) delivered() uint64 {
	var n uint64
	for _, s := range cs.subs {
		n += s.delivered.Load()
	}
	return n
}

// settle waits until every subscriber has every acknowledged callback's
// fragment, or until the wait is over.
func (cs *consoles) settle(wait time.Duration) {
	until := time.Now().Add(wait)
	for time.Now().Before(until) && cs.delivered() < cs.acks.count.Load()*uint64(len(cs.subs)) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (cs *consoles) close() {
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
func (cs *consoles) summary() (subscribersJSON, error) {
	out := subscribersJSON{Subscribers: len(cs.subs), Topic: "dashboard"}
	var h histogram
	var firstErr error
	ids := 0
	cs.acks.each(func(int64) { ids++ })
	for _, s := range cs.subs {
		for _, p := range s.pending {
			if at := cs.acks.get(p.id); at != 0 {
				// The fragment beat the response to the generator.
				s.hist.add(time.Duration(max(p.at-at, 0)))
			}
		}
		h.merge(&s.hist)
		out.Reloads += uint64(s.reloads)
		out.Drops += uint64(s.drops)
		if s.readErr != nil && firstErr == nil {
			firstErr = s.readErr
		}
		// Only fragments of callbacks the generator saw acknowledged count.
		cs.acks.each(func(id int64) {
			k := id - cs.acks.base
			if w := int(k >> 6); w < len(s.seen) && s.seen[w]&(1<<(k&63)) != 0 {
				out.Deliveries++
			}
		})
	}
	out.Expected = uint64(ids) * uint64(len(cs.subs))
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
	fmt.Fprintf(w, "%d %s consoles: %d of %d callback fragments delivered, %d lost, %d reloads, %d drops\n",
		s.Subscribers, s.Topic, s.Deliveries, s.Expected, s.Lost, s.Reloads, s.Drops)
	fmt.Fprintf(w, "2xx to fragment delivered p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n",
		s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	who := "server"
	if s.InProcess {
		who = "process (server, generator and subscribers)"
	}
	fmt.Fprintf(w, "%s CPU %.1fs = %.2f cores, %.3f ms/s per subscriber\n", who, s.CPUSeconds, s.CPUCores, s.CPUPerSubscriber)
}
