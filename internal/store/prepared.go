package store

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts are statements prepared once on the readers for reads made on
// the callback path: a duplicate's reply reads what its original applied,
// and preparing those statements each time was half of what they cost.
// database/sql prepares a statement again on each reader connection that
// runs it and keeps it there. Queries number their parameters ($1, $2),
// which PostgreSQL requires and SQLite reads as the same positions.
type readStmts struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns query prepared.
func (r *readStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.stmts[query]; st != nil {
		return st, nil
	}
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if r.stmts == nil {
		r.stmts = map[string]*sql.Stmt{}
	}
	r.stmts[query] = st
	return st, nil
}

func (r *readStmts) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.stmts {
		st.Close()
	}
	r.stmts = nil
}
