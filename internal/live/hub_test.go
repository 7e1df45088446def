package live

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"callhook/internal/voice"
)

func items(from, n int64) []voice.FeedItem {
	var out []voice.FeedItem
	for i := from; i < from+n; i++ {
		out = append(out, voice.FeedItem{Seq: i, Type: voice.FeedEvent, Data: `{"status":"ringing"}`})
	}
	return out
}

// streamRows reads the WebSocket messages of a stream client's frame (a
// published batch, framed once for every client) as a client would.
func streamRows(t *testing.T, b []byte) []Message {
	t.Helper()
	var out []Message
	for len(b) > 0 {
		if b[0] != 0x81 || b[1]&0x80 != 0 {
			t.Fatalf("not an unmasked final text frame: % x", b[:2])
		}
		n, h := int(b[1]), 2
		switch n {
		case 126:
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		var m Message
		if err := json.Unmarshal(b[h:h+n], &m); err != nil {
			t.Fatalf("row %s: %v", b[h:h+n], err)
		}
		out = append(out, m)
		b = b[h+n:]
	}
	return out
}

func TestPublishInOrderAndDropSlowClients(t *testing.T) {
	h := NewHub(4)
	fast := h.Subscribe("")
	slow := h.Subscribe("bob")
	h.Publish(items(1, 3))
	f := <-fast.send
	rows := streamRows(t, f.rows.bytes)
	if len(rows) != 3 || f.seq != 3 {
		t.Fatalf("one batch of 3 rows, last seq 3: got %d rows, seq %d", len(rows), f.seq)
	}
	for i, m := range rows {
		if want := int64(i + 1); m.Seq != want || string(m.Data) != `{"status":"ringing"}` {
			t.Fatalf("row %d: %+v, want seq %d", i, m, want)
		}
	}
	// A client that already has rows 1 and 2 gets the third only.
	if rest := streamRows(t, f.rows.after(2)); len(rest) != 1 || rest[0].Seq != 3 {
		t.Fatalf("after seq 2: %+v", rest)
	}
	// slow has not read: 1 batch queued, 4 more overflow its buffer of 4.
	for seq := int64(4); seq < 8; seq++ {
		h.Publish(items(seq, 1))
		<-fast.send
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("a client that cannot keep up was not dropped")
	}
	select {
	case <-fast.Dropped():
		t.Fatal("a reading client was dropped")
	default:
	}
	h.Unsubscribe(slow)
	if h.Clients() != 1 {
		t.Errorf("%d clients, want 1", h.Clients())
	}
}

func TestBindingsAndNotify(t *testing.T) {
	h := NewHub(4)
	bob := h.Subscribe("bob")
	h.Subscribe("")
	if h.Bound("bob") != 1 || h.Bound("alice") != 0 || h.Bound("") != 0 {
		t.Errorf("bound: bob %d alice %d anon %d", h.Bound("bob"), h.Bound("alice"), h.Bound(""))
	}
	if n := h.Notify("bob", map[string]string{"type": "call.notification"}); n != 1 {
		t.Fatalf("notified %d", n)
	}
	if f := <-bob.send; f.seq != 0 || string(f.data) != `{"type":"call.notification"}` {
		t.Errorf("notification frame %+v", f)
	}
	h.Close()
	select {
	case <-bob.Dropped():
	default:
		t.Error("Close left a client open")
	}
	if c := h.Subscribe("late"); c == nil {
		t.Fatal("nil client")
	} else {
		select {
		case <-c.Dropped():
		default:
			t.Error("subscribing to a closed hub must drop at once")
		}
	}
}

// Publish encodes rows only while API clients listen; the count it checks
// survives a client unsubscribed twice, and consoles do not count.
func TestPublishCountsStreamClients(t *testing.T) {
	h := NewHub(8)
	gone := h.Subscribe("")
	h.Unsubscribe(gone)
	h.Unsubscribe(gone)
	h.Publish(items(1, 1)) // nobody listens
	c := h.Subscribe("")
	h.Publish(items(2, 2))
	select {
	case f := <-c.send:
		if rows := streamRows(t, f.rows.bytes); len(rows) != 2 || rows[0].Seq != 2 || rows[1].Seq != 3 {
			t.Fatalf("got %+v, want rows 2 and 3", rows)
		}
	default:
		t.Fatal("the rows were not delivered to the stream client")
	}
}

// Idle tells a feed reader it may skip rows only while nobody is
// subscribed, and the renderer is told to start afresh after such a skip.
func TestIdleOnlyWithoutClients(t *testing.T) {
	h := NewHub(8)
	if !h.Idle() {
		t.Fatal("a hub without clients is not idle")
	}
	c := h.Subscribe("")
	if h.Idle() {
		t.Fatal("a hub with a stream client is idle")
	}
	h.Unsubscribe(c)
	h.r = &renderer{hub: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !h.Idle() {
		t.Fatal("a hub whose client left is not idle")
	}
	h.Publish(items(1, 1))
	if !h.r.reset {
		t.Fatal("the renderer was not told to forget what it rendered before rows were skipped")
	}
	h.r.reset = false
	h.Publish(items(2, 1))
	if h.r.reset {
		t.Fatal("the renderer was told to start afresh without a skip")
	}
}
