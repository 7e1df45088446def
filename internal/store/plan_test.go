package store

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// queryLog records the SELECTs the read pool runs.
type queryLog struct {
	mu      sync.Mutex
	queries []string
}

func (l *queryLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (l *queryLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(e.Query)), "SELECT") {
		l.mu.Lock()
		l.queries = append(l.queries, e.Query)
		l.mu.Unlock()
	}
}

func (l *queryLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries
	l.queries = nil
	return q
}

// fullScan matches a plan step that reads a whole big table, by its name or
// bun's alias for it: "SCAN event" (SQLite prints "SCAN t USING INDEX i" for
// an index walk, "SEARCH" for a lookup).
var fullScan = regexp.MustCompile(`^SCAN (calls?|events?|callbacks?|feed|feed_item|alert_changes?)$`)

// TestListQueriesUseIndexes runs every list and detail read of the API and
// the console with each filter and checks its query plan: none reads a
// whole big table. An unfiltered newest-first page walks the primary key
// backwards and stops at its limit; those are marked bounded.
func TestListQueriesUseIndexes(t *testing.T) {
	if onPostgres() {
		t.Skip("reads SQLite's query plans")
	}
	st := openTest(t)
	ctx := context.Background()
	log := &queryLog{}
	st.db = st.db.WithQueryHook(log)
	cases := []struct {
		name    string
		bounded bool
		run     func() error
	}{
		{"calls page", true, func() error { _, err := st.Calls(ctx, ListFilter{}); return err }},
		{"calls next page", true, func() error { _, err := st.Calls(ctx, ListFilter{Cursor: "100"}); return err }},
		{"calls by status", false, func() error { _, err := st.Calls(ctx, ListFilter{Status: "failed"}); return err }},
		{"calls by channel", false, func() error { _, err := st.Calls(ctx, ListFilter{ChannelID: "c", Cursor: "9"}); return err }},
		{"calls by provider id", false, func() error { _, err := st.Calls(ctx, ListFilter{ProviderCallID: "p"}); return err }},
		{"calls by alert", false, func() error { _, err := st.Calls(ctx, ListFilter{AlertID: 3}); return err }},
		{"call detail", false, func() error { _, err := st.CallView(ctx, 1); return ignoreNotFound(err) }},
		{"call by provider id", false, func() error { _, err := st.CallByProviderID(ctx, "c", "generic", "p"); return err }},
		{"alerts page", true, func() error { _, err := st.Alerts(ctx, ListFilter{}); return err }},
		{"alerts by state", false, func() error { _, err := st.Alerts(ctx, ListFilter{Status: "firing"}); return err }},
		{"alerts by channel", false, func() error { _, err := st.Alerts(ctx, ListFilter{ChannelID: "c"}); return err }},
		{"alert detail", false, func() error { _, err := st.AlertView(ctx, 1); return ignoreNotFound(err) }},
		{"callbacks page", true, func() error { _, err := st.Callbacks(ctx, ListFilter{}); return err }},
		{"callbacks by outcome", false, func() error { _, err := st.Callbacks(ctx, ListFilter{Outcome: "rejected"}); return err }},
		{"unmatched callbacks", false, func() error { _, err := st.Callbacks(ctx, ListFilter{Outcome: "unmatched"}); return err }},
		{"duplicate callbacks", false, func() error { _, err := st.Callbacks(ctx, ListFilter{Outcome: "duplicate"}); return err }},
		{"accepted callbacks (most rows)", true, func() error { _, err := st.Callbacks(ctx, ListFilter{Outcome: "accepted"}); return err }},
		{"callbacks by channel", false, func() error { _, err := st.Callbacks(ctx, ListFilter{ChannelID: "c"}); return err }},
		{"callback detail", false, func() error { _, err := st.Callback(ctx, 1); return ignoreNotFound(err) }},
		{"callback events", false, func() error { _, err := st.CallbackEvents(ctx, 1); return err }},
		{"feed resume", false, func() error { _, err := st.FeedAfter(ctx, 10, 100); return err }},
		{"dashboard counts", false, func() error { _, err := st.DashboardCounts(ctx, time.Now(), 100); return err }},
		{"due for poll", false, func() error { _, err := st.DueForPoll(ctx, time.Now(), 10); return err }},
	}
	for _, c := range cases {
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		qs := log.take()
		if len(qs) == 0 {
			t.Fatalf("%s ran no query", c.name)
		}
		for _, q := range qs {
			plan := queryPlan(t, st, q)
			for _, step := range plan {
				if fullScan.MatchString(step) && !(c.bounded && strings.Contains(q, "ORDER BY id DESC") && strings.Contains(q, "LIMIT")) {
					t.Errorf("%s reads a whole table (%s):\n%s\nplan: %v", c.name, step, q, plan)
				}
			}
		}
	}
}

// TestWriterQueriesUseIndexes checks the plans of the writer's prepared
// reads (sqlite.go): each finds its rows through an index, the calls by
// the unique key that leads with the provider's call id.
func TestWriterQueriesUseIndexes(t *testing.T) {
	if onPostgres() {
		t.Skip("reads SQLite's query plans")
	}
	st := openTest(t)
	n := 0
	for name, q := range hotQueries() {
		if !strings.HasPrefix(q, "SELECT") && !strings.HasPrefix(q, "UPDATE") {
			continue
		}
		n++
		plan := queryPlan(t, st, q, make([]any, strings.Count(q, "?"))...)
		// The newest feed row: the primary key walked backwards, one row.
		bounded := strings.HasSuffix(q, "ORDER BY seq DESC LIMIT 1")
		for _, step := range plan {
			if (fullScan.MatchString(step) && !bounded) || strings.HasPrefix(step, "SCAN calls USING") {
				t.Errorf("%s reads a whole table (%s): %v", name, step, plan)
			}
		}
		if strings.Contains(q, "FROM calls WHERE") && !strings.Contains(strings.Join(plan, "\n"), "SEARCH calls USING INDEX sqlite_autoindex_calls_1 (provider_call_id=? AND channel_id=? AND provider=?)") {
			t.Errorf("%s does not look calls up by their unique key: %v", name, plan)
		}
	}
	if n < 20 {
		t.Fatalf("only %d of the writer's reads checked", n)
	}
}

func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// queryPlan is SQLite's plan of q, a step a line.
func queryPlan(t *testing.T, st *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := st.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
