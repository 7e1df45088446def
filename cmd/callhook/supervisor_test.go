package main

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A background loop that panics is logged with its stack, counted, and
// started again; the process goes on.
func TestSupervisorRecoversAndRestarts(t *testing.T) {
	var logs syncBuffer
	var panics, runs atomic.Int32
	sup := supervisor{log: slog.New(slog.NewTextHandler(&logs, nil)), panicked: func() { panics.Add(1) }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	restarted := make(chan struct{})
	sup.run(ctx, "test loop", func(ctx context.Context) {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		close(restarted)
		<-ctx.Done()
	})
	select {
	case <-restarted:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop was not started again after its panic")
	}
	if panics.Load() != 1 {
		t.Errorf("%d panics counted, want 1", panics.Load())
	}
	out := logs.String()
	if !strings.Contains(out, "panic recovered") || !strings.Contains(out, "boom") || !strings.Contains(out, "goroutine") {
		t.Errorf("log lacks the panic and its stack:\n%s", out)
	}
}
