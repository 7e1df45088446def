package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"callhook/internal/voice"
)

// Two stores on one PostgreSQL database stand for two callhook processes.
func openTwo(t *testing.T) (*Store, *Store, *Channel, [2]*feedLog) {
	t.Helper()
	if !onPostgres() {
		t.Skip("several processes share a database only on PostgreSQL (CALLHOOK_TEST_DB=postgres)")
	}
	dsn := testDSN(t, "")
	var sts [2]*Store
	var logs [2]*feedLog
	for i := range sts {
		st := openDSN(t, dsn)
		logs[i] = &feedLog{}
		if err := st.SetOnCommit(logs[i].add); err != nil {
			t.Fatal(err)
		}
		sts[i] = st
	}
	ch := &Channel{ID: "c", Name: "c", Secret: "s"}
	if err := sts[0].CreateChannel(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	return sts[0], sts[1], ch, logs
}

type feedLog struct {
	mu    sync.Mutex
	items []voice.FeedItem
}

func (l *feedLog) add(items []voice.FeedItem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, items...)
}

func (l *feedLog) seqs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, len(l.items))
	for i, it := range l.items {
		out[i] = it.Seq
	}
	return out
}

// DTMF for one call arriving on both processes at once acts once per
// press, never twice; each process's live feed carries every row of both,
// once, in sequence order.
func TestPostgresTwoProcessesDTMF(t *testing.T) {
	a, b, ch, logs := openTwo(t)
	ctx := context.Background()
	now := time.Now().UTC()
	alert := &Alert{Title: "disk", ChannelID: &ch.ID}
	if err := a.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.CreateAlert(ctx, alert, now) }); err != nil {
		t.Fatal(err)
	}
	call := &Call{ChannelID: ch.ID, Provider: "generic", ProviderCallID: "p1", AlertID: &alert.ID}
	if err := a.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, call, ch, now) }); err != nil {
		t.Fatal(err)
	}
	// Each process receives "acknowledge" (1) and "resolve" (2) for the
	// call, 20 times, concurrently; half the deliveries are retries of the
	// same provider event (same dedupe key) arriving at the other process.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 20; i++ {
		for pi, st := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				digit := "1"
				if i%2 == 1 {
					digit = "2"
				}
				_, err := st.Ingest(ctx, Ingest{Callback: &Callback{ChannelID: ch.ID, Method: "POST", Path: "/x", StatusCode: 200},
					Channel: ch, Provider: "generic", DedupeKey: []byte(fmt.Sprintf("k%015d", i)), Now: now,
					Events: []voice.Event{{CallID: "p1", Type: voice.EventDTMF, Digit: digit, Sequence: int64(i), Native: fmt.Sprint(pi)}}})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var dups int
	if err := a.db.NewSelect().Model((*Callback)(nil)).ColumnExpr("count(*)").Where("outcome = ?", OutcomeDuplicate).Scan(ctx, &dups); err != nil {
		t.Fatal(err)
	}
	if dups != 20 {
		t.Errorf("duplicates = %d, want 20 (each key is one provider event)", dups)
	}
	var changes []AlertChange
	if err := a.db.NewSelect().Model(&changes).Where("alert_id = ?", alert.ID).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	// Each change starts where the one before ended (two processes deciding
	// on the same state would both record a change from it), and nothing
	// changes a resolved alert.
	state := "firing"
	for _, c := range changes {
		if c.FromState != state {
			t.Errorf("change %s → %s after the alert was %s: decided on a stale state", c.FromState, c.ToState, state)
		}
		state = c.ToState
	}
	if state != "resolved" || len(changes) > 2 {
		t.Errorf("alert changes = %+v, want at most acknowledged then resolved", changes)
	}
	last, err := a.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, l := range logs {
		for {
			s := l.seqs()
			if len(s) > 0 && s[len(s)-1] == last || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	want, err := a.FeedAfter(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range logs {
		got := l.seqs()
		if len(got) != len(want) {
			t.Errorf("process %d received %d feed rows, want %d", i, len(got), len(want))
			continue
		}
		for k := range got {
			if got[k] != want[k].Seq {
				t.Errorf("process %d: row %d has seq %d, want %d (commit order, once)", i, k, got[k], want[k].Seq)
				break
			}
		}
	}
}

// Two processes polling at the same moment poll each due call once.
func TestPostgresPollClaimedOnce(t *testing.T) {
	a, b, ch, _ := openTwo(t)
	ctx := context.Background()
	now := time.Now().UTC()
	due := now.Add(-time.Second)
	for i := 0; i < 40; i++ {
		c := &Call{ChannelID: ch.ID, Provider: "generic", ProviderCallID: fmt.Sprint("poll", i), NextPollAt: &due}
		if err := a.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, c, ch, now) }); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for _, st := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			calls, err := st.DueForPoll(ctx, now, 15)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, c := range calls {
				seen[c.ID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Errorf("%d calls polled, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("call %d polled %d times", id, n)
		}
	}
}

// While nobody in a process wants committed rows, its listener notes their
// sequence numbers without reading them back or handing them on; once
// wanted again, it hands on what commits next, and only that.
func TestPostgresListenerSkipsRowsNobodyWants(t *testing.T) {
	a, b, ch, logs := openTwo(t)
	ctx := context.Background()
	start, err := a.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// b hands on what was committed while it was wanted (the channel).
	waitFor(t, func() bool { s := logs[1].seqs(); return len(s) > 0 && s[len(s)-1] == start })
	// Each Ingest below is a transaction of its own, so b's listener asks
	// once per notification: asked counts the notifications it has taken.
	var wanted sync.Mutex
	want, asked := false, 0
	b.SetFeedWanted(func() bool { wanted.Lock(); defer wanted.Unlock(); asked++; return want })
	post := func(key string) {
		t.Helper()
		if _, err := a.Ingest(ctx, Ingest{Callback: &Callback{ChannelID: ch.ID, Method: "POST", Path: "/x", StatusCode: 200},
			Channel: ch, Provider: "generic", DedupeKey: []byte(key), Now: time.Now().UTC(),
			Events: []voice.Event{{CallID: "p-" + key, Type: voice.EventStatus, Status: voice.StatusRinging}}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		post(fmt.Sprintf("skipped-%02d", i))
	}
	last, err := a.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last <= start {
		t.Fatalf("newest seq %d after five callbacks, %d before", last, start)
	}
	waitFor(t, func() bool { wanted.Lock(); defer wanted.Unlock(); return asked >= 5 })
	wanted.Lock()
	want = true
	wanted.Unlock()
	post("wanted-00")
	newest, err := a.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { s := logs[1].seqs(); return len(s) > 0 && s[len(s)-1] == newest })
	for _, seq := range logs[1].seqs() {
		if seq > start && seq <= last {
			t.Fatalf("process b was handed row %d, committed while it wanted none (newest then %d)", seq, last)
		}
	}
}

// waitFor polls ok for up to 10 s.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
