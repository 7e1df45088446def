package callback_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"callhook/internal/callback"
)

// BenchmarkHandleParallel runs unique generic callbacks through the whole
// pipeline (secret, parse, group-committed transaction with synchronous=FULL)
// from many goroutines, as a loaded server would.
func BenchmarkHandleParallel(b *testing.B) {
	e := newEnv(b)
	e.register("bench-call", 0)
	var n atomic.Int64
	h := http.Header{"Content-Type": {"application/json"}}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Appendf(nil, `{"call_id":"bench-call","event_type":"status","status":"ringing","event_id":"e%d"}`, i)
			res := e.svc.Handle(context.Background(), callback.Inbound{ChannelID: e.ch.ID, Secret: e.ch.Secret,
				Method: "POST", Header: h, Body: body})
			if res.Status != 200 {
				b.Fatalf("status %d %s", res.Status, res.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
}
