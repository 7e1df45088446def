package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"callhook/internal/callback"
	"callhook/internal/channel"
	"callhook/internal/dispatch"
)

// prefillChannel is one channel prefill writes through, with the generator
// of its lifecycles.
type prefillChannel struct {
	id, secret, path string
	flow             *flow
	// alerts: each call belongs to an alert its DTMF key acknowledges.
	alerts bool
}

// prefillDB fills the database at dbURL with n callbacks of realistic
// history and returns: mostly signed Twilio inbound lifecycles, some
// generic outbound calls of alerts acknowledged by keypad, duplicates,
// out-of-order deliveries, and about 2% rejected callbacks (bad secret,
// bad signature). Callbacks go through the same pipeline the HTTP handler
// calls, from conns goroutines, so the store batches their commits as it
// does under load; only the HTTP layer is skipped.
func prefillDB(ctx context.Context, dbURL string, n, conns int, stdout, stderr io.Writer) error {
	app, err := Start(ctx, Config{Addr: "127.0.0.1:0", DB: dbURL, AdminPassword: env("CALLHOOK_ADMIN_PASSWORD", ""),
		MaxBody: 1 << 20, MaxEvents: 100, LogLevel: "error"}, newLogger("error", stderr), stdout)
	if err != nil {
		return err
	}
	defer app.Shutdown(30 * time.Second)
	run := randomRun()
	host := app.ln.Addr().String()
	var chans []*prefillChannel
	for _, p := range []string{"twilio", "generic"} {
		over, err := providerOverride(p)
		if err != nil {
			return err
		}
		po := &channel.ProviderOverride{Type: over["type"].(string), Config: over["config"].(map[string]string), CallbacksOnly: true}
		name := "prefill " + p
		ch, err := app.Server.Channels.Create(ctx, channel.Input{ID: "prefill-" + p + "-" + run[:8], Name: &name, Provider: &po})
		if err != nil {
			return fmt.Errorf("prefill: create %s channel: %w", p, err)
		}
		u := channel.CallbackURL(app.Config.PublicURL, ch.ID, ch.Secret)
		pu, _ := url.Parse(u)
		chans = append(chans, &prefillChannel{id: ch.ID, secret: ch.Secret, path: pu.Path, flow: newFlow(p, u, run), alerts: p == "generic"})
	}
	svc := app.Server.Callbacks
	m := mix{dup: 0.03, outOfOrder: 0.1, dtmf: 0.3}
	var done, seq atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d := done.Load()
				fmt.Fprintf(stderr, "prefill %d/%d callbacks  %.0f/s\n", d, n, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	handle := func(pc *prefillChannel, r *wireReq, secret, remote string) {
		h := http.Header{"Content-Type": {r.ctype}}
		for _, kv := range r.header {
			h.Set(kv[0], kv[1])
		}
		res := svc.Handle(ctx, callback.Inbound{ChannelID: pc.id, Secret: secret, Method: "POST", RawQuery: r.query,
			URLSize: len(pc.path) + len(r.query), Header: h, Body: r.body, BodySize: len(r.body),
			RemoteAddr: remote, Scheme: "http", Host: host})
		if res.Status >= 500 {
			firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d: %s", res.Status, res.Body))
		}
		done.Add(1)
	}
	var wg sync.WaitGroup
	for w := range max(conns, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			for done.Load() < int64(n) && ctx.Err() == nil {
				pc := chans[0]
				if rng.IntN(100) < 15 {
					pc = chans[1]
				}
				lc := pc.flow.lifecycle(uint64(seq.Add(1)), rng, m, time.Now())
				if lc.register {
					in := dispatch.CallInput{ChannelID: pc.id, To: "+15550100", ProviderCallID: lc.callID}
					if pc.alerts {
						id, err := app.Dispatch.CreateAlert(ctx, dispatch.AlertInput{Title: "Prefill alert " + lc.callID,
							Message: "disk usage above 90%", Severity: "critical", ChannelID: pc.id})
						if err != nil {
							firstErr.CompareAndSwap(nil, "create alert: "+err.Error())
							continue
						}
						in.AlertID = &id
					}
					if _, err := app.Dispatch.PlaceCall(ctx, in); err != nil {
						firstErr.CompareAndSwap(nil, "register call: "+err.Error())
						continue
					}
				}
				for i := range lc.reqs {
					r := &lc.reqs[i]
					handle(pc, r, pc.secret, "203.0.113.10")
					// About 2% of the history is rejected: a stale or
					// guessed secret, or a signature that does not match.
					switch x := rng.IntN(100); {
					case x == 0:
						handle(pc, r, "not-the-secret", fmt.Sprintf("198.51.100.%d", rng.IntN(250)))
					case x == 1:
						bad := *r
						bad.body = append([]byte(nil), r.body...)
						bad.body[len(bad.body)/2] ^= 1
						handle(pc, &bad, pc.secret, "203.0.113.10")
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	took := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("prefill: %s", e)
	}
	fmt.Fprintf(stdout, "prefilled %s with %d callbacks in %s: %.0f callbacks/s\n", dbURL, done.Load(), took.Round(time.Millisecond),
		float64(done.Load())/took.Seconds())
	return nil
}
