package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"callhook/internal/voice"
)

// The writer remembers calls in progress between transactions (callCache).
// What it remembers must never differ from what is committed: not after
// another write changed a call, not after a transaction that failed.
func TestCallCacheNeverServesStaleCalls(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ch := &Channel{ID: "c", Name: "c", Secret: "s"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	register := func(id string) *Call {
		c := &Call{ChannelID: "c", Provider: "generic", ProviderCallID: id, To: "+1555"}
		if err := st.Write(ctx, func(ctx context.Context, tx *Tx) error { return tx.RegisterCall(ctx, c, ch, now) }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	n := 0
	status := func(id string, s voice.Status) (IngestResult, error) {
		n++
		cb := &Callback{ChannelID: "c", Method: "POST", Path: "/x", StatusCode: 200}
		return st.Ingest(ctx, Ingest{Callback: cb, Channel: ch, Provider: "generic", Now: now,
			DedupeKey: []byte{byte(n), 'k', 'e', 'y', '-', 'f', 'o', 'r', '-', 't', 'h', 'i', 's', '-', 't', 'e', 's', 't', '!', '!'},
			Events:    []voice.Event{{CallID: id, Type: voice.EventStatus, Status: s, Sequence: -1}}})
	}
	statusOf := func(c *Call) string {
		got, err := st.Call(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}

	// Another write finishes a call the writer remembers as ringing: a
	// later "answered" must not move it back.
	a := register("a")
	if _, err := status("a", voice.StatusRinging); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE calls SET status = 'completed' WHERE id = ?", a.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := status("a", voice.StatusAnswered); err != nil {
		t.Fatal(err)
	}
	if s := statusOf(a); s != "completed" {
		t.Errorf("call a is %s, want completed", s)
	}

	// A transaction that fails after finishing a call in memory: the call
	// is still ringing, so "answered" changes it.
	b := register("b")
	if _, err := status("b", voice.StatusRinging); err != nil {
		t.Fatal(err)
	}
	st.failCommit = func() error { return errors.New("disk full") }
	if _, err := status("b", voice.StatusCompleted); err == nil {
		t.Fatal("the failing commit succeeded")
	}
	st.failCommit = nil
	if _, err := status("b", voice.StatusAnswered); err != nil {
		t.Fatal(err)
	}
	if s := statusOf(b); s != "answered" {
		t.Errorf("call b is %s, want answered", s)
	}
}
