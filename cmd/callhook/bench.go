package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"callhook/internal/channel"
)

// bench posts generic status callbacks as fast as it can with C workers and
// reports throughput and latency. With --url unset it starts its own server
// on a temporary SQLite database.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "callback URL of a channel using the generic provider (default: start a server on a temp database)")
	n := fs.Int("n", 20000, "number of callbacks to send")
	c := fs.Int("c", 32, "concurrent senders")
	d := fs.Duration("duration", 60*time.Second, "stop after this long even if -n is not reached")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url := *target
	if url == "" {
		dir, err := os.MkdirTemp("", "callhook-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		app, err := Start(ctx, Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(dir, "bench.db"),
			AdminPassword: "bench-password", MaxBody: 1 << 20, BcryptCost: 4}, newLogger("error", stderr), io.Discard)
		if err != nil {
			return err
		}
		defer app.Shutdown(10 * time.Second)
		ch, err := app.Server.Channels.Create(ctx, channel.Input{ID: "bench"})
		if err != nil {
			return err
		}
		url = app.URL() + "/api/integrations/voice/callback/bench/" + ch.Secret
		fmt.Fprintf(stdout, "started a server at %s on a temporary SQLite database\n", app.URL())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c}, Timeout: 30 * time.Second}
	var next, fails atomic.Int64
	lat := make([][]time.Duration, *c)
	deadline := time.Now().Add(*d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				body := fmt.Appendf(nil, `{"call_id":"bench-%d","event_type":"status","status":"ringing","event_id":"e%d"}`, i%1000, i)
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					fails.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					fails.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return errors.New("bench: no request completed")
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	fmt.Fprintf(stdout, "requests %d  failed %d  in %s\n", len(all), fails.Load(), elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "throughput %.0f req/s\n", float64(len(all))/elapsed.Seconds())
	fmt.Fprintf(stdout, "latency p50 %s  p90 %s  p99 %s  max %s\n", pct(.5), pct(.9), pct(.99), all[len(all)-1])
	return nil
}
