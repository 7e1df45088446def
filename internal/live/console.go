package live

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// heartbeat is how often a console hears from the server when nothing
// changes; static/app.js calls the page stale after 5 s of silence, so a
// cut network shows within 5 s even though TCP has not noticed.
const heartbeat = 2 * time.Second

// resumeMax is how many missed feed rows a reconnecting console catches up
// on with pushed fragments; further behind, it re-fetches its regions once.
const resumeMax = 200

// consoleMsg is a console's control message: hello (the sequence the page is
// now current at and the firing count), reload (re-fetch every region: too
// far behind), ping (heartbeat).
type consoleMsg struct {
	Type   string `json:"type"`
	Seq    int64  `json:"seq"`
	Firing *int   `json:"firing,omitempty"`
}

// ServeConsole pushes fragments of topics to one console WebSocket until it
// closes or the hub drops it. after is the sequence the page was rendered at
// (or last received): what came since is pushed first, rendered from the
// feed, or the page is told to reload its regions when it is too far behind.
func ServeConsole(ctx context.Context, conn *websocket.Conn, hub *Hub, reads Reads, identity string, admin bool, topics []string, after int64) {
	defer conn.Close()
	c := hub.SubscribeConsole(identity, admin, topics)
	defer hub.Unsubscribe(c)

	closed := readUntilClosed(conn)
	write := func(b []byte) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WriteMessage(websocket.TextMessage, b) == nil
	}
	writeJSON := func(v any) bool {
		b, err := json.Marshal(v)
		return err == nil && write(b)
	}

	v := hub.views()
	if v == nil {
		closeWith(conn, websocket.CloseInternalServerErr, "no renderer")
		return
	}
	last, firing, ok := catchUp(ctx, reads, v, admin, topics, after, write)
	if !ok {
		return
	}
	if !writeJSON(consoleMsg{Type: "hello", Seq: last, Firing: firing}) {
		return
	}
	// Frames of batches the catch-up covered are skipped; every frame of a
	// later batch (its push and its attention share the seq) goes out.
	caught := last
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	pings := 0
	for {
		select {
		case f := <-c.send:
			// A console gets one message per render (the renderer folds a
			// batch's topics and attention into one, framed and compressed
			// once for all consoles alike: push.go), so it is written as
			// it is, never copied or compressed per console.
			if drain(conn, c, f, func(f frame) error {
				if f.seq != 0 && f.seq <= caught {
					return nil // already pushed during the catch-up
				}
				if err := writeFrame(conn, f); err != nil {
					return err
				}
				last = max(last, f.seq)
				return nil
			}) != nil {
				return
			}
		case <-ticker.C:
			if !writeJSON(consoleMsg{Type: "ping", Seq: last}) {
				return
			}
			// Browsers answer protocol pings themselves; the read deadline
			// needs one now and then even when the page sends nothing.
			if pings++; pings%(int(pingPeriod/heartbeat)) == 0 {
				_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
				if conn.WriteMessage(websocket.PingMessage, nil) != nil {
					return
				}
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

// catchUp sends what a console missed since after: the fragments of the
// missed rows when there are at most resumeMax of them, else one reload.
// It returns the sequence the page is then current at and the firing count.
func catchUp(ctx context.Context, reads Reads, v Views, admin bool, topics []string, after int64, write func([]byte) bool) (int64, *int, bool) {
	var firing *int
	if c, err := reads.DashboardCounts(ctx, time.Now().Add(-time.Hour), countCap); err == nil {
		firing = &c.Firing
	}
	reload := func() (int64, *int, bool) {
		seq, err := reads.LastSeq(ctx)
		if err != nil {
			return 0, nil, false
		}
		b, _ := json.Marshal(consoleMsg{Type: "reload", Seq: seq, Firing: firing})
		return seq, firing, write(b)
	}
	if after < 0 {
		seq, err := reads.LastSeq(ctx)
		return seq, firing, err == nil
	}
	items, err := reads.FeedAfter(ctx, after, resumeMax+1)
	if err != nil {
		return 0, nil, false
	}
	// More than resumeMax missed, or the oldest missed rows were pruned.
	if len(items) > resumeMax || (len(items) > 0 && items[0].Seq > after+1) {
		return reload()
	}
	if len(items) == 0 {
		return after, firing, true
	}
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
		if strings.HasPrefix(t, "call:") {
			want["call:*"] = true
		}
	}
	out := renderBatch(ctx, reads, v, items, func(t string) bool { return want[t] }, &renderState{})
	role := roleViewer
	if admin {
		role = roleAdmin
	}
	for _, t := range out.order {
		if b := out.encode(t, role); b != nil && !write(b) {
			return 0, nil, false
		}
	}
	return out.seq, firing, true
}
