package live

import (
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

func TestPublishInOrderAndDropSlowClients(t *testing.T) {
	h := NewHub(4)
	fast := h.Subscribe("")
	slow := h.Subscribe("bob")
	h.Publish(items(1, 3))
	for want := int64(1); want <= 3; want++ {
		f := <-fast.send
		var m Message
		if err := json.Unmarshal(f.data, &m); err != nil || m.Seq != want || f.seq != want || string(m.Data) != `{"status":"ringing"}` {
			t.Fatalf("frame %s (seq %d), want seq %d", f.data, f.seq, want)
		}
	}
	// slow has not read: 3 queued, 2 more overflow its buffer of 4.
	h.Publish(items(4, 2))
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
	for want := int64(2); want <= 3; want++ {
		select {
		case f := <-c.send:
			if f.seq != want {
				t.Fatalf("got seq %d, want %d", f.seq, want)
			}
		default:
			t.Fatalf("row %d was not delivered to the stream client", want)
		}
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
