package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDeflatedReader: two console readers negotiate permessage-deflate,
// read a compressed message framed once for both and an uncompressed one
// in several frames, answer the server's ping, and inflate the shared
// message once between them.
func TestDeflatedReader(t *testing.T) {
	big := strings.Repeat(`<tr id="callback-row-1"><td>accepted</td></tr>`, 400)
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(big))
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan string, 2)
	up := websocket.Upgrader{EnableCompression: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("s"); err != nil || c.Value != "v" {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetPongHandler(func(s string) error { pongs <- s; return nil })
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		_ = c.WritePreparedMessage(pm)
		_ = c.WriteControl(websocket.PingMessage, []byte("hb"), time.Now().Add(time.Second))
		c.EnableWriteCompression(false)
		w2, _ := c.NextWriter(websocket.TextMessage)
		_, _ = w2.Write([]byte(strings.Repeat("a", 70000))) // in frames of the write buffer's size
		_ = w2.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte("plain"))
		time.Sleep(200 * time.Millisecond)
	}))
	defer srv.Close()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/live"
	if _, err := dialDeflated(context.Background(), u, nil, newInflated()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dial without the session: %v, want HTTP 401", err)
	}
	jar := &staticJar{&http.Cookie{Name: "s", Value: "v"}}
	cache := newInflated()
	var firsts [][]byte
	for range 2 {
		r, err := dialDeflated(context.Background(), u, jar, cache)
		if err != nil {
			t.Fatal(err)
		}
		first, err := r.next()
		if err != nil || string(first) != big {
			t.Fatalf("first message: %v, %d bytes, want the %d bytes sent", err, len(first), len(big))
		}
		firsts = append(firsts, first)
		if m, err := r.next(); err != nil || len(m) != 70000 {
			t.Fatalf("second message: %v, %d bytes, want 70000", err, len(m))
		}
		if m, err := r.next(); err != nil || string(m) != "plain" {
			t.Fatalf("third message: %v, %q", err, m)
		}
		select {
		case p := <-pongs:
			if p != "hb" {
				t.Fatalf("pong %q, want the ping's payload", p)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the reader did not answer the ping")
		}
		r.Close()
	}
	if &firsts[0][0] != &firsts[1][0] {
		t.Error("the message framed once for both readers was inflated twice")
	}
}

// staticJar hands every request the same cookies.
type staticJar []*http.Cookie

func (j *staticJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j *staticJar) Cookies(*url.URL) []*http.Cookie     { return *j }
