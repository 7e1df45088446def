package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// benchSummary is what `callhook bench --json` prints.
type benchSummary struct {
	Provider     string            `json:"provider"`
	URL          string            `json:"url"`
	Connections  int               `json:"connections"`
	DurationS    float64           `json:"duration_s"`
	TargetRate   float64           `json:"target_rate,omitempty"`
	Sent         uint64            `json:"sent"`
	Acknowledged uint64            `json:"acknowledged"`
	Non2xx       map[string]uint64 `json:"non_2xx"`
	Errors       uint64            `json:"errors"`
	FirstError   string            `json:"first_error,omitempty"`
	Rate         float64           `json:"rate_per_s"`
	Latency      latencyJSON       `json:"latency"`
	Calls        int               `json:"calls"`
	Duplicates   uint64            `json:"duplicates_sent"`
	OutOfOrder   uint64            `json:"out_of_order_calls"`
	Ceiling      *ceilingJSON      `json:"ceiling,omitempty"`
	Verification verifyJSON        `json:"verification"`
	ServerRSS    int64             `json:"server_rss_bytes,omitempty"`
	Consoles     *subscribersJSON  `json:"consoles,omitempty"`
	Streams      *subscribersJSON  `json:"streams,omitempty"`
}

// ceilingJSON is the /healthz measurement of --raw.
type ceilingJSON struct {
	Rate     float64     `json:"rate_per_s"`
	Latency  latencyJSON `json:"latency"`
	Fraction float64     `json:"callback_fraction"`
}

// verifyJSON is what the API showed after the run.
type verifyJSON struct {
	OK              bool     `json:"ok"`
	CallsChecked    int      `json:"calls_checked"`
	Mismatches      []string `json:"mismatches"`
	StoredCallbacks int64    `json:"stored_callbacks"`
	Lost            int64    `json:"lost"`
}

