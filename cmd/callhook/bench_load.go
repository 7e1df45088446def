package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// histogram counts latencies in log-linear buckets of microseconds: exact
// below 64 µs, then 32 buckets per doubling (about 3% wide), so a worker
// records a sample with one increment and no allocation.
type histogram struct {
	counts [1024]uint64
	n      uint64
	max    time.Duration
}

func (h *histogram) add(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	i := us
	if us >= 64 {
		e := uint64(bits.Len64(us) - 6)
		i = 32*e + us>>e
	}
	h.counts[min(i, uint64(len(h.counts)-1))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the middle of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			if i < 64 {
				return time.Duration(i) * time.Microsecond
			}
			e := uint64(i/32 - 1)
			lo := (uint64(i) - 32*e) << e
			return min(time.Duration(lo+(1<<e)/2)*time.Microsecond, h.max)
		}
	}
	return h.max
}

// latencyJSON is a latency summary in milliseconds.
type latencyJSON struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func (h *histogram) summary() latencyJSON {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return latencyJSON{P50: ms(h.quantile(.5)), P90: ms(h.quantile(.9)), P99: ms(h.quantile(.99)), Max: ms(h.max)}
}

// target is the server under test, reached through one fasthttp host
// client: it keeps up to c connections and costs the generator far less CPU
// than net/http, which matters because both share the machine's cores.
type target struct {
	base   string // scheme://host
	token  string
	client *fasthttp.HostClient
	// acks, when consoles are measured, records each callback's 2xx.
	acks *ackTimes
}

func newTarget(base, token string, conns int) (*target, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("bench: --url must be http(s)://HOST[:PORT], got %q", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	return &target{base: u.Scheme + "://" + u.Host, token: token, client: &fasthttp.HostClient{
		Addr: addr, IsTLS: u.Scheme == "https", MaxConns: conns + 4, MaxIdleConnDuration: time.Minute,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxConnWaitTimeout: 30 * time.Second,
		NoDefaultUserAgentHeader: true, DisableHeaderNamesNormalizing: true,
	}}, nil
}

// api calls the JSON API with the admin token and decodes the answer into
// out when it is 2xx.
func (t *target) api(method, path string, in, out any) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.base + path)
	req.Header.SetMethod(method)
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	if err := t.client.Do(req, resp); err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	code := resp.StatusCode()
	if code/100 != 2 {
		return code, fmt.Errorf("%s %s: HTTP %d: %s", method, path, code, bytes.TrimSpace(resp.Body()))
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			return code, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return code, nil
}

// get fetches path without credentials (/metrics, /healthz).
func (t *target) get(path string) ([]byte, error) {
	code, body, err := t.client.Get(nil, t.base+path)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if code/100 != 2 {
		return nil, fmt.Errorf("GET %s: HTTP %d", path, code)
	}
	return body, nil
}

// counters are the live totals the progress line reads.
type counters struct {
	sent, acked, non2xx, errs atomic.Uint64
}

// workerStats is what one worker measured; merged after the run.
type workerStats struct {
	hist      histogram
	byStatus  map[int]uint64
	errSample string
	calls     []callRecord
	dups, ooo uint64
}

// callRecord is a simulated call and what it should look like when stored.
type callRecord struct {
	id         string
	wantEvents int
	// complete is true when every callback of the call was acknowledged.
	complete bool
}

// loadConfig is one phase of load: callbacks or /healthz.
type loadConfig struct {
	conns    int
	duration time.Duration
	rate     float64
	progress io.Writer
	label    string
}

