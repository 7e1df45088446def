package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"callhook/internal/auth"
	"callhook/internal/live"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// Pushed HTML compresses several times over; internal/live compresses
	// each message once for all the clients it goes to.
	EnableCompression: true,
	// Same-origin only for browsers; API clients send no Origin.
	CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "http://"+r.Host || o == "https://"+r.Host
	},
}

// stream upgrades to a WebSocket of live feed messages. ?after=SEQ resumes.
// gorilla/websocket runs on Fiber through fasthttp's hijack: the request is
// converted to net/http, and the Upgrader gets a ResponseWriter over the
// hijacked connection.
func (s *Server) apiStream(c *fiber.Ctx) error {
	p, ok := principal(c)
	if !ok {
		return auth.ErrUnauthorized
	}
	after, err := afterParam(c)
	if err != nil {
		return err
	}
	identity := ""
	if p.Via == "session" {
		identity = p.Name
	}
	return s.upgrade(c, func(ctx context.Context, conn *websocket.Conn) {
		live.Serve(ctx, conn, s.Hub, s.Store, identity, after)
	})
}

// consoleStream upgrades to the console's WebSocket: HTML fragments of the
// topics the page shows (?topics=dashboard or call:7,alert:3), resuming
// after ?after=SEQ, the sequence the page was rendered at. See
// internal/live/console.go for the messages and static/app.js for the page.
func (s *Server) liveStream(c *fiber.Ctx) error {
	p, ok := principal(c)
	if !ok || p.Via != "session" {
		return auth.ErrUnauthorized
	}
	after, err := afterParam(c)
	if err != nil {
		return err
	}
	var topics []string
	for _, t := range strings.Split(c.Query("topics"), ",") {
		if t == "" {
			continue
		}
		if !live.ValidTopic(t) || len(topics) == 8 {
			return badRequest("topics: a comma-separated list of up to 8 of dashboard, calls, alerts, callbacks, stats, call:ID, alert:ID")
		}
		topics = append(topics, t)
	}
	name, admin := p.Name, p.Admin()
	return s.upgrade(c, func(ctx context.Context, conn *websocket.Conn) {
		live.ServeConsole(ctx, conn, s.Hub, s.Store, name, admin, topics, after)
	})
}

// upgrade hijacks the connection, upgrades it to a WebSocket and runs serve
// on it until it returns.
func (s *Server) upgrade(c *fiber.Ctx, serve func(ctx context.Context, conn *websocket.Conn)) error {
	if !websocket.IsWebSocketUpgrade(convert(c)) {
		return &httpError{status: fiber.StatusUpgradeRequired, msg: "this endpoint speaks WebSocket"}
	}
	r := convert(c)
	ctx := s.conns.ctx
	c.Context().HijackSetNoResponse(true)
	c.Context().Hijack(func(nc net.Conn) {
		// fasthttp runs this in a goroutine of its own, outside the recover
		// middleware: a panic here would end the process.
		defer s.recoverLive()
		w := &hijackWriter{conn: live.BatchConn(nc), header: http.Header{}}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			w.finish() // the refusal gorilla wrote (a foreign Origin, a bad handshake)
			return
		}
		done := s.conns.add(conn)
		defer done()
		serve(ctx, conn)
	})
	return nil
}

func convert(c *fiber.Ctx) *http.Request {
	r := new(http.Request)
	if err := fasthttpadaptor.ConvertRequest(c.Context(), r, true); err != nil {
		return &http.Request{Header: http.Header{}}
	}
	return r
}

// hijackWriter is the http.ResponseWriter + http.Hijacker gorilla needs,
// over a connection fasthttp has already hijacked. A successful upgrade
// writes its own handshake through Hijack; a refusal goes through
// WriteHeader and Write, which are buffered here and sent by finish as a
// whole HTTP response, since fasthttp writes nothing on a hijacked
// connection.
type hijackWriter struct {
	conn   net.Conn
	header http.Header
	status int
	body   bytes.Buffer
	// hijacked: gorilla took the connection and answers on it itself.
	hijacked bool
}

func (w *hijackWriter) Header() http.Header { return w.header }

func (w *hijackWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *hijackWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// finish sends the buffered response and its headers; the connection is
// closed after it (fasthttp closes hijacked connections when done).
func (w *hijackWriter) finish() {
	if w.hijacked {
		return
	}
	if w.status == 0 {
		w.status = http.StatusInternalServerError
	}
	h := w.header.Clone()
	h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	h.Set("Connection", "close")
	h.Set("Cache-Control", "no-store")
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	_ = h.Write(&out)
	out.WriteString("\r\n")
	out.Write(w.body.Bytes())
	_ = w.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = w.conn.Write(out.Bytes()) // the client may be gone; there is no one else to tell
}

// connTracker closes hijacked connections at shutdown.
type connTracker struct {
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

func newConnTracker() *connTracker {
	ctx, cancel := context.WithCancel(context.Background())
	return &connTracker{conns: map[*websocket.Conn]struct{}{}, ctx: ctx, cancel: cancel}
}

func (t *connTracker) add(c *websocket.Conn) func() {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
	}
}

func (t *connTracker) closeAll() {
	t.cancel()
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		_ = c.Close()
	}
}