// bench drives a server with whole call lifecycles signed as the chosen
// provider signs them and checks through the API that every acknowledged
// callback was stored. With --prefill it fills a database instead.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "base URL of a running server (default: start one on a temporary SQLite database)")
	token := fs.String("token", os.Getenv("CALLHOOK_TOKEN"), "admin API token for --url (CALLHOOK_TOKEN)")
	prov := fs.String("provider", "twilio", "provider whose callbacks to send: "+strings.Join(benchProviders, ", "))
	conns := fs.Int("c", 64, "connections (concurrent senders)")
	dur := fs.Duration("duration", 30*time.Second, "how long to send callbacks")
	rate := fs.Float64("rate", 0, "target callbacks per second, open loop (0: as fast as possible)")
	asJSON := fs.Bool("json", false, "print a JSON summary instead of text")
	raw := fs.Bool("raw", false, "also measure GET /healthz first, as the ceiling")
	rawDur := fs.Duration("raw-duration", 5*time.Second, "how long the --raw measurement lasts")
	dups := fs.Float64("dup", 0.05, "fraction of callbacks re-sent as duplicates")
	ooo := fs.Float64("out-of-order", 0.1, "fraction of calls with a status delivered out of order")
	dtmf := fs.Float64("dtmf", 0.3, "fraction of calls with a keypad (DTMF) callback")
	sample := fs.Int("verify", 50, "calls checked through the API afterwards")
	verifyAll := fs.Bool("verify-all", false, "check every call through the API afterwards")
	prefill := fs.Int("prefill", 0, "fill the database of --db with N callbacks of realistic history and exit")
	subs := fs.Int("subscribers", 0, "also open N subscribers (see --subscribers-kind) and measure how fast each gets every callback")
	subKindName := fs.String("subscribers-kind", "console", "console: signed-in dashboards, timed to each callback's fragment; stream: /api/v1/stream clients with --token, timed to each callback's event")
	user := fs.String("console-user", "admin", "console user the --subscribers sign in as")
	password := fs.String("console-password", os.Getenv("CALLHOOK_ADMIN_PASSWORD"), "password of --console-user for --url (CALLHOOK_ADMIN_PASSWORD)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole process (with the in-process server: server and generator) to this file")
	db := fs.String("db", env("CALLHOOK_DB", ""), "database for --prefill: sqlite://PATH (CALLHOOK_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *prefill > 0 {
		if *db == "" {
			return errors.New("bench: --prefill needs --db or CALLHOOK_DB")
		}
		senders := *conns
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "c" })
		if !explicit {
			// The writer commits what is waiting together: 256 senders
			// fill its batches (measured: 6,700 callbacks/s against
			// 2,600/s with 64 on a busy machine).
			senders = 256
		}
		return prefillDB(ctx, *db, *prefill, senders, stdout, stderr)
	}
	kind, err := parseSubKind(*subKindName)
	if err != nil {
		return err
	}
	over, err := providerOverride(*prov)
	if err != nil {
		return err
	}
	if *conns < 1 {
		return errors.New("bench: --c must be at least 1")
	}
	progress := stderr
	inProcess := *base == ""
	if inProcess {
		dir, err := os.MkdirTemp("", "callhook-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		app, err := Start(ctx, Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(dir, "bench.db"),
			AdminPassword: "bench-password", MaxBody: 1 << 20, BcryptCost: 4, MaxEvents: 100},
			newLogger("error", stderr), io.Discard)
		if err != nil {
			return err
		}
		defer app.Shutdown(10 * time.Second)
		tok, _, err := app.Auth.CreateToken(ctx, "bench", "admin")
		if err != nil {
			return fmt.Errorf("bench: create API token: %w", err)
		}
		*base, *token, *password = app.URL(), tok, "bench-password"
		if !*asJSON {
			fmt.Fprintf(stdout, "started a server at %s on a temporary SQLite database\n", app.URL())
		}
	}
	if *token == "" {
		return errors.New("bench: --url needs --token (an admin API token)")
	}
	tg, err := newTarget(*base, *token, *conns)
	if err != nil {
		return err
	}
	run := randomRun()
	var ch struct {
		ID          string `json:"id"`
		CallbackURL string `json:"callback_url"`
	}
	if _, err := tg.api("POST", "/api/v1/channels", map[string]any{"id": "bench-" + run, "name": "bench " + *prov,
		"provider": over}, &ch); err != nil {
		return fmt.Errorf("bench: create channel: %w", err)
	}
	cu, err := url.Parse(ch.CallbackURL)
	if err != nil {
		return fmt.Errorf("bench: channel callback URL: %w", err)
	}
	sum := benchSummary{Provider: *prov, URL: tg.base, Connections: *conns, TargetRate: *rate, Non2xx: map[string]uint64{}}

	if *raw {
		var cnt counters
		stats, took := drive(ctx, loadConfig{conns: *conns, duration: *rawDur, progress: progress, label: "healthz"}, &cnt, tg.healthWorker(&cnt))
		var h histogram
		for _, s := range stats {
			h.merge(&s.hist)
		}
		sum.Ceiling = &ceilingJSON{Rate: float64(cnt.acked.Load()) / took.Seconds(), Latency: h.summary()}
	}

	var cs *subscribers
	var cpu0 float64
	if *subs > 0 {
		last, err := tg.lastCallbackID()
		if err != nil {
			return fmt.Errorf("bench: newest callback: %w", err)
		}
		tg.acks = &ackTimes{base: last + 1}
		// Each subscriber notes about one arrival per callback: room for
		// a quarter more than the run should send, so notes never grow.
		expect := 4096
		if *rate > 0 {
			expect = int(*rate*dur.Seconds()*1.25) + 1024
		}
		auth := subscriberAuth{token: *token, user: *user, password: *password}
		if cs, err = openSubscribers(ctx, kind, tg.base, auth, *subs, expect, tg.acks); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer cs.close()
		if cpu0, err = tg.cpuSeconds(); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var cnt counters
	var seq atomic.Uint64
	seq.Store(uint64(time.Now().UnixNano() % 1e9))
	f := newFlow(*prov, ch.CallbackURL, run)
	m := mix{dup: *dups, outOfOrder: *ooo, dtmf: *dtmf}
	stats, took := drive(ctx, loadConfig{conns: *conns, duration: *dur, rate: *rate, progress: progress, label: *prov},
		&cnt, tg.callbackWorker(f, ch.ID, cu.Path, m, &seq, &cnt))
	if cs != nil {
		cpu1, err := tg.cpuSeconds()
		if err != nil {
			return err
		}
		// Fragments and rows still in flight when the senders stopped.
		if err := cs.finish(ctx); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cs.settle(10 * time.Second)
		cs.close()
		c, err := cs.summary()
		if err != nil && sum.FirstError == "" {
			sum.FirstError = kind.String() + ": " + err.Error()
		}
		c.InProcess = inProcess
		c.CPUSeconds = cpu1 - cpu0
		c.CPUCores = c.CPUSeconds / took.Seconds()
		c.CPUPerSubscriber = 1000 * c.CPUCores / float64(*subs)
		if kind == kindStream {
			sum.Streams = &c
		} else {
			sum.Consoles = &c
		}
	}
	var h histogram
	var calls []callRecord
	for _, s := range stats {
		h.merge(&s.hist)
		calls = append(calls, s.calls...)
		sum.Duplicates += s.dups
		sum.OutOfOrder += s.ooo
		for code, n := range s.byStatus {
			if code/100 != 2 {
				sum.Non2xx[strconv.Itoa(code)] += n
			}
		}
		if sum.FirstError == "" {
			sum.FirstError = s.errSample
		}
	}
	sum.DurationS = took.Seconds()
	sum.Sent, sum.Acknowledged, sum.Errors = cnt.sent.Load(), cnt.acked.Load(), cnt.errs.Load()
	sum.Rate = float64(sum.Acknowledged) / took.Seconds()
	sum.Latency = h.summary()
	sum.Calls = len(calls)
	if sum.Ceiling != nil && sum.Ceiling.Rate > 0 {
		sum.Ceiling.Fraction = sum.Rate / sum.Ceiling.Rate
	}
	if *verifyAll {
		*sample = len(calls)
	}
	sum.Verification = tg.verify(ch.ID, calls, *sample, int64(sum.Acknowledged))
	sum.ServerRSS = tg.rss()

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		printSummary(stdout, &sum)
		for _, s := range []*subscribersJSON{sum.Consoles, sum.Streams} {
			if s != nil {
				printSubscribers(stdout, s)
			}
		}
	}
	switch {
	case sum.Consoles != nil && sum.Consoles.Lost > 0:
		return fmt.Errorf("bench: %d callback fragments never reached their consoles", sum.Consoles.Lost)
	case sum.Streams != nil && (sum.Streams.Lost > 0 || sum.Streams.Duplicates > 0 || sum.Streams.Gaps > 0):
		return fmt.Errorf("bench: stream subscribers lost %d feed rows, got %d twice and saw %d gaps",
			sum.Streams.Lost, sum.Streams.Duplicates, sum.Streams.Gaps)
	case sum.Verification.Lost > 0:
		return fmt.Errorf("bench: %d acknowledged callbacks are not stored", sum.Verification.Lost)
	case len(sum.Verification.Mismatches) > 0:
		return fmt.Errorf("bench: %d calls differ from what was sent", len(sum.Verification.Mismatches))
	case sum.Acknowledged == 0:
		return errors.New("bench: no callback was acknowledged")
	}
	return nil
}

