package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*User)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return int(n), nil
}

// CreateUser inserts u.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	u.CreatedAt = time.Now().UTC()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			if isUnique(err) {
				return fmt.Errorf("user %q: %w", u.Name, ErrConflict)
			}
			return fmt.Errorf("store: create user: %w", err)
		}
		return nil
	})
}

// UserByName returns the user called name.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	u := new(User)
	if err := s.db.NewSelect().Model(u).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

// User returns user id.
func (s *Store) User(ctx context.Context, id int64) (*User, error) {
	u := new(User)
	if err := s.db.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.db.NewSelect().Model(&out).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// UpdateUser saves the given columns of u. Disabling a user ends their sessions.
func (s *Store) UpdateUser(ctx context.Context, u *User, columns ...string) error {
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		r, err := tx.NewUpdate().Model(u).Column(columns...).WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("user: %w", ErrNotFound)
		}
		if u.Disabled {
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", u.ID).Exec(ctx); err != nil {
				return fmt.Errorf("store: end sessions: %w", err)
			}
		}
		return nil
	})
}

// CreateToken inserts t.
func (s *Store) CreateToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = time.Now().UTC()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
			return fmt.Errorf("store: create token: %w", err)
		}
		return nil
	})
}

// TokenByHash returns the live (not revoked) token with hash h.
func (s *Store) TokenByHash(ctx context.Context, h []byte) (*APIToken, error) {
	t := new(APIToken)
	if err := s.db.NewSelect().Model(t).Where("token_hash = ? AND revoked_at IS NULL", h).Scan(ctx); err != nil {
		return nil, notFound(err, "token")
	}
	return t, nil
}

// Tokens lists every API token, newest first.
func (s *Store) Tokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	if err := s.db.NewSelect().Model(&out).ExcludeColumn("token_hash").OrderExpr("id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes token id.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	now := time.Now().UTC()
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		r, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", now).
			Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("token: %w", ErrNotFound)
		}
		return nil
	})
}

// CreateSession inserts a console session.
func (s *Store) CreateSession(ctx context.Context, ss *Session) error {
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.NewInsert().Model(ss).Exec(ctx); err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		// Sweep expired sessions while we hold the writer anyway.
		_, err := tx.NewDelete().Model((*Session)(nil)).Where("expires_at < ?", time.Now().UTC()).Exec(ctx)
		return err
	})
}

// SessionUser returns the unexpired session with id and its enabled user.
func (s *Store) SessionUser(ctx context.Context, id []byte) (*Session, *User, error) {
	ss := new(Session)
	err := s.db.NewSelect().Model(ss).Where("id = ? AND expires_at > ?", id, time.Now().UTC()).Scan(ctx)
	if err != nil {
		return nil, nil, notFound(err, "session")
	}
	u, err := s.User(ctx, ss.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	return ss, u, nil
}

// DeleteSession ends session id.
func (s *Store) DeleteSession(ctx context.Context, id []byte) error {
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx)
		return err
	})
}

// IsNotFound reports whether err means a missing row.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, sql.ErrNoRows)
}

// TouchToken records that token id was used at t.
func (s *Store) TouchToken(ctx context.Context, id int64, t time.Time) error {
	return s.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("last_used_at = ?", t).Where("id = ?", id).Exec(ctx)
		return err
	})
}
