package store

import (
	"context"
	"fmt"
	"time"
)

// KeypadAction is one keypad (DTMF) event of a channel with what the
// mapping made of it.
type KeypadAction struct {
	EventID int64  `bun:"id"`
	Digit   string `bun:"digit"`
	// Action is the mapped action ("" when the keys are not mapped).
	Action string `bun:"action"`
	// Applied is true when the action changed the alert's state.
	Applied bool `bun:"applied"`
	// CallID is nil for an event of an unknown call; AlertID is the call's alert.
	CallID     *int64    `bun:"call_id"`
	AlertID    *int64    `bun:"alert_id"`
	ReceivedAt time.Time `bun:"received_at"`
}

// KeypadActions returns the newest limit keypad events of a channel, newest
// first, with their call's alert; it walks the partial index
// events_channel_dtmf (migrations/sqlite/20261201000010_keypad.up.sql).
func (s *Store) KeypadActions(ctx context.Context, channelID string, limit int) ([]KeypadAction, error) {
	out := []KeypadAction{}
	err := s.db.NewRaw(`SELECT e.id, e.digit, e.action, e.applied, e.call_id, c.alert_id, e.received_at
		FROM events AS e LEFT JOIN calls AS c ON c.id = e.call_id
		WHERE e.channel_id = ? AND e.event_type = 'dtmf'
		ORDER BY e.id DESC LIMIT ?`, channelID, limit).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: keypad actions of %s: %w", channelID, err)
	}
	return out, nil
}
