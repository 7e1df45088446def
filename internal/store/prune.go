package store

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch is how many rows one pruning write deletes: small enough that
// the writer's callbacks never wait behind a long delete.
const pruneBatch = 500

// PruneRejected deletes rejected callbacks received before olderThan and,
// beyond the newest maxRows rejected ones, the oldest; in batches of
// pruneBatch rows, each its own write. It returns how many rows it deleted.
func (s *Store) PruneRejected(ctx context.Context, olderThan time.Time, maxRows int) (int, error) {
	total := 0
	// Beyond the row bound: everything up to the (maxRows+1)-th newest.
	var ids []int64
	if err := s.db.NewSelect().Model((*Callback)(nil)).Column("id").Where("outcome = ?", OutcomeRejected).
		OrderExpr("id DESC").Limit(1).Offset(int64(maxRows)).Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("store: prune rejected: %w", err)
	}
	if len(ids) == 1 {
		n, err := s.deleteRejected(ctx, ids[0], time.Time{})
		total += n
		if err != nil {
			return total, err
		}
	}
	// Older than the retention: rejected rows are found oldest first by id.
	for {
		var rows []struct {
			ID         int64     `bun:"id"`
			ReceivedAt time.Time `bun:"received_at"`
		}
		if err := s.db.NewSelect().Model((*Callback)(nil)).Column("id", "received_at").Where("outcome = ?", OutcomeRejected).
			OrderExpr("id").Limit(pruneBatch).Scan(ctx, &rows); err != nil {
			return total, fmt.Errorf("store: prune rejected: %w", err)
		}
		last := int64(0)
		for _, r := range rows {
			if !r.ReceivedAt.Before(olderThan) {
				break
			}
			last = r.ID
		}
		if last == 0 {
			return total, nil
		}
		n, err := s.deleteRejected(ctx, last, olderThan)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// deleteRejected deletes rejected callbacks with ids up to upTo (and, when
// before is set, received before it), pruneBatch rows per write.
func (s *Store) deleteRejected(ctx context.Context, upTo int64, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := s.Write(ctx, func(ctx context.Context, tx *Tx) error {
			sub := tx.NewSelect().Model((*Callback)(nil)).Column("id").
				Where("outcome = ? AND id <= ?", OutcomeRejected, upTo).OrderExpr("id").Limit(pruneBatch)
			if !before.IsZero() {
				sub = sub.Where("received_at < ?", before)
			}
			r, err := tx.NewDelete().Model((*Callback)(nil)).Where("id IN (?)", sub).Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: prune rejected: %w", err)
			}
			n, _ = r.RowsAffected()
			return nil
		})
		total += int(n)
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// PruneFeed deletes the live feed's rows whose items are all older than its
// newest keep items, pruneBatch rows per write. It returns how many rows it
// deleted. A row holding items on both sides of the line is kept whole.
func (s *Store) PruneFeed(ctx context.Context, keep int64) (int64, error) {
	last, err := s.LastSeq(ctx)
	if err != nil || last <= keep {
		return 0, err
	}
	var total int64
	for {
		var n int64
		err := s.Write(ctx, func(ctx context.Context, tx *Tx) error {
			sub := tx.NewSelect().Model((*feedRow)(nil)).Column("seq").Where("seq <= ? AND last <= ?", last-keep, last-keep).
				OrderExpr("seq").Limit(pruneBatch)
			r, err := tx.NewDelete().Model((*feedRow)(nil)).Where("seq IN (?)", sub).Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: prune feed: %w", err)
			}
			n, _ = r.RowsAffected()
			return nil
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}
