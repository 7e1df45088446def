package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// Query functions take bun.IDB so they work on the read pool and inside a write transaction.

func findCall(ctx context.Context, db bun.IDB, channelID, prov, providerCallID string) (*Call, error) {
	c := new(Call)
	err := db.NewSelect().Model(c).Where("channel_id = ? AND provider = ? AND provider_call_id = ?", channelID, prov, providerCallID).
		Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: find call: %w", err)
	}
	return c, nil
}

// GetAlert returns alert id.
func GetAlert(ctx context.Context, db bun.IDB, id int64) (*Alert, error) {
	a := new(Alert)
	if err := db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "alert")
	}
	return a, nil
}

// NewestFiringAlert returns the newest firing alert of the channel, or nil.
// Only the channel's own alerts: an inbound caller of one channel never hears
// or changes another's (docs/architecture.md, "Channel isolation").
func NewestFiringAlert(ctx context.Context, db bun.IDB, channelID string) (*Alert, error) {
	a := new(Alert)
	err := db.NewSelect().Model(a).Where("state = ? AND channel_id = ?", string(voice.AlertFiring), channelID).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: newest firing alert: %w", err)
	}
	return nil, nil
}

// GetChannel returns channel id.
func GetChannel(ctx context.Context, db bun.IDB, id string) (*Channel, error) {
	c := new(Channel)
	if err := db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "channel")
	}
	return c, nil
}

// Channel returns channel id from the read pool.
func (s *Store) Channel(ctx context.Context, id string) (*Channel, error) {
	return GetChannel(ctx, s.db, id)
}

// Channels lists every channel by name.
func (s *Store) Channels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := s.db.NewSelect().Model(&out).Order("name", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	return out, nil
}

// CreateChannel inserts c.
func (s *Store) CreateChannel(ctx context.Context, c *Channel) error {
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	defer s.cache.forget()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			if isUnique(err) {
				return fmt.Errorf("channel %q: %w", c.ID, ErrConflict)
			}
			return fmt.Errorf("store: create channel: %w", err)
		}
		return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedChannelChange, ChannelID: &c.ID, Data: mustJSON(map[string]string{"id": c.ID, "name": c.Name, "change": "created"})})
	})
}

// UpdateChannel loads channel id, lets fn change it and saves it, in one transaction.
func (s *Store) UpdateChannel(ctx context.Context, id string, fn func(c *Channel) error) (*Channel, error) {
	defer s.cache.forget()
	var out *Channel
	err := s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		c, err := GetChannel(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		c.UpdatedAt = time.Now().UTC()
		if _, err := tx.NewUpdate().Model(c).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store: update channel: %w", err)
		}
		out = c
		return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedChannelChange, ChannelID: &c.ID, Data: mustJSON(map[string]string{"id": c.ID, "name": c.Name, "change": "updated"})})
	})
	return out, err
}

// DeleteChannel removes channel id. Its calls and callbacks stay for the record.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	defer s.cache.forget()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		r, err := tx.NewDelete().Model((*Channel)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: delete channel: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("channel: %w", ErrNotFound)
		}
		return tx.Publish(ctx, voice.FeedItem{Type: voice.FeedChannelChange, ChannelID: &id, Data: mustJSON(map[string]string{"id": id, "change": "deleted"})})
	})
}

// GlobalProvider returns the global provider setting, or nil if none is set.
func (s *Store) GlobalProvider(ctx context.Context) (*ProviderSetting, error) {
	p := new(ProviderSetting)
	err := s.db.NewSelect().Model(p).Where("id = 1").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: global provider: %w", err)
	}
	return p, nil
}

// SetGlobalProvider replaces the global provider setting.
func (s *Store) SetGlobalProvider(ctx context.Context, typ string, cfg map[string]string) error {
	p := &ProviderSetting{ID: 1, Type: typ, Config: cfg, UpdatedAt: time.Now().UTC()}
	defer s.cache.forget()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.NewInsert().Model(p).On("CONFLICT (id) DO UPDATE").
			Set("type = EXCLUDED.type").Set("config = EXCLUDED.config").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: set provider: %w", err)
		}
		return nil
	})
}
