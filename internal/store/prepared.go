package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// readStmts are statements prepared once on the readers for reads made on
// the callback path: a duplicate's reply reads what its original applied,
// and preparing those statements each time was half of what they cost.
// database/sql prepares a statement again on each reader connection that
// runs it and keeps it there.
type readStmts struct {
	db *sql.DB
	pg bool // PostgreSQL numbers its placeholders

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns query prepared, with ? placeholders.
func (r *readStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.stmts[query]; st != nil {
		return st, nil
	}
	q := query
	if r.pg {
		var b strings.Builder
		n := 0
		for _, c := range query {
			if c == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		q = b.String()
	}
	st, err := r.db.PrepareContext(ctx, q)
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
