// Package live fans committed feed rows out to WebSocket clients. API
// clients of /api/v1/stream get each row as JSON, marshalled once. Consoles
// get HTML fragments: a renderer goroutine turns each committed batch into
// the fragments of the views it touches, rendered once with the pages' own
// templ components, and the hub sends each console only the topics it shows
// (push.go). Clients that cannot keep up are dropped; they reconnect with
// ?after=SEQ and lose nothing.
package live

import (
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"callhook/internal/voice"
)

// Message is one stream message: {"seq","type","call_id","alert_id","channel_id","data"}.
type Message struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	CallID    *int64          `json:"call_id"`
	AlertID   *int64          `json:"alert_id"`
	ChannelID *string         `json:"channel_id"`
	Data      json.RawMessage `json:"data"`
}

// FromFeed converts a feed row to a message.
func FromFeed(it voice.FeedItem) Message {
	data := json.RawMessage(it.Data)
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return Message{Seq: it.Seq, Type: it.Type, CallID: it.CallID, AlertID: it.AlertID, ChannelID: it.ChannelID, Data: data}
}

// frame is one queued message. pm, when set, is data framed once for every
// client it goes to (compressed once where the client negotiated it), so
// a thousand clients cost one framing, not a thousand.
//
// A stream client's frame is a whole published batch instead (rows), seq
// being its last row's. Frames are small: each client's queue holds
// hundreds of them from the start.
type frame struct {
	seq  int64
	data []byte
	pm   *websocket.PreparedMessage
	rows *rowBatch
}

// rowBatch is each row of a batch as a WebSocket message, already framed
// (rowFrames), with each row's seq and where it starts, so that a client
// that already has the first rows (from its resume) skips them.
type rowBatch struct {
	bytes []byte
	seqs  []int64
	offs  []int
}

// rowFrames frames each row of a batch as its own unmasked text message,
// once for every stream client: the bytes are what gorilla would write per
// row per client, where that framing was 43 % of the server's CPU with a
// thousand stream clients. permessage-deflate allows uncompressed messages,
// so they suit every client.
func rowFrames(items []voice.FeedItem) frame {
	r := &rowBatch{seqs: make([]int64, 0, len(items)), offs: make([]int, 0, len(items))}
	f := frame{rows: r}
	for _, it := range items {
		b, err := json.Marshal(FromFeed(it))
		if err != nil {
			continue
		}
		r.seqs = append(r.seqs, it.Seq)
		r.offs = append(r.offs, len(r.bytes))
		r.bytes = append(r.bytes, 0x80|websocket.TextMessage)
		switch n := len(b); {
		case n < 126:
			r.bytes = append(r.bytes, byte(n))
		case n <= 0xffff:
			r.bytes = append(r.bytes, 126, byte(n>>8), byte(n))
		default:
			r.bytes = append(r.bytes, 127)
			r.bytes = binary.BigEndian.AppendUint64(r.bytes, uint64(n))
		}
		r.bytes = append(r.bytes, b...)
		f.seq = it.Seq
	}
	return f
}

// after returns the framed rows with seq > last (nil: none).
func (r *rowBatch) after(last int64) []byte {
	for i, s := range r.seqs {
		if s > last {
			return r.bytes[r.offs[i]:]
		}
	}
	return nil
}

// prepared returns data as a frame framed once for all its clients.
func prepared(seq int64, data []byte) frame {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return frame{seq: seq, data: data}
	}
	return frame{seq: seq, data: data, pm: pm}
}

// writeFrame writes one frame to conn, the prepared one where there is one.
func writeFrame(conn *websocket.Conn, f frame) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
	if f.pm != nil {
		return conn.WritePreparedMessage(f.pm)
	}
	return conn.WriteMessage(websocket.TextMessage, f.data)
}

// Client is one subscriber.
type Client struct {
	identity string
	// console clients get fragments of their topics, not JSON rows.
	console bool
	admin   bool
	topics  []string
	// topicKey is topics joined: consoles alike share one message.
	topicKey string
	send     chan frame
	dropped  chan struct{}
	once     sync.Once
}

// Dropped is closed when the hub gave up on the client (slow or shutting down).
func (c *Client) Dropped() <-chan struct{} { return c.dropped }

