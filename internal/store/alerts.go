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
	if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
		return fmt.Errorf("store: create alert: %w", err)
	}
	return tx.Publish(ctx, FeedItem{Type: FeedAlertCreated, AlertID: &a.ID, ChannelID: a.ChannelID,
		Data: mustJSON(a.View()), CreatedAt: now})
}

// UpdateCall saves a call changed outside a callback (placing result, poll).
func (tx *Tx) UpdateCall(ctx context.Context, c *Call) error { return tx.updateCall(ctx, c) }

// FindCall returns the call a provider knows as providerCallID, or nil, inside tx.
func (tx *Tx) FindCall(ctx context.Context, prov, providerCallID string) (*Call, error) {
	return findCall(ctx, tx, prov, providerCallID)
}

// DueForPoll returns up to limit calls whose next poll time has come.
func (s *Store) DueForPoll(ctx context.Context, now time.Time, limit int) ([]Call, error) {
	var out []Call
	err := s.db.NewSelect().Model(&out).Where("next_poll_at IS NOT NULL AND next_poll_at <= ?", now).
		Order("next_poll_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: due for poll: %w", err)
	}
	return out, nil
}
