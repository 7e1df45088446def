// Package demo keeps a new install lively: it creates a "demo" channel that
// uses the simulator provider and raises an alert with simulated calls every
// so often, so the console shows live activity with no account anywhere.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"callhook/internal/channel"
	"callhook/internal/dispatch"
	"callhook/internal/store"
)

// ChannelID is the demo channel's id.
const ChannelID = "demo"

var titles = []string{
	"Database primary CPU above 95%", "Checkout latency p99 over 2s", "Disk 92% full on log-01",
	"Payment webhook errors spiking", "TLS certificate expires in 3 days", "Queue backlog over 10k messages",
}

// Run ensures the demo channel and raises an alert every interval until ctx ends.
func Run(ctx context.Context, st *store.Store, ch *channel.Manager, d *dispatch.Dispatcher, interval time.Duration, log *slog.Logger) error {
	if _, err := st.Channel(ctx, ChannelID); store.IsNotFound(err) {
		name := "Demo (simulator)"
		sim := &channel.ProviderOverride{Type: "simulator", Config: map[string]string{}}
		if _, err := ch.Create(ctx, channel.Input{ID: ChannelID, Name: &name, Provider: &sim}); err != nil {
			return fmt.Errorf("demo: create channel: %w", err)
		}
	} else if err != nil {
		return err
	}
	if interval <= 0 {
		interval = 20 * time.Second
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		targets := []string{fmt.Sprintf("+1555%07d", rand.IntN(10000000))}
		if rand.IntN(3) == 0 {
			targets = append(targets, fmt.Sprintf("+1555%07d", rand.IntN(10000000)))
		}
		_, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: titles[rand.IntN(len(titles))],
			Message: "Simulated alert from demo mode.", Severity: "critical", ChannelID: ChannelID, Targets: targets})
		if err != nil && ctx.Err() == nil {
			log.Warn("demo alert failed", "err", err)
		}
		t.Reset(interval)
	}
}
