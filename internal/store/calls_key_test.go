package store

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"callhook/internal/voice"
)

// After the migrations, a call's unique key leads with the provider's call
// id and the index of its own that the API's filter had is gone: one
// random index write fewer per new call (docs/architecture.md, "The
// writer").
func TestCallsHaveOneKeyLedByProviderCallID(t *testing.T) {
	f := newDedupeFixture(t)
	ctx := context.Background()
	q := "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL " +
		"UNION ALL SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'calls'"
	if onPostgres() {
		q = "SELECT indexdef FROM pg_indexes WHERE tablename = 'calls'"
	}
	var defs []string
	if err := f.st.db.NewRaw(q).Scan(ctx, &defs); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(defs, "\n")
	if strings.Contains(all, "calls_provider_call ") || strings.Contains(all, "(channel_id, provider, provider_call_id)") ||
		!strings.Contains(all, "(provider_call_id, channel_id, provider)") {
		t.Errorf("calls' indexes:\n%s", all)
	}
	// The key still refuses a second call of the same channel, provider
	// and provider call id.
	reg := func(id string) error {
		return f.st.Write(ctx, func(ctx context.Context, tx *Tx) error {
			return tx.RegisterCall(ctx, &Call{ChannelID: "c", Provider: "generic", ProviderCallID: id, To: "+15550002"}, f.ch, f.now)
		})
	}
	if err := reg("out-1"); err != nil {
		t.Fatal(err)
	}
	if err := reg("out-1"); !errors.Is(err, ErrConflict) {
		t.Errorf("the same call registered twice: %v", err)
	}
}

// Upgrading a database from the release before: the migration keeps every
// call, every event pointing at its call, and lookups by the key. SQLite
// rebuilds calls for it, with foreign keys off so that dropping the old
// table does not take the events with it; PostgreSQL swaps the constraint.
func TestCallsKeyUpgradeKeepsCallsAndEvents(t *testing.T) {
	const migration = "20261202000016_calls_by_provider_call.up.sql"
	ctx := context.Background()
	dsn := testDSN(t, "upgrade.db")
	before, err := Open(dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before.migrations = withoutFile(t, before.migrations, migration)
	if _, err := before.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &dedupeFixture{t: t, st: before, ch: &Channel{ID: "c", Name: "c", Secret: "s"}, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	if err := before.CreateChannel(ctx, f.ch); err != nil {
		t.Fatal(err)
	}
	f.send("a", status("in-1", voice.StatusRinging, voice.Inbound))
	f.send("b", status("in-1", voice.StatusAnswered, voice.Inbound))
	out := &Call{ChannelID: "c", Provider: "generic", ProviderCallID: "out-1", To: "+15550002"}
	if err := before.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, out, f.ch, f.now) }); err != nil {
		t.Fatal(err)
	}
	count := func(st *Store, q string) (n int) {
		t.Helper()
		if err := st.db.NewRaw(q).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const joined = "SELECT count(*) FROM events AS e JOIN calls AS c ON c.id = e.call_id"
	calls, events := count(before, "SELECT count(*) FROM calls"), count(before, joined)
	if calls != 2 || events != 2 {
		t.Fatalf("before: %d calls, %d events joined to their call", calls, events)
	}
	before.Close()

	st, err := Open(dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || !strings.HasPrefix(migration, applied[0]+"_") {
		t.Fatalf("upgrade applied %v", applied)
	}
	if got := count(st, "SELECT count(*) FROM calls"); got != calls {
		t.Errorf("calls after the upgrade: %d, want %d", got, calls)
	}
	if got := count(st, joined); got != events {
		t.Errorf("events joined to their call after the upgrade: %d, want %d", got, events)
	}
	if !onPostgres() {
		if got := count(st, "SELECT count(*) FROM pragma_foreign_key_check"); got != 0 {
			t.Errorf("%d foreign key violations after the upgrade", got)
		}
	}
	// A callback about the registered call finds it by its key.
	f.st = st
	r := f.send("c", status("out-1", voice.StatusRinging, voice.Outbound))
	if len(r.Applied) != 1 || r.Applied[0].CallID != out.ID {
		t.Errorf("callback after the upgrade: %+v, want call %d", r, out.ID)
	}
}

// withoutFile is migrations without the file name: the release before.
func withoutFile(t *testing.T, migrations fs.FS, name string) fs.FS {
	t.Helper()
	entries, err := fs.ReadDir(migrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	found := false
	for _, e := range entries {
		if e.Name() == name {
			found = true
			continue
		}
		b, err := fs.ReadFile(migrations, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	if !found {
		t.Fatalf("no migration %s", name)
	}
	return out
}
