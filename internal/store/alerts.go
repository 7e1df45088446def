package store

import (
	"context"
	"fmt"
	"time"

	"callhook/internal/voice"
)

// CreateAlert inserts a firing alert inside tx and publishes it.
func (tx *Tx) CreateAlert(ctx context.Context, a *Alert, now time.Time) error {
	a.State = string(voice.AlertFiring)
	a.CreatedAt, a.UpdatedAt = now, now
	if a.Mode == "" {
		a.Mode = voice.ModeAll
	}
	if a.PendingTargets == nil {
		a.PendingTargets = []string{}
	}
	if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
		return fmt.Errorf("store: create alert: %w", err)
	}
	return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedAlertCreated, AlertID: &a.ID, ChannelID: a.ChannelID,
		Data: mustJSON(a.View()), CreatedAt: now})
}

// UpdateCall saves a call changed outside a callback (placing result, poll).
func (tx *Tx) UpdateCall(ctx context.Context, c *Call) error { return tx.updateCall(ctx, c) }

// FindCall returns the channel's call a provider knows as providerCallID, or nil, inside tx.
func (tx *Tx) FindCall(ctx context.Context, channelID, prov, providerCallID string) (*Call, error) {
	return tx.findCall(ctx, channelID, prov, providerCallID)
}

// DueForPoll returns up to limit calls whose next poll time has come. On
// PostgreSQL it claims them, so another process does not poll them too.
func (s *Store) DueForPoll(ctx context.Context, now time.Time, limit int) ([]Call, error) {
	out, err := s.d.dueForPoll(ctx, s, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due for poll: %w", err)
	}
	return out, nil
}

// AddCallEvent records an event that did not come from a callback (a poll
// result, an error placing the call) on call c and advances its status. A
// status event that changes nothing is not recorded, so polling does not flood
// the timeline. It reports whether an event was stored.
func (tx *Tx) AddCallEvent(ctx context.Context, c *Call, e voice.Event, now time.Time) (bool, error) {
	before := *c
	changed := applyToCall(c, e)
	if e.Type == voice.EventStatus && !changed {
		return false, nil
	}
	ev := newEvent(0, c.ChannelID, c.Provider, e, now)
	ev.CallID = &c.ID
	if err := tx.insertEvent(ctx, ev); err != nil {
		*c = before
		return false, err
	}
	if err := tx.Publish(ctx, voice.FeedItem{Type: voice.FeedEvent, CallID: &c.ID, AlertID: c.AlertID, ChannelID: &c.ChannelID,
		Data: mustJSON(ev.View()), CreatedAt: now}); err != nil {
		return false, err
	}
	if changed {
		c.UpdatedAt = now
		return true, tx.updateCall(ctx, c)
	}
	return true, nil
}

// SetPollSchedule saves a call's poll counters without publishing anything.
func (tx *Tx) SetPollSchedule(ctx context.Context, c *Call) error {
	if _, err := tx.NewUpdate().Model(c).Column("poll_attempts", "next_poll_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("store: poll schedule: %w", err)
	}
	return nil
}

// EscalatingAlerts returns up to limit firing sequential alerts with targets
// not called yet, oldest first.
func (s *Store) EscalatingAlerts(ctx context.Context, limit int) ([]Alert, error) {
	var out []Alert
	err := s.db.NewSelect().Model(&out).
		Where("mode = ? AND state = ? AND pending_targets <> '[]'", voice.ModeSequential, string(voice.AlertFiring)).
		Order("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: escalating alerts: %w", err)
	}
	return out, nil
}

// TakeNextTarget removes and returns the first pending target of a firing
// sequential alert inside tx ("" when there is none, or the alert stopped
// firing meanwhile), so a target is called once.
func (tx *Tx) TakeNextTarget(ctx context.Context, alertID int64, now time.Time) (string, error) {
	al, err := GetAlert(ctx, tx, alertID)
	if err != nil {
		return "", err
	}
	if al.State != string(voice.AlertFiring) || len(al.PendingTargets) == 0 {
		return "", nil
	}
	next := al.PendingTargets[0]
	al.PendingTargets = al.PendingTargets[1:]
	al.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(al).Column("pending_targets", "updated_at").WherePK().Exec(ctx); err != nil {
		return "", fmt.Errorf("store: take next target: %w", err)
	}
	tx.publish(voice.FeedItem{Type: voice.FeedAlertUpdated, AlertID: &al.ID, ChannelID: al.ChannelID,
		Data: mustJSON(al.View()), CreatedAt: now})
	return next, nil
}
