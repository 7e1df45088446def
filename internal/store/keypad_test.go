package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeypadActions: a channel's keypad events come newest first, at most
// limit, without other channels' or other event types, with the alert of
// their call; and the query walks the partial index, never the events table.
func TestKeypadActions(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := st.wdb.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO channels (id, name, secret, dtmf_map, created_at, updated_at) VALUES ('ops', 'Ops', 's', '{}', ?, ?), ('other', 'Other', 's2', '{}', ?, ?)`, now, now, now, now)
	exec(`INSERT INTO alerts (id, title, state, severity, channel_id, created_at, updated_at) VALUES (7, 'Disk', 'firing', 'critical', 'ops', ?, ?)`, now, now)
	exec(`INSERT INTO calls (id, channel_id, alert_id, provider, provider_call_id, direction, status, created_at, updated_at) VALUES (3, 'ops', 7, 'generic', 'c3', 'outbound', 'answered', ?, ?)`, now, now)
	ev := func(channel string, callID any, typ, digit, action string, applied bool) {
		exec(`INSERT INTO events (callback_id, call_id, channel_id, provider, provider_call_id, event_type, status, digit, action, applied, received_at)
			VALUES (1, ?, ?, 'generic', 'c3', ?, '', ?, ?, ?, ?)`, callID, channel, typ, digit, action, applied, now)
	}
	ev("ops", 3, "dtmf", "1", "acknowledge", true)
	ev("ops", 3, "status", "", "", false)
	ev("other", nil, "dtmf", "2", "resolve", false)
	ev("ops", nil, "dtmf", "5", "", false)
	ev("ops", 3, "dtmf", "2", "resolve", false)

	got, err := st.KeypadActions(ctx, "ops", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Digit != "2" || got[1].Digit != "5" || got[1].CallID != nil || got[1].Action != "" {
		t.Fatalf("newest two: %+v", got)
	}
	if got[0].CallID == nil || *got[0].CallID != 3 || got[0].AlertID == nil || *got[0].AlertID != 7 || got[0].Applied || !got[0].ReceivedAt.Equal(now) {
		t.Errorf("newest: %+v", got[0])
	}
	all, err := st.KeypadActions(ctx, "ops", 20)
	if err != nil || len(all) != 3 || all[2].Action != "acknowledge" || !all[2].Applied {
		t.Errorf("all of ops: %+v %v", all, err)
	}

	log := &queryLog{}
	st.db = st.db.WithQueryHook(log)
	if _, err := st.KeypadActions(ctx, "ops", 20); err != nil {
		t.Fatal(err)
	}
	qs := log.take()
	if len(qs) != 1 {
		t.Fatalf("queries: %v", qs)
	}
	if onPostgres() {
		return // the plan below is SQLite's
	}
	plan := queryPlan(t, st, qs[0])
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "events_channel_dtmf") || strings.Contains(joined, "TEMP B-TREE") {
		t.Errorf("plan does not walk events_channel_dtmf in order: %s", joined)
	}
	for _, step := range plan {
		if fullScan.MatchString(step) {
			t.Errorf("reads a whole table: %s", joined)
		}
	}
}