// schedule feeds the open-loop send times: the i-th request is due at
// start + i/rate whatever the server's pace, so a slow reply shows as
// latency of the requests queued behind it rather than as a lower rate. It
// runs until stop is closed, past the run's end: the calls in progress then
// are finished at the same pace, not all at once.
func schedule(ctx context.Context, start time.Time, rate float64, stop <-chan struct{}) <-chan time.Time {
	ch := make(chan time.Time, max(int(rate), 1024))
	go func() {
		defer close(ch)
		var i int64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			due := int64(time.Since(start).Seconds() * rate)
			for ; i <= due; i++ {
				select {
				case ch <- start.Add(time.Duration(float64(i) / rate * float64(time.Second))):
				case <-stop:
					return
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// pacer hands out send times: now for a closed loop, the schedule's for a
// --rate.
type pacer struct {
	ctx      context.Context
	deadline time.Time
	sched    <-chan time.Time
	// spare holds send times taken after the end by workers that then
	// stopped: the calls still being finished use them, so the pace holds.
	spare chan time.Time
}

// next gives the send time of a new call's first request and whether the
// run is still on.
func (p *pacer) next() (time.Time, bool) {
	t := p.then()
	on := t.Before(p.deadline) && p.ctx.Err() == nil
	if !on && p.spare != nil {
		select {
		case p.spare <- t:
		default:
		}
	}
	return t, on
}

// then gives the send time of a call's next request: a call in progress
// at the end is finished at the same pace, not all at once.
func (p *pacer) then() time.Time {
	if p.sched == nil {
		return time.Now()
	}
	select {
	case t := <-p.spare:
		return t
	default:
	}
	select {
	case t, ok := <-p.sched:
		if ok {
			return t
		}
	case t := <-p.spare:
		return t
	}
	return time.Now()
}

// drive runs conns workers until the duration has passed, each calling one
// function per request (which reports its own outcome), and prints a
// progress line per second. It returns the merged stats and the time taken.
func drive(ctx context.Context, lc loadConfig, cnt *counters, work func(ctx context.Context, w int, st *workerStats, p *pacer)) ([]*workerStats, time.Duration) {
	start := time.Now()
	deadline := start.Add(lc.duration)
	stop := make(chan struct{})
	defer close(stop)
	p := &pacer{ctx: ctx, deadline: deadline}
	if lc.rate > 0 {
		p.sched = schedule(ctx, start, lc.rate, stop)
		p.spare = make(chan time.Time, lc.conns)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				acked := cnt.acked.Load()
				fmt.Fprintf(lc.progress, "%s %4.0fs  sent %d  ok %d  %d/s  non-2xx %d  errors %d\n", lc.label,
					now.Sub(start).Seconds(), cnt.sent.Load(), acked, acked-last, cnt.non2xx.Load(), cnt.errs.Load())
				last = acked
			}
		}
	}()
	stats := make([]*workerStats, lc.conns)
	var wg sync.WaitGroup
	for w := range lc.conns {
		stats[w] = &workerStats{byStatus: map[int]uint64{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, w, stats[w], p)
		}()
	}
	wg.Wait()
	close(done)
	return stats, time.Since(start)
}

// send posts one callback and records its outcome; it reports whether the
// callback was acknowledged (2xx).
func (t *target) send(req *fasthttp.Request, resp *fasthttp.Response, path string, r *wireReq, due time.Time, st *workerStats, cnt *counters) bool {
	req.Reset()
	req.Header.SetMethod("POST")
	if r.query != "" {
		req.SetRequestURI(t.base + path + "?" + r.query)
	} else {
		req.SetRequestURI(t.base + path)
	}
	req.Header.SetContentType(r.ctype)
	for _, h := range r.header {
		req.Header.Set(h[0], h[1])
	}
	req.SetBodyRaw(r.body)
	cnt.sent.Add(1)
	err := t.client.Do(req, resp)
	st.hist.add(time.Since(due))
	if err != nil {
		cnt.errs.Add(1)
		if st.errSample == "" {
			st.errSample = err.Error()
		}
		return false
	}
	code := resp.StatusCode()
	st.byStatus[code]++
	if code/100 != 2 {
		cnt.non2xx.Add(1)
		if st.errSample == "" {
			st.errSample = fmt.Sprintf("HTTP %d: %.200s", code, resp.Body())
		}
		return false
	}
	cnt.acked.Add(1)
	if t.acks != nil {
		if id := leadingInt(resp.Header.Peek("X-Callhook-Callback-Id")); id > 0 {
			t.acks.put(id, time.Now().UnixNano())
		}
	}
	return true
}

// callbackWorker plays whole lifecycles until the run is over; a call in
// progress at the deadline is finished so every call ends in its final
// state.
func (t *target) callbackWorker(f *flow, chID, path string, m mix, seq *atomic.Uint64, cnt *counters) func(context.Context, int, *workerStats, *pacer) {
	return func(ctx context.Context, w int, st *workerStats, p *pacer) {
		rng := rand.New(rand.NewPCG(uint64(w)+1, seq.Load()))
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for {
			due, on := p.next()
			if !on {
				return
			}
			lc := f.lifecycle(seq.Add(1), rng, m, time.Now())
			if lc.register {
				if _, err := t.api("POST", "/api/v1/calls", map[string]any{"channel_id": chID, "to": "+15550100",
					"provider_call_id": lc.callID}, nil); err != nil {
					cnt.errs.Add(1)
					if st.errSample == "" {
						st.errSample = "register call: " + err.Error()
					}
					continue
				}
				// Registration is an API call, not a callback: its time
				// is not part of the first callback's latency.
				due = time.Now()
			}
			rec := callRecord{id: lc.callID, wantEvents: lc.wantEvents, complete: true}
			if lc.outOfOrder {
				st.ooo++
			}
			if len(lc.reqs) != lc.wantEvents {
				st.dups += uint64(len(lc.reqs) - lc.wantEvents)
			}
			for i := range lc.reqs {
				if i > 0 {
					due = p.then()
				}
				if !t.send(req, resp, path, &lc.reqs[i], due, st, cnt) {
					rec.complete = false
				}
			}
			st.calls = append(st.calls, rec)
		}
	}
}

// healthWorker measures the server's ceiling: GET /healthz, no database.
func (t *target) healthWorker(cnt *counters) func(context.Context, int, *workerStats, *pacer) {
	return func(ctx context.Context, w int, st *workerStats, p *pacer) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(t.base + "/healthz")
		for {
			due, on := p.next()
			if !on {
				return
			}
			cnt.sent.Add(1)
			err := t.client.Do(req, resp)
			st.hist.add(time.Since(due))
			switch {
			case err != nil:
				cnt.errs.Add(1)
			case resp.StatusCode()/100 != 2:
				cnt.non2xx.Add(1)
				st.byStatus[resp.StatusCode()]++
			default:
				cnt.acked.Add(1)
			}
		}
	}
}
