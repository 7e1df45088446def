package live

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"callhook/internal/voice"
)

// countConn counts the writes that reach the network.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// batchWriter hands gorilla the hijacked connection wrapped as the web
// layer wraps it.
type batchWriter struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
}

func (w batchWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return w.wrap(nc), brw, nil
}

type emptyFeed struct{}

func (emptyFeed) FeedAfter(context.Context, int64, int) ([]voice.FeedItem, error) { return nil, nil }
func (emptyFeed) LastSeq(context.Context) (int64, error)                          { return 0, nil }

// readRows reads stream messages from..to, each once and in order.
func readRows(t *testing.T, ws *websocket.Conn, from, to int64) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for want := from; want <= to; want++ {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("row %d: %v", want, err)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil || m.Seq != want {
			t.Fatalf("got %s, want seq %d", b, want)
		}
	}
}

// sliceFeed serves rows from a slice.
type sliceFeed []voice.FeedItem

func (f sliceFeed) FeedAfter(_ context.Context, after int64, limit int) ([]voice.FeedItem, error) {
	var out []voice.FeedItem
	for _, it := range f {
		if it.Seq > after && len(out) < limit {
			out = append(out, it)
		}
	}
	return out, nil
}

func (f sliceFeed) LastSeq(context.Context) (int64, error) { return f[len(f)-1].Seq, nil }

// A stream client resuming far behind gets the rows it missed a page at a
// time, in a write per page, not a write per row: after a burst of drops
// every client resumes at once.
func TestResumedRowsLeaveInFewWrites(t *testing.T) {
	const rows = 1200
	var cc *countConn
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(batchWriter{w, func(nc net.Conn) net.Conn {
			cc = &countConn{Conn: nc}
			return BatchConn(cc)
		}}, r, nil)
		if err != nil {
			return
		}
		Serve(ctx, conn, NewHub(16), sliceFeed(items(1, rows)), "", 100)
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	readRows(t, ws, 101, rows)
	// 1,100 rows are three pages of 500: three writes, and the handshake.
	if n := cc.writes.Load(); n > 5 {
		t.Errorf("resuming 1,100 rows took %d writes, want at most 5", n)
	}
}

// A stream client that negotiated permessage-deflate reads the rows framed
// once for everyone, which go uncompressed, and a compressed notification
// among them.
func TestCompressingStreamClientReadsBatchFrames(t *testing.T) {
	hub := NewHub(64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{EnableCompression: true}).Upgrade(batchWriter{w, BatchConn}, r, nil)
		if err != nil {
			return
		}
		Serve(ctx, conn, hub, emptyFeed{}, "bob", -1)
	}))
	defer srv.Close()
	ws, resp, err := (&websocket.Dialer{EnableCompression: true}).Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatal("compression was not negotiated")
	}
	if _, hello, err := ws.ReadMessage(); err != nil || !strings.Contains(string(hello), `"hello"`) {
		t.Fatalf("hello %s, %v", hello, err)
	}
	for hub.Clients() == 0 {
		time.Sleep(time.Millisecond)
	}
	hub.Publish(items(1, 3))
	hub.Notify("bob", map[string]string{"type": strings.Repeat("n", 300)})
	hub.Publish(items(4, 2))
	readRows(t, ws, 1, 3)
	if _, b, err := ws.ReadMessage(); err != nil || !strings.Contains(string(b), strings.Repeat("n", 300)) {
		t.Fatalf("notification %.80s, %v", b, err)
	}
	readRows(t, ws, 4, 5)
}

// A stream client behind by many rows gets them in a few writes, not one
// write per row, and still every row once and in order.
func TestQueuedRowsLeaveInFewWrites(t *testing.T) {
	hub := NewHub(1024)
	var cc *countConn
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		conn, err := up.Upgrade(batchWriter{w, func(nc net.Conn) net.Conn {
			cc = &countConn{Conn: nc}
			return BatchConn(cc)
		}}, r, nil)
		if err != nil {
			return
		}
		Serve(ctx, conn, hub, emptyFeed{}, "", -1)
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, hello, err := ws.ReadMessage(); err != nil || !strings.Contains(string(hello), `"hello"`) {
		t.Fatalf("hello %s, %v", hello, err)
	}
	for hub.Clients() == 0 {
		time.Sleep(time.Millisecond)
	}
	before := cc.writes.Load()
	const rows = 200
	hub.Publish(items(1, rows))
	readRows(t, ws, 1, rows)
	if n := cc.writes.Load() - before; n > 10 {
		t.Errorf("%d rows queued at once took %d writes, want at most 10", rows, n)
	}
}