// drop closes the client's dropped channel; it reports whether this call
// closed it (false if it was dropped before).
func (c *Client) drop() (first bool) {
	c.once.Do(func() { close(c.dropped); first = true })
	return first
}

// Hub holds the subscribers.
type Hub struct {
	mu      sync.RWMutex
	clients map[*Client]struct{}
	// streams counts the API clients among clients: with none, Publish
	// encodes nothing for them.
	streams int
	// skipped is set when Idle let a caller skip Publish: the renderer's
	// memory of what it last rendered may be stale then.
	skipped bool
	closed  bool
	// Buffer is each client's queue length.
	buffer int
	// r renders fragments for console clients (nil: no consoles).
	r *renderer
	// slowDrops counts clients dropped for not keeping up (metrics).
	slowDrops atomic.Int64
}

// NewHub returns an empty hub; buffer is each client's queue length (default 256).
func NewHub(buffer int) *Hub {
	if buffer <= 0 {
		buffer = 256
	}
	return &Hub{clients: map[*Client]struct{}{}, buffer: buffer}
}

// Subscribe adds a client. identity is the console user name ("" for API clients).
func (h *Hub) Subscribe(identity string) *Client {
	return h.add(&Client{identity: identity})
}

func (h *Hub) add(c *Client) *Client {
	c.send, c.dropped = make(chan frame, h.buffer), make(chan struct{})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.drop()
		return c
	}
	if _, ok := h.clients[c]; !ok && !c.console {
		h.streams++
	}
	h.clients[c] = struct{}{}
	return c
}

// Unsubscribe removes a client.
func (h *Hub) Unsubscribe(c *Client) {
	h.mu.Lock()
	if _, ok := h.clients[c]; ok && !c.console {
		h.streams--
	}
	delete(h.clients, c)
	h.mu.Unlock()
	c.drop()
}

// Publish sends committed feed rows to every API client, in order, and
// hands them to the renderer for the consoles. It runs on the store's publisher
// goroutine, so it only marshals and queues: rendering happens elsewhere.
func (h *Hub) Publish(items []voice.FeedItem) {
	// A client subscribing after this reads these rows from the database:
	// they were committed before they were published.
	h.mu.Lock()
	reset, streams := h.skipped, h.streams
	h.skipped = false
	h.mu.Unlock()
	if h.r != nil {
		h.r.queue(items, reset)
	}
	if streams == 0 {
		return
	}
	f := rowFrames(items)
	if len(f.rows.seqs) == 0 {
		return
	}
	batch := []frame{f}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if !c.console {
			h.deliver(c, batch)
		}
	}
}

func (h *Hub) deliver(c *Client, frames []frame) bool {
	for _, f := range frames {
		select {
		case c.send <- f:
		default:
			// Too slow: it will reconnect and resume from its last seq.
			if c.drop() {
				h.slowDrops.Add(1)
			}
			return false
		}
	}
	return true
}

// Idle reports whether no client is subscribed, so that a caller may skip
// reading rows back only to Publish them to nobody (the PostgreSQL feed
// listener). The renderer starts afresh at the next Publish after that.
func (h *Hub) Idle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) > 0 {
		return false
	}
	h.skipped = true
	return true
}

// Bound reports how many clients the identity has open.
func (h *Hub) Bound(identity string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for c := range h.clients {
		if c.identity != "" && c.identity == identity {
			n++
		}
	}
	return n
}

// Notify sends msg (seq 0: not part of the resumable feed) to the clients of identity.
func (h *Hub) Notify(identity string, msg any) int {
	b, err := json.Marshal(msg)
	if err != nil {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for c := range h.clients {
		if c.identity != "" && c.identity == identity && h.deliver(c, []frame{{data: b}}) {
			n++
		}
	}
	return n
}

// Clients returns the number of subscribers.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// SlowDrops returns how many clients were dropped for not keeping up since
// the hub started.
func (h *Hub) SlowDrops() int64 { return h.slowDrops.Load() }

// Close drops every client; hijacked connections are closed by their servers.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.r != nil {
		h.r.stop()
	}
	for c := range h.clients {
		c.drop()
		delete(h.clients, c)
	}
	h.streams = 0
}
