package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"callhook/internal/store"
)

// TestBenchJSON runs bench against its own server for a short while per
// provider and checks the summary: callbacks acknowledged, none lost, the
// sampled calls complete with every event, duplicates and out-of-order
// deliveries actually sent.
func TestBenchJSON(t *testing.T) {
	for _, prov := range []string{"twilio", "generic"} {
		t.Run(prov, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := []string{"--provider", prov, "--duration", "1500ms", "--c", "8", "--json", "--raw", "--raw-duration", "300ms",
				"--dup", "0.2", "--out-of-order", "0.5"}
			if err := run(context.Background(), append([]string{"bench"}, args...), nil, &out, &errs); err != nil {
				t.Fatalf("bench: %v\n%s\n%s", err, out.String(), errs.String())
			}
			var s benchSummary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("summary is not JSON: %v\n%s", err, out.String())
			}
			v := s.Verification
			switch {
			case s.Acknowledged == 0 || s.Acknowledged != s.Sent || s.Errors != 0 || len(s.Non2xx) != 0:
				t.Errorf("sent %d, acknowledged %d, errors %d (%s), non-2xx %v", s.Sent, s.Acknowledged, s.Errors, s.FirstError, s.Non2xx)
			case !v.OK || v.Lost != 0 || v.StoredCallbacks < int64(s.Acknowledged) || v.CallsChecked == 0:
				t.Errorf("verification %+v for %d acknowledged", v, s.Acknowledged)
			case s.Duplicates == 0 || s.OutOfOrder == 0:
				t.Errorf("%d duplicates and %d out-of-order calls sent, want some of each", s.Duplicates, s.OutOfOrder)
			case s.Ceiling == nil || s.Ceiling.Rate <= 0 || s.Latency.P99 <= 0:
				t.Errorf("ceiling %+v, latency %+v", s.Ceiling, s.Latency)
			}
			if !bytes.Contains(errs.Bytes(), []byte(prov+" ")) {
				t.Errorf("no progress line on stderr: %q", errs.String())
			}
		})
	}
}

// TestBenchPrefill fills a fresh database and reads it back through the
// store: at least the asked number of callbacks, accepted ones and the
// rejected share, completed calls.
func TestBenchPrefill(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "prefill.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--prefill", "2000", "--db", db}, nil, &out, io.Discard); err != nil {
		t.Fatalf("prefill: %v\n%s", err, out.String())
	}
	st, err := openStore(context.Background(), Config{DB: db}, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	outcomes := map[string]int{}
	each(t, func(f store.ListFilter) (store.Page[store.Callback], error) {
		return st.Callbacks(context.Background(), f)
	},
		func(c store.Callback) { outcomes[c.Outcome]++ })
	total := 0
	for _, n := range outcomes {
		total += n
	}
	if total < 2000 || outcomes["accepted"] < total*8/10 || outcomes["rejected"] == 0 || outcomes["rejected"] > total/10 {
		t.Errorf("stored callbacks by outcome %v (total %d), want ≥ 2000, mostly accepted, a few rejected", outcomes, total)
	}
	statuses := map[string]int{}
	each(t, func(f store.ListFilter) (store.Page[store.Call], error) { return st.Calls(context.Background(), f) },
		func(c store.Call) { statuses[c.Status]++ })
	if statuses["completed"] < 300 || len(statuses) != 1 {
		t.Errorf("calls by status %v, want hundreds, all completed", statuses)
	}
}

// each visits every row of a paged store listing.
func each[T any](t *testing.T, list func(store.ListFilter) (store.Page[T], error), visit func(T)) {
	t.Helper()
	f := store.ListFilter{Limit: 500}
	for {
		p, err := list(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			visit(it)
		}
		if p.NextCursor == nil || len(p.Items) == 0 {
			return
		}
		f.Cursor = *p.NextCursor
	}
}

