package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"callhook/internal/voice"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	return openDSN(t, testDSN(t, "s.db"))
}

// openDSN opens and migrates the store at dsn, closed when the test ends.
func openDSN(t *testing.T, dsn string) *Store {
	t.Helper()
	st, err := Open(dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// The writer's prepared statements encode values as bun does: bun must read
// back exactly what they wrote.
func TestHotPathRoundTrip(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 10, 11, 12, 345678000, time.UTC)
	occurred := now.Add(-time.Second)
	ch := &Channel{ID: "c", Name: "c", Secret: "s", DTMFMap: map[string]string{"1": "acknowledge"}}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	call := &Call{ChannelID: "c", Provider: "generic", ProviderCallID: "p1", To: "+1555"}
	dur, mos := 12.5, 4.25
	if err := st.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, call, ch, now) }); err != nil {
		t.Fatal(err)
	}
	cb := &Callback{ChannelID: "c", Method: "POST", Path: "/x", Query: "a=b", ContentType: "application/json",
		Headers: map[string][]string{"X-A": {"1", "2"}}, Body: []byte(`{"k":1}`), BodySize: 7, StatusCode: 200, RemoteAddr: "127.0.0.1"}
	if _, err := st.Ingest(ctx, Ingest{Callback: cb, Channel: ch, Provider: "generic", DedupeKey: []byte("0123456789abcdef"), Now: now,
		Events: []voice.Event{{CallID: "p1", Type: voice.EventStatus, Status: voice.StatusCompleted, Native: "n", Message: "m",
			Sequence: 7, OccurredAt: occurred, DurationS: &dur, MOS: &mos, Raw: map[string]string{"k": "v"}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Callback(ctx, cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ReceivedAt.Equal(now) || string(got.Body) != `{"k":1}` || !reflect.DeepEqual(got.Headers, cb.Headers) ||
		got.Outcome != OutcomeAccepted || got.EventCount != 1 || got.RemoteAddr != "127.0.0.1" || got.Query != "a=b" {
		t.Errorf("callback read back as %+v", got)
	}
	v, err := st.CallView(ctx, call.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "completed" || *v.DurationS != dur || *v.MOS != mos || !v.UpdatedAt.Equal(now) || !v.CreatedAt.Equal(now) {
		t.Errorf("call read back as %+v", v)
	}
	ev := v.Events[0]
	if ev.OccurredAt == nil || !ev.OccurredAt.Equal(occurred) || !ev.ReceivedAt.Equal(now) || *ev.Seq != 7 || ev.Message != "m" {
		t.Errorf("event read back as %+v", ev)
	}
	evs, _ := st.CallEvents(ctx, call.ID)
	if evs[0].Raw["k"] != "v" {
		t.Errorf("raw %v", evs[0].Raw)
	}
	// And the hot findCall reads what bun wrote.
	err = st.Write(ctx, func(ctx context.Context, tx *Tx) error {
		c, err := tx.FindCall(ctx, "c", "generic", "p1")
		if err != nil || c == nil || c.ID != call.ID || !c.CreatedAt.Equal(now) || c.Status != "completed" {
			t.Errorf("FindCall = %+v, %v", c, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSortTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { x := t0.Add(time.Duration(s) * time.Second); return &x }
	tests := []struct {
		name string
		in   []Event
		want []int64
	}{
		{"by sequence when all have one", []Event{{ID: 1, Seq: 2}, {ID: 2, Seq: 0}, {ID: 3, Seq: 1}}, []int64{2, 3, 1}},
		{"by provider time", []Event{{ID: 1, Seq: -1, OccurredAt: at(5)}, {ID: 2, Seq: -1, OccurredAt: at(1)}}, []int64{2, 1}},
		{"received time stands in", []Event{{ID: 1, Seq: -1, ReceivedAt: t0.Add(9 * time.Second)}, {ID: 2, Seq: -1, OccurredAt: at(3)}}, []int64{2, 1}},
		{"arrival breaks ties", []Event{{ID: 2, Seq: -1, ReceivedAt: t0}, {ID: 1, Seq: -1, ReceivedAt: t0}}, []int64{1, 2}},
	}
	for _, tt := range tests {
		sortTimeline(tt.in)
		var got []int64
		for _, e := range tt.in {
			got = append(got, e.ID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCacheDroppedOnWrite(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	if err := st.CreateChannel(ctx, &Channel{ID: "c", Name: "old", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := st.CachedChannel(ctx, "c"); ch.Name != "old" {
		t.Fatal(ch.Name)
	}
	if _, err := st.UpdateChannel(ctx, "c", func(c *Channel) error { c.Name = "new"; return nil }); err != nil {
		t.Fatal(err)
	}
	if ch, _ := st.CachedChannel(ctx, "c"); ch.Name != "new" {
		t.Errorf("cached channel %q after an update", ch.Name)
	}
	if err := st.DeleteChannel(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CachedChannel(ctx, "c"); !IsNotFound(err) {
		t.Errorf("deleted channel still served: %v", err)
	}
}

func TestOpenRejectsUnsupportedDatabases(t *testing.T) {
	for _, dsn := range []string{"postgres://x/y", "mysql://x", "sqlite://"} {
		if _, err := Open(dsn, Options{}); err == nil {
			t.Errorf("Open(%q) = nil error", dsn)
		}
	}
}

func TestDashboardCounts(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ch := &Channel{ID: "c", Name: "c", Secret: "s"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	err := st.Write(ctx, func(ctx context.Context, tx *Tx) error {
		for i, status := range []string{"queued", "ringing", "answered", "completed", "busy"} {
			if err := tx.RegisterCall(ctx, &Call{ChannelID: "c", Provider: "g", ProviderCallID: string(rune('a' + i)), Status: status}, ch, now); err != nil {
				return err
			}
		}
		for i := 0; i < 3; i++ {
			if err := tx.CreateAlert(ctx, &Alert{Title: "t"}, now); err != nil {
				return err
			}
		}
		if _, err := tx.ChangeAlert(ctx, 1, voice.ActionAcknowledge, AlertActor{Actor: "x", Via: "api"}, now); err != nil {
			return err
		}
		for _, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Minute), now} {
			if err := tx.InsertRejected(ctx, &Callback{ChannelID: "c", Method: "POST", Path: "/", StatusCode: 404, ReceivedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.DashboardCounts(ctx, now.Add(-time.Hour), 500)
	if err != nil {
		t.Fatal(err)
	}
	if c.InProgress != 3 || c.Firing != 2 || c.Acknowledged != 1 || c.Rejected != 2 {
		t.Errorf("counts %+v, want 3 in progress, 2 firing, 1 acknowledged, 2 rejected in the last hour", c)
	}
	if c, _ := st.DashboardCounts(ctx, now.Add(-time.Hour), 2); c.InProgress != 2 {
		t.Errorf("cap not applied: %+v", c)
	}
}

func TestReadyNeedsMigrations(t *testing.T) {
	st, err := Open(testDSN(t, "r.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Ready(ctx); err == nil {
		t.Error("ready before migrations")
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Ready(ctx); err != nil {
		t.Errorf("not ready after migrations: %v", err)
	}
}

// A job that fails inside a batch fails alone: the others of its batch are
// committed, and its own writes are not.
func TestFailingJobDoesNotFailItsBatch(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	release := make(chan struct{})
	blocked := make(chan error, 1)
	go func() {
		blocked <- st.Write(ctx, func(context.Context, *Tx) error { <-release; return nil })
	}()
	time.Sleep(50 * time.Millisecond) // the writer now waits in that job; the next ones queue as one batch
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			errs <- st.Write(ctx, func(ctx context.Context, tx *Tx) error {
				a := &Alert{Title: fmt.Sprintf("a%d", i), Severity: "critical"}
				if err := tx.CreateAlert(ctx, a, time.Now()); err != nil {
					return err
				}
				if i == 7 {
					return errors.New("job 7 fails after writing")
				}
				return nil
			})
		}(i)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			failed++
			if !strings.Contains(err.Error(), "job 7") {
				t.Errorf("unexpected error %v", err)
			}
		}
	}
	page, err := st.Alerts(ctx, ListFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if failed != 1 || len(page.Items) != 19 {
		t.Fatalf("%d jobs failed, %d alerts stored; want 1 and 19", failed, len(page.Items))
	}
	for _, a := range page.Items {
		if a.Title == "a7" {
			t.Error("the failing job's alert was committed")
		}
	}
}

// Rejected callbacks are pruned past their age and beyond the row bound,
// oldest first; accepted ones are never touched.
func TestPruneRejected(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	insert := func(outcome string, age time.Duration) {
		cb := &Callback{ChannelID: "c", Method: "POST", Path: "/x", StatusCode: 404, Reason: "unknown_channel",
			ReceivedAt: now.Add(-age)}
		if err := st.Write(ctx, func(ctx context.Context, tx *Tx) error {
			if outcome == OutcomeRejected {
				return tx.InsertRejected(ctx, cb)
			}
			cb.Outcome, cb.StatusCode = outcome, 200
			return tx.insertCallbacks(ctx, []*Callback{cb})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		insert(OutcomeRejected, 10*24*time.Hour) // older than a week
	}
	insert(OutcomeAccepted, 10*24*time.Hour)
	for i := 0; i < 6; i++ {
		insert(OutcomeRejected, time.Hour)
	}
	n, err := st.PruneRejected(ctx, now.Add(-7*24*time.Hour), 4)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("pruned %d, want 5 (3 too old, then 2 beyond the newest 4)", n)
	}
	rej, _ := st.Callbacks(ctx, ListFilter{Outcome: OutcomeRejected, Limit: 100})
	acc, _ := st.Callbacks(ctx, ListFilter{Outcome: OutcomeAccepted, Limit: 100})
	if len(rej.Items) != 4 || len(acc.Items) != 1 {
		t.Fatalf("kept %d rejected and %d accepted, want 4 and 1", len(rej.Items), len(acc.Items))
	}
	for _, cb := range rej.Items {
		if now.Sub(cb.ReceivedAt) > 2*time.Hour {
			t.Errorf("kept an old rejected callback from %v", cb.ReceivedAt)
		}
	}
}

// The write-ahead log is copied into the database file beside the writer,
// long before the writer's own backstop (walBackstopPages) would do it.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	if onPostgres() {
		t.Skip("checkpoints of the write-ahead log are SQLite's")
	}
	dsn := testDSN(t, "s.db")
	path, err := sqlitePath(dsn)
	if err != nil {
		t.Fatal(err)
	}
	st := openDSN(t, dsn)
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	time.Sleep(3 * checkpointEvery)
	before := size()
	// About 200 KiB: a few dozen pages, far below either backstop.
	if err := st.Write(context.Background(), func(ctx context.Context, tx *Tx) error {
		cbs := make([]*Callback, 200)
		for i := range cbs {
			cbs[i] = &Callback{ChannelID: "c", Method: "POST", Path: "/x", StatusCode: 200, Outcome: OutcomeAccepted,
				Body: bytes.Repeat([]byte{'a' + byte(i%26)}, 1000), ReceivedAt: time.Now().UTC()}
		}
		return tx.insertCallbacks(ctx, cbs)
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); size() <= before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes 5 s after a commit: nothing checkpointed the log", before)
		}
	}
}
