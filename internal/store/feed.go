package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// The live feed (docs/architecture.md, "The live feed") is one row per
// committed transaction that published anything: the items numbered seq ..
// last, as a JSON array. A callback publishes three or four items (its call,
// event, call update and itself); one row per item cost a tenth of the
// writer's time. The numbers follow commit order: only the writer inserts
// on SQLite, and PostgreSQL's processes take the feed lock first.

// feedRow is the bun row of one transaction's feed items.
type feedRow struct {
	bun.BaseModel `bun:"table:feed"`

	Seq       int64     `bun:"seq,pk"`
	Last      int64     `bun:"last"`
	Items     string    `bun:"items"`
	CreatedAt time.Time `bun:"created_at"`
}

// feedItemJSON is one item as a feed row stores it; the row gives its seq.
type feedItemJSON struct {
	Type      string          `json:"type"`
	CallID    *int64          `json:"call_id"`
	AlertID   *int64          `json:"alert_id"`
	ChannelID *string         `json:"channel_id"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// appendFeed gives items the numbers after last and appends to b the JSON
// array a feed row stores them as. Each item's data is JSON already and is
// copied in as it is.
func appendFeed(b []byte, items []voice.FeedItem, last int64) []byte {
	b = append(b, '[')
	for i := range items {
		it := &items[i]
		it.Seq = last + 1 + int64(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendJSONString(b, it.Type)
		b = append(b, `,"call_id":`...)
		b = appendOptInt(b, it.CallID)
		b = append(b, `,"alert_id":`...)
		b = appendOptInt(b, it.AlertID)
		b = append(b, `,"channel_id":`...)
		if it.ChannelID == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, *it.ChannelID)
		}
		b = append(b, `,"created_at":"`...)
		b = it.CreatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","data":`...)
		b = append(b, it.Data...)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendOptInt(b []byte, p *int64) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *p, 10)
}

// appendJSONString appends s quoted; the types and channel ids it is given
// rarely need escaping, so only those that do go through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// packedFeed marks a feed row's items compressed: SQLite stores them as
// a blob, this byte then the S2 block of the JSON array. A row holds a
// whole transaction's items, about 1.5 KB of JSON per callback, and was a
// fifth of the pages each commit wrote; compressed it is a sixth of that.
// Rows written before are JSON text, which never starts with this byte.
// PostgreSQL compresses large values itself.
const packedFeed = 0

// packFeed compresses a feed row's JSON items into dst, grown as needed.
func packFeed(dst, items []byte) []byte {
	if n := 1 + s2.MaxEncodedLen(len(items)); cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:cap(dst)]
	dst[0] = packedFeed
	return dst[:1+len(s2.Encode(dst[1:], items))]
}

// items returns the row's items numbered after after, at most limit.
func (r *feedRow) items(after int64, limit int) ([]voice.FeedItem, error) {
	data := []byte(r.Items)
	if len(data) > 0 && data[0] == packedFeed {
		var err error
		if data, err = s2.Decode(nil, data[1:]); err != nil {
			return nil, fmt.Errorf("store: feed row %d: %w", r.Seq, err)
		}
	}
	var raw []feedItemJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("store: feed row %d: %w", r.Seq, err)
	}
	var out []voice.FeedItem
	for i, it := range raw {
		seq := r.Seq + int64(i)
		if seq <= after {
			continue
		}
		if len(out) == limit {
			break
		}
		at, err := scanOptTime(it.CreatedAt)
		if err != nil || at == nil {
			return nil, fmt.Errorf("store: feed row %d: created_at %q", r.Seq, it.CreatedAt)
		}
		out = append(out, voice.FeedItem{Seq: seq, Type: it.Type, CallID: it.CallID, AlertID: it.AlertID,
			ChannelID: it.ChannelID, Data: string(it.Data), CreatedAt: *at})
	}
	return out, nil
}

// FeedAfter returns up to limit feed items numbered after after, oldest
// first: from the row holding after+1 on.
func (s *Store) FeedAfter(ctx context.Context, after int64, limit int) ([]voice.FeedItem, error) {
	var rows []feedRow
	from := s.db.NewSelect().Model((*feedRow)(nil)).ColumnExpr("COALESCE(MAX(seq), 0)").Where("seq <= ?", after+1)
	if err := s.db.NewSelect().Model(&rows).Where("seq >= (?)", from).Where("last > ?", after).
		Order("seq").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: feed: %w", err)
	}
	var out []voice.FeedItem
	for i := range rows {
		items, err := rows[i].items(after, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// LastSeq returns the newest feed item's number (0 if none).
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	return lastSeq(ctx, s.db)
}

func lastSeq(ctx context.Context, db bun.IDB) (int64, error) {
	var last []int64
	if err := db.NewSelect().Model((*feedRow)(nil)).Column("last").Order("seq DESC").Limit(1).Scan(ctx, &last); err != nil {
		return 0, fmt.Errorf("store: last seq: %w", err)
	}
	if len(last) == 0 {
		return 0, nil
	}
	return last[0], nil
}
