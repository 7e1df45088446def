package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"strings"
	"testing"
	"time"

	"callhook/internal/voice"
)

// dedupeFixture is a channel and a way to send it callbacks with a given
// dedupe key.
type dedupeFixture struct {
	t   *testing.T
	st  *Store
	ch  *Channel
	now time.Time
}

func newDedupeFixture(t *testing.T) *dedupeFixture {
	st := openTest(t)
	ch := &Channel{ID: "c", Name: "c", Secret: "s"}
	if err := st.CreateChannel(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	return &dedupeFixture{t: t, st: st, ch: ch, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *dedupeFixture) send(key string, e voice.Event) IngestResult {
	f.t.Helper()
	cb := &Callback{ChannelID: "c", Method: "POST", Path: "/x", StatusCode: 200}
	r, err := f.st.Ingest(context.Background(), Ingest{Callback: cb, Channel: f.ch, Provider: "generic", Now: f.now,
		DedupeKey: []byte(key), Events: []voice.Event{e}})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// stored is the dedupe key of callback id as its row holds it.
func (f *dedupeFixture) stored(id int64) []byte {
	f.t.Helper()
	var k []byte
	if err := f.st.db.NewSelect().Table("callbacks").Column("dedupe_key").Where("id = ?", id).Scan(context.Background(), &k); err != nil {
		f.t.Fatal(err)
	}
	return k
}

func underCall(callID int64, key string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(callID)), key...)
}

func status(callID string, s voice.Status, dir voice.Direction) voice.Event {
	return voice.Event{CallID: callID, Type: voice.EventStatus, Status: s, Direction: dir, From: "+15550001", To: "+15550002", Sequence: -1}
}

// A callback's dedupe key is stored under its call, so the keys of calls in
// progress sit together at the end of the index; a retry is a duplicate
// whether its call existed before the original, was created by it, or was
// created after it.
func TestRetriesAreFoundUnderTheirCall(t *testing.T) {
	f := newDedupeFixture(t)

	// An inbound call's first callback creates the call.
	ringing := f.send("inbound-ringing", status("in-1", voice.StatusRinging, voice.Inbound))
	call := ringing.Applied[0].CallID
	if ringing.Outcome != voice.OutcomeAccepted || call == 0 {
		t.Fatalf("first callback: %+v", ringing)
	}
	if got := f.stored(ringing.CallbackID); !bytes.Equal(got, underCall(call, "inbound-ringing")) {
		t.Errorf("key of the call-creating callback stored as %x, want under call %d", got, call)
	}
	if r := f.send("inbound-ringing", status("in-1", voice.StatusRinging, voice.Inbound)); !r.Duplicate ||
		len(r.Applied) != 1 || r.Applied[0].CallID != call {
		t.Errorf("retry of the call-creating callback: %+v", r)
	}

	// A callback about the call in progress.
	answered := f.send("inbound-answered", status("in-1", voice.StatusAnswered, voice.Inbound))
	if got := f.stored(answered.CallbackID); !bytes.Equal(got, underCall(call, "inbound-answered")) {
		t.Errorf("key of a callback about a call in progress stored as %x, want under call %d", got, call)
	}
	if r := f.send("inbound-answered", status("in-1", voice.StatusAnswered, voice.Inbound)); !r.Duplicate {
		t.Errorf("retry about a call in progress: %+v", r)
	}

	// A callback about a call nobody registered is unmatched, stored under
	// no call; its retry is a duplicate even once the call exists.
	early := f.send("outbound-ringing", status("out-1", voice.StatusRinging, voice.Outbound))
	if early.Outcome != voice.OutcomeUnmatched {
		t.Fatalf("callback about an unknown call: %+v", early)
	}
	if got := f.stored(early.CallbackID); !bytes.Equal(got, underCall(0, "outbound-ringing")) {
		t.Errorf("key of an unmatched callback stored as %x, want under 0", got)
	}
	out := &Call{ChannelID: "c", Provider: "generic", ProviderCallID: "out-1", To: "+15550002"}
	if err := f.st.Write(context.Background(), func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, out, f.ch, f.now) }); err != nil {
		t.Fatal(err)
	}
	if r := f.send("outbound-ringing", status("out-1", voice.StatusRinging, voice.Outbound)); !r.Duplicate {
		t.Errorf("retry of an unmatched callback after its call was registered: %+v", r)
	}
	if r := f.send("outbound-answered", status("out-1", voice.StatusAnswered, voice.Outbound)); r.Duplicate ||
		!bytes.Equal(f.stored(r.CallbackID), underCall(out.ID, "outbound-answered")) {
		t.Errorf("new callback about the registered call: %+v, key %x", r, f.stored(r.CallbackID))
	}
}