func randomRun() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func printSummary(w io.Writer, s *benchSummary) {
	fmt.Fprintf(w, "%s callbacks to %s over %d connections for %.1fs\n", s.Provider, s.URL, s.Connections, s.DurationS)
	fmt.Fprintf(w, "sent %d  acknowledged %d  errors %d", s.Sent, s.Acknowledged, s.Errors)
	codes := make([]string, 0, len(s.Non2xx))
	for c := range s.Non2xx {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "  HTTP %s: %d", c, s.Non2xx[c])
	}
	fmt.Fprintln(w)
	if s.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", s.FirstError)
	}
	fmt.Fprintf(w, "calls %d (%d out of order, %d duplicate callbacks)\n", s.Calls, s.OutOfOrder, s.Duplicates)
	fmt.Fprintf(w, "throughput %.0f acknowledged callbacks/s\n", s.Rate)
	fmt.Fprintf(w, "latency p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n", s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	if c := s.Ceiling; c != nil {
		fmt.Fprintf(w, "ceiling GET /healthz %.0f/s (p99 %.2fms): callbacks run at %.0f%% of it\n", c.Rate, c.Latency.P99, 100*c.Fraction)
	}
	v := s.Verification
	fmt.Fprintf(w, "verified %d calls, %d callbacks stored for %d acknowledged: ", v.CallsChecked, v.StoredCallbacks, s.Acknowledged)
	if v.OK {
		fmt.Fprintln(w, "ok")
	} else {
		fmt.Fprintf(w, "%d lost, %d mismatches\n", v.Lost, len(v.Mismatches))
		for _, m := range v.Mismatches[:min(len(v.Mismatches), 20)] {
			fmt.Fprintln(w, "  "+m)
		}
	}
	if s.ServerRSS > 0 {
		fmt.Fprintf(w, "server RSS %.0f MiB\n", float64(s.ServerRSS)/(1<<20))
	}
}

