package store

import "callhook/internal/voice"

// callCache remembers, between the writer's transactions, the committed
// rows of calls still in progress, so a callback about such a call (nearly
// every status callback) does not read it again: that read was a twentieth
// of a callback's time. It is the writer goroutine's alone and is used only
// where the writer is the database's one writer (SQLite; on PostgreSQL other
// processes change calls). A finished call leaves it, so it holds about the
// calls in progress; past maxCachedCalls it starts again empty.
//
// What it holds is what the last transaction committed: the writer forgets
// everything when a transaction runs any other write (which may change
// calls in ways the cache does not see) and when a transaction fails (its
// rows were changed in memory before the rollback).
type callCache struct {
	rows map[callKey]*Call
}

const maxCachedCalls = 16384

func newCallCache() *callCache { return &callCache{rows: map[callKey]*Call{}} }

// fill puts the remembered calls among keys into st.
func (c *callCache) fill(st *ingestState, keys []callKey) {
	if c == nil {
		return
	}
	for _, k := range keys {
		if row := c.rows[k]; row != nil && st.calls[k] == nil {
			s := callState(row)
			st.calls[k] = s
			st.rows[s] = row
		}
	}
}

// keep remembers the calls of a committed transaction.
func (c *callCache) keep(rows []*Call) {
	if c == nil {
		return
	}
	for _, row := range rows {
		k := callKey{row.ChannelID, row.Provider, row.ProviderCallID}
		if voice.Status(row.Status).Terminal() {
			delete(c.rows, k)
			continue
		}
		if len(c.rows) >= maxCachedCalls {
			clear(c.rows)
		}
		c.rows[k] = row
	}
}

// forget drops everything.
func (c *callCache) forget() {
	if c != nil {
		clear(c.rows)
	}
}