// TestBenchSubscribers runs bench with subscribers open, of each kind:
// every acknowledged callback's fragment reaches every console, and every
// feed row every stream client once and in order, with a latency per
// callback and the server's CPU measured.
func TestBenchSubscribers(t *testing.T) {
	for _, kind := range []string{"console", "stream"} {
		t.Run(kind, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := []string{"bench", "--provider", "generic", "--subscribers", "20", "--subscribers-kind", kind,
				"--duration", "2s", "--rate", "100", "--c", "8", "--json"}
			if err := run(context.Background(), args, nil, &out, &errs); err != nil {
				t.Fatalf("bench: %v\n%s\n%s", err, out.String(), errs.String())
			}
			var s benchSummary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("summary is not JSON: %v\n%s", err, out.String())
			}
			c, other := s.Consoles, s.Streams
			if kind == "stream" {
				c, other = s.Streams, s.Consoles
			}
			if c == nil || other != nil {
				t.Fatalf("want only %s subscribers in the summary:\n%s", kind, out.String())
			}
			// A stream gets every row: the callback, its event, the call's
			// change and the calls registered through the API.
			wantExpected := c.Expected == 20*s.Acknowledged
			if kind == "stream" {
				wantExpected = c.Expected > 20*s.Acknowledged && c.Expected%20 == 0
			}
			switch {
			case c.Kind != kind || c.Subscribers != 20 || s.Acknowledged == 0 || !wantExpected:
				t.Errorf("%d %s subscribers expecting %d for %d acknowledged callbacks", c.Subscribers, c.Kind, c.Expected, s.Acknowledged)
			case c.Deliveries != c.Expected || c.Lost != 0 || c.Reloads != 0 || c.Duplicates != 0 || c.Gaps != 0 || c.Drops != 0:
				t.Errorf("delivered %d of %d, %d lost, %d reloads, %d duplicates, %d gaps, %d drops",
					c.Deliveries, c.Expected, c.Lost, c.Reloads, c.Duplicates, c.Gaps, c.Drops)
			// Generic callbacks carry one event each, except duplicates.
			case c.Samples < 20*(s.Acknowledged-s.Duplicates) || c.Samples > 20*s.Acknowledged:
				t.Errorf("%d latency samples for %d acknowledged callbacks (%d duplicates) at 20 subscribers", c.Samples, s.Acknowledged, s.Duplicates)
			case c.Latency.P99 <= 0 || c.Latency.P99 < c.Latency.P50 || c.Latency.P99 > 2000:
				t.Errorf("delivery latency %+v", c.Latency)
			case c.CPUSeconds <= 0 || c.CPUPerSubscriber <= 0 || !c.InProcess:
				t.Errorf("CPU %+v", c)
			}
		})
	}
}

// TestBenchFinishesCallsAtItsRate: with --rate, the calls in progress when
// the run ends are finished at the same pace, not in one burst that the
// latency figures would then measure; the run as a whole keeps the rate.
func TestBenchFinishesCallsAtItsRate(t *testing.T) {
	const rate, steps = 200.0, 6
	lc := loadConfig{conns: 16, duration: 150 * time.Millisecond, rate: rate, progress: io.Discard}
	var mu sync.Mutex
	var sends []time.Time
	_, took := drive(context.Background(), lc, &counters{}, func(ctx context.Context, w int, st *workerStats, p *pacer) {
		for {
			if _, on := p.next(); !on {
				return
			}
			for i := range steps {
				if i > 0 {
					p.then()
				}
				mu.Lock()
				sends = append(sends, time.Now())
				mu.Unlock()
			}
		}
	})
	start := sends[0]
	var after []time.Time
	for _, s := range sends {
		if s.Sub(start) > lc.duration {
			after = append(after, s)
		}
	}
	if len(after) < 4 {
		t.Fatalf("only %d sends after the end: the test needs calls in progress then", len(after))
	}
	span := after[len(after)-1].Sub(after[0])
	if want := time.Duration(float64(len(after)-1) / rate * 0.8 * float64(time.Second)); span < want {
		t.Errorf("%d sends finishing the calls took %v, want at least %v at %v/s", len(after), span, want, rate)
	}
	if got := float64(len(sends)) / took.Seconds(); got < 0.75*rate {
		t.Errorf("%d sends in %v is %.0f/s, want about %v/s", len(sends), took, got, rate)
	}
}