// verify reads back a sample of the calls (every one when n covers them
// all) and counts the channel's stored callbacks through the API.
func (t *target) verify(chID string, calls []callRecord, n int, acked int64) verifyJSON {
	v := verifyJSON{Mismatches: []string{}}
	var complete []callRecord
	for _, c := range calls {
		if c.complete {
			complete = append(complete, c)
		}
	}
	if n < len(complete) {
		mrand.Shuffle(len(complete), func(i, j int) { complete[i], complete[j] = complete[j], complete[i] })
		complete = complete[:n]
	}
	for _, c := range complete {
		v.CallsChecked++
		if msg := t.checkCall(chID, c); msg != "" {
			v.Mismatches = append(v.Mismatches, msg)
		}
	}
	stored, err := t.countCallbacks(chID)
	if err != nil {
		v.Mismatches = append(v.Mismatches, "count stored callbacks: "+err.Error())
	}
	v.StoredCallbacks = stored
	if err == nil && stored < acked {
		v.Lost = acked - stored
	}
	v.OK = len(v.Mismatches) == 0 && v.Lost == 0
	return v
}

func (t *target) checkCall(chID string, c callRecord) string {
	var list struct {
		Items []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if _, err := t.api("GET", "/api/v1/calls?channel_id="+url.QueryEscape(chID)+"&provider_call_id="+url.QueryEscape(c.id), nil, &list); err != nil {
		return fmt.Sprintf("call %s: %v", c.id, err)
	}
	if len(list.Items) != 1 {
		return fmt.Sprintf("call %s: %d calls stored, want 1", c.id, len(list.Items))
	}
	var call struct {
		Status string            `json:"status"`
		Events []json.RawMessage `json:"events"`
	}
	if _, err := t.api("GET", fmt.Sprintf("/api/v1/calls/%d", list.Items[0].ID), nil, &call); err != nil {
		return fmt.Sprintf("call %s: %v", c.id, err)
	}
	if call.Status != "completed" || len(call.Events) != c.wantEvents {
		return fmt.Sprintf("call %s: status %s with %d events, want completed with %d", c.id, call.Status, len(call.Events), c.wantEvents)
	}
	return ""
}

// countCallbacks pages through the channel's stored callbacks, duplicates
// and rejections included.
func (t *target) countCallbacks(chID string) (int64, error) {
	var n int64
	cursor := ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor *string           `json:"next_cursor"`
		}
		path := "/api/v1/callbacks?limit=500&channel_id=" + url.QueryEscape(chID)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := t.api("GET", path, nil, &page); err != nil {
			return n, err
		}
		n += int64(len(page.Items))
		if page.NextCursor == nil || *page.NextCursor == "" || len(page.Items) == 0 {
			return n, nil
		}
		cursor = *page.NextCursor
	}
}

// rss reads the server's resident memory from its /metrics (the process
// collector); for the in-process server that includes the generator.
func (t *target) rss() int64 {
	v, _ := t.metric("process_resident_memory_bytes")
	return int64(v)
}

// metric reads one unlabelled sample of the server's /metrics.
func (t *target) metric(name string) (float64, bool) {
	body, err := t.get("/metrics")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil && !math.IsNaN(f) {
				return f, true
			}
		}
	}
	return 0, false
}
