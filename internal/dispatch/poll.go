package dispatch

import (
	"context"
	"time"

	"callhook/internal/provider"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// RunPoller polls due calls and escalates sequential alerts every tick until
// ctx ends. lag, when not nil, is told how late each due poll ran (the
// metrics' poller lag: a tick's wait, or a poller falling behind).
func (d *Dispatcher) RunPoller(ctx context.Context, tick time.Duration, lag func(time.Duration)) {
	if tick <= 0 {
		tick = 2 * time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.pollDue(ctx, lag)
			d.EscalateOnce(ctx)
		}
	}
}

// PollOnce fetches the status of every call whose poll time has come and
// records a status change in its timeline; it returns how many were polled.
func (d *Dispatcher) PollOnce(ctx context.Context) int { return d.pollDue(ctx, nil) }

func (d *Dispatcher) pollDue(ctx context.Context, lag func(time.Duration)) int {
	now := d.now()
	calls, err := d.Store.DueForPoll(ctx, now, 50)
	if err != nil {
		d.log().Warn("poll: list due calls", "err", err)
		return 0
	}
	for i := range calls {
		if lag != nil && calls[i].NextPollAt != nil {
			lag(d.now().Sub(*calls[i].NextPollAt))
		}
		d.pollCall(ctx, &calls[i], now)
	}
	return len(calls)
}

func (d *Dispatcher) pollCall(ctx context.Context, c *store.Call, now time.Time) {
	giveUp := d.PollGiveUp
	if giveUp <= 0 {
		giveUp = 2 * time.Hour
	}
	var ev *voice.Event
	ch, err := d.Store.Channel(ctx, c.ChannelID)
	if err == nil {
		r, rerr := d.Channels.Provider(ctx, ch)
		spec, cfg := r.Spec, r.Config
		if rerr == nil && spec.Name == c.Provider {
			if p, nerr := spec.New(cfg, d.Deps); nerr == nil {
				if poller, ok := p.(provider.Poller); ok {
					pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
					e, ferr := poller.FetchCall(pctx, c.ProviderCallID)
					cancel()
					red := redactor(ch, spec, cfg)
					if ferr != nil {
						d.log().Warn("poll: fetch call", "call", c.ID, "provider", c.Provider, "err", red.Error(ferr))
					} else {
						e.Message = red.Redact(e.Message)
						ev = &e
					}
				}
			}
		}
	}
	c.PollAttempts++
	next := d.PollInterval
	if next <= 0 {
		next = 10 * time.Second
	}
	for i := 0; i < c.PollAttempts && next < d.maxInterval(); i++ {
		next *= 2
	}
	if next > d.maxInterval() {
		next = d.maxInterval()
	}
	t := now.Add(next)
	c.NextPollAt = &t
	if now.Sub(c.CreatedAt) > giveUp {
		c.NextPollAt = nil
	}
	err = d.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if ev != nil {
			ev.CallID = c.ProviderCallID
			if ev.Native == "" {
				ev.Native = "poll"
			}
			if _, err := tx.AddCallEvent(ctx, c, *ev, now); err != nil {
				return err
			}
		}
		if voice.Status(c.Status).Terminal() {
			c.NextPollAt = nil
		}
		return tx.SetPollSchedule(ctx, c)
	})
	if err != nil {
		d.log().Warn("poll: store", "call", c.ID, "err", err)
	}
}

func (d *Dispatcher) maxInterval() time.Duration {
	if d.PollMaxInterval > 0 {
		return d.PollMaxInterval
	}
	return 5 * time.Minute
}