// Keys stored before they were stored under their call are moved under it
// by the migration, so a provider retrying across the upgrade still gets a
// duplicate.
func TestDedupeMigrationMovesKeysUnderTheirCall(t *testing.T) {
	f := newDedupeFixture(t)
	ctx := context.Background()
	matched := f.send("inbound-ringing", status("in-1", voice.StatusRinging, voice.Inbound))
	unmatched := f.send("outbound-ringing", status("out-1", voice.StatusRinging, voice.Outbound))

	// The keys as the release before stored them.
	dir, strip := "sqlite", "UPDATE callbacks SET dedupe_key = substr(dedupe_key, 9)"
	if onPostgres() {
		dir, strip = "postgres", "UPDATE callbacks SET dedupe_key = substring(dedupe_key from 9)"
	}
	if _, err := f.st.wdb.ExecContext(ctx, strip); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(matched.CallbackID); string(got) != "inbound-ringing" {
		t.Fatalf("key before the migration: %q", got)
	}
	up, err := fs.ReadFile(migrationsFS(dir), dir+"/20261201000015_dedupe_by_call.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range strings.Split(string(up), "--bun:split") {
		if _, err := f.st.wdb.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got, want := f.stored(matched.CallbackID), underCall(matched.Applied[0].CallID, "inbound-ringing"); !bytes.Equal(got, want) {
		t.Errorf("matched key after the migration: %x, want %x", got, want)
	}
	if got, want := f.stored(unmatched.CallbackID), underCall(0, "outbound-ringing"); !bytes.Equal(got, want) {
		t.Errorf("unmatched key after the migration: %x, want %x", got, want)
	}
	if r := f.send("inbound-ringing", status("in-1", voice.StatusRinging, voice.Inbound)); !r.Duplicate {
		t.Errorf("retry across the upgrade: %+v", r)
	}
	if r := f.send("outbound-ringing", status("out-1", voice.StatusRinging, voice.Outbound)); !r.Duplicate {
		t.Errorf("retry of an unmatched callback across the upgrade: %+v", r)
	}
}

// A retry in a later transaction replies with what its original applied,
// read back on the readers: the action, the call and the alert as it is
// now. This runs on both dialects (make test-postgres), whose statements
// are prepared once.
func TestDuplicateRepliesWithTheOriginalOutcome(t *testing.T) {
	f := newDedupeFixture(t)
	ctx := context.Background()
	ch := "c"
	f.ch.DTMFMap = map[string]string{"1": "acknowledge"}
	al := &Alert{Title: "Disk full", Message: "db-1", Severity: "critical", ChannelID: &ch}
	call := &Call{ChannelID: "c", Provider: "generic", ProviderCallID: "out-1", To: "+15550002"}
	if err := f.st.Write(ctx, func(ctx context.Context, tx *Tx) error {
		if err := tx.CreateAlert(ctx, al, f.now); err != nil {
			return err
		}
		call.AlertID = &al.ID
		return tx.RegisterCall(ctx, call, f.ch, f.now)
	}); err != nil {
		t.Fatal(err)
	}
	key := voice.Event{CallID: "out-1", Type: voice.EventDTMF, Digit: "1", Sequence: -1}
	first := f.send("keypad-1", key)
	if first.Duplicate || first.Alert == nil || first.Alert.State != voice.AlertAcknowledged {
		t.Fatalf("keypad callback: %+v", first)
	}
	retry := f.send("keypad-1", key)
	if !retry.Duplicate || len(retry.Applied) != 1 {
		t.Fatalf("retry: %+v", retry)
	}
	a := retry.Applied[0]
	if a.Action != voice.ActionAcknowledge || !a.Changed || !a.Matched || a.CallID != call.ID || a.AlertID != al.ID {
		t.Errorf("retry applied %+v; want the original's acknowledgement of call %d, alert %d", a, call.ID, al.ID)
	}
	if retry.Alert == nil || retry.Alert.ID != al.ID || retry.Alert.Title != "Disk full" || retry.Alert.Message != "db-1" ||
		retry.Alert.State != voice.AlertAcknowledged {
		t.Errorf("retry alert %+v", retry.Alert)
	}
}
