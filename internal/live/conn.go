package live

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gorilla/websocket"

	"callhook/internal/voice"
)

const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = 50 * time.Second
)

// Feed is what a connection needs from the store to resume.
type Feed interface {
	FeedAfter(ctx context.Context, after int64, limit int) ([]voice.FeedItem, error)
	LastSeq(ctx context.Context) (int64, error)
}

// Serve streams the feed to one WebSocket connection until it closes or the
// hub drops it. With after >= 0 it first sends every row with seq > after, so
// a reconnecting client sees no gap; with after < 0 it starts at the present
// and first sends {"type":"hello","seq":LAST}.
func Serve(ctx context.Context, conn *websocket.Conn, hub *Hub, feed Feed, identity string, after int64) {
	defer conn.Close()
	c := hub.Subscribe(identity)
	defer hub.Unsubscribe(c)

	closed := readUntilClosed(conn)

	write := func(b []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WriteMessage(websocket.TextMessage, b)
	}
	last := after
	if after < 0 {
		seq, err := feed.LastSeq(ctx)
		if err != nil {
			return
		}
		last = seq
		b, _ := json.Marshal(map[string]any{"type": "hello", "seq": seq})
		if write(b) != nil {
			return
		}
	} else {
		// A resuming client's rows leave a page at a time in one write
		// each, as queued rows do (batch.go): after a burst of drops every
		// client resumes at once, and a write per row made that the
		// server's heaviest moment.
		for {
			items, err := feed.FeedAfter(ctx, last, 500)
			if err != nil {
				return
			}
			if inOneWrite(conn, func() error {
				for _, it := range items {
					b, _ := json.Marshal(FromFeed(it))
					if err := write(b); err != nil {
						return err
					}
					last = it.Seq
				}
				return nil
			}) != nil {
				return
			}
			if len(items) < 500 {
				break
			}
		}
	}
	ticker := time.NewTicker(pingPeriod)
	defer ticker.Stop()
	for {
		select {
		case f := <-c.send:
			if drain(conn, c, f, func(f frame) error {
				if f.seq != 0 && f.seq <= last {
					return nil // already sent during the backfill
				}
				if f.rows != nil {
					// Rows framed once for every client, written as they
					// are, but for those the backfill sent.
					nc := conn.NetConn()
					_ = nc.SetWriteDeadline(time.Now().Add(writeWait))
					if _, err := nc.Write(f.rows.after(last)); err != nil {
						return err
					}
					last = f.seq
					return nil
				}
				if err := writeFrame(conn, f); err != nil {
					return err
				}
				if f.seq != 0 {
					last = f.seq
				}
				return nil
			}) != nil {
				return
			}
		case <-ticker.C:
			_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-c.Dropped():
			closeWith(conn, websocket.CloseTryAgainLater, "resume with ?after=")
			return
		case <-closed:
			return
		case <-ctx.Done():
			closeWith(conn, websocket.CloseGoingAway, "server shutting down")
			return
		}
	}
}

// closeWith sends a close frame saying why the server ends the connection:
// a dropped slow client resumes with ?after=, a shutdown goes away.
func closeWith(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// readUntilClosed runs the connection's one reader: it answers pongs, keeps
// the connection alive while the peer sends anything (a page's own
// heartbeat), and closes the returned channel when the connection ends. A
// panic in the reader closes this connection, not the process.
func readUntilClosed(conn *websocket.Conn) <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		defer func() { _ = recover() }()
		conn.SetReadLimit(4096)
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		}
	}()
	return closed
}
