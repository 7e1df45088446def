package live

import (
	"net"
	"sync"

	"github.com/gorilla/websocket"
)

// maxDrain bounds the frames written to one client with one flush.
const maxDrain = 256

// BatchConn wraps a connection a WebSocket is served on so that frames
// already queued for a client leave in one write: a stream client gets a
// message per feed row, about three per callback, and one system call per
// message was most of the server's time with a thousand clients. Writes
// pass straight through except between hold and flush (drain).
func BatchConn(nc net.Conn) net.Conn { return &batchConn{Conn: nc} }

type batchConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) hold() {
	b.mu.Lock()
	b.held = true
	b.mu.Unlock()
}

// flush writes what was held, in one write, and lets writes through again.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = false
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	if cap(b.buf) > 1<<20 {
		b.buf = nil // a burst's buffer is not kept for the connection's life
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// inOneWrite runs fn, whose writes to conn leave in one write when conn is
// a BatchConn.
func inOneWrite(conn *websocket.Conn, fn func() error) error {
	b, _ := conn.NetConn().(*batchConn)
	if b == nil {
		return fn()
	}
	b.hold()
	err := fn()
	if ferr := b.flush(); err == nil {
		err = ferr
	}
	return err
}

// drain writes f and the frames queued behind it (at most maxDrain) with
// each, in one write (inOneWrite).
func drain(conn *websocket.Conn, c *Client, f frame, each func(frame) error) error {
	return inOneWrite(conn, func() error {
		// Only this goroutine receives from c.send: what len reports is there.
		err := each(f)
		for n := 1; err == nil && n < maxDrain && len(c.send) > 0; n++ {
			err = each(<-c.send)
		}
		return err
	})
}
