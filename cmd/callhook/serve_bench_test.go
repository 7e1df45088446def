package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStartToReady measures the time from exec of "callhook serve" to
// the first 200 of /readyz, whose budget is 300 ms: on a database the
// process creates (migrations and the admin user's password hash included)
// and on one that exists, left by a SIGKILL as after a crash. ns/op counts
// the kill and reaping too; ms-to-ready is the figure.
func BenchmarkStartToReady(b *testing.B) {
	bin := callhookBinary(b)
	report := func(b *testing.B, ready []time.Duration) {
		var total, worst time.Duration
		for _, d := range ready {
			total += d
			worst = max(worst, d)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(len(ready)), "ms-to-ready")
		b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms-to-ready")
	}
	b.Run("new-db", func(b *testing.B) {
		dir := b.TempDir()
		var ready []time.Duration
		for b.Loop() {
			p := startServer(b, bin, filepath.Join(dir, fmt.Sprintf("%d.db", len(ready))))
			p.kill()
			ready = append(ready, p.ready)
		}
		report(b, ready)
	})
	b.Run("existing-db", func(b *testing.B) {
		db := filepath.Join(b.TempDir(), "callhook.db")
		startServer(b, bin, db).kill()
		var ready []time.Duration
		for b.Loop() {
			p := startServer(b, bin, db)
			p.kill()
			ready = append(ready, p.ready)
		}
		report(b, ready)
	})
}

// BenchmarkServeLoad posts b.N signed generic callbacks from 16 kept-alive
// senders to the real server on a new database and reports the server's
// peak resident memory (VmHWM, budget 150 MB) alongside the time per
// callback. Run it with a fixed count so the load is long enough to matter:
//
//	go test -run '^$' -bench ServeLoad -benchtime 30000x ./cmd/callhook/
func BenchmarkServeLoad(b *testing.B) {
	bin := callhookBinary(b)
	db := filepath.Join(b.TempDir(), "callhook.db")
	token := adminToken(b, bin, db)
	srv := startServer(b, bin, db)
	const secret = "bench-signing-secret"
	ch := signedChannel(b, srv.url, token, secret)
	b.ResetTimer()
	res := sendCallbacks(context.Background(), ch, secret, "bench", 16, int64(b.N))
	b.StopTimer()
	rss, err := srv.peakRSS()
	if err != nil {
		b.Fatal(err)
	}
	srv.kill()
	if len(res.acked) != b.N {
		b.Fatalf("%d of %d callbacks acknowledged: refused %v, %d unanswered", len(res.acked), b.N, res.refused, res.failures)
	}
	b.ReportMetric(float64(rss)/1024, "MB-VmHWM")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
}
