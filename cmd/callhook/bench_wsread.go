package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// msgReader is a subscriber's WebSocket as the bench reads it: next
// returns the next message, valid until the following call.
type msgReader interface {
	next() ([]byte, error)
	Close() error
}

// plainReader reads a connection that negotiated no compression (the
// stream subscribers, API clients), reusing one buffer for every message.
type plainReader struct {
	c   *websocket.Conn
	buf []byte
}

func (p *plainReader) Close() error { return p.c.Close() }

func (p *plainReader) next() ([]byte, error) {
	_, r, err := p.c.NextReader()
	if err != nil {
		return nil, err
	}
	if p.buf == nil {
		p.buf = make([]byte, 0, 64<<10)
	}
	buf := p.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			p.buf = buf
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// deflatedReader reads a console's WebSocket frame by frame after asking
// for permessage-deflate, as browsers do. The server compresses a push once
// for every console alike, so a thousand subscribers receive the same
// compressed bytes: each distinct payload is inflated once, in a cache the
// subscribers share, and not once per subscriber, which would cost the
// bench more CPU than the server it measures.
type deflatedReader struct {
	c     net.Conn
	br    *bufio.Reader
	cache *inflated
	frame []byte
	msg   []byte
}

// inflated maps compressed payloads to their inflated messages.
type inflated struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[inflatedKey][]byte
}

type inflatedKey struct {
	sum uint64
	n   int
}

func newInflated() *inflated {
	return &inflated{seed: maphash.MakeSeed(), m: map[inflatedKey][]byte{}}
}

// get returns payload inflated, read-only: it may be shared.
func (f *inflated) get(payload []byte) ([]byte, error) {
	k := inflatedKey{maphash.Bytes(f.seed, payload), len(payload)}
	f.mu.Lock()
	b, ok := f.m[k]
	f.mu.Unlock()
	if ok {
		return b, nil
	}
	// The tail RFC 7692 has the sender strip, then an empty final block.
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	f.mu.Lock()
	if len(f.m) >= 4096 {
		clear(f.m) // a long run's old pushes are not asked for again
	}
	f.m[k] = b
	f.mu.Unlock()
	return b, nil
}

// dialDeflated opens a WebSocket at u asking for permessage-deflate, with
// jar's cookies, and fails if the server does not agree to compress.
func dialDeflated(ctx context.Context, u string, jar http.CookieJar, cache *inflated) (*deflatedReader, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", pu.Host)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", pu.RequestURI(), pu.Host)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", base64.StdEncoding.EncodeToString(key))
	req.WriteString("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
	if jar != nil {
		hu := *pu
		hu.Scheme = "http" + strings.TrimPrefix(pu.Scheme, "ws")
		var pairs []string
		for _, ck := range jar.Cookies(&hu) {
			pairs = append(pairs, ck.Name+"="+ck.Value)
		}
		if len(pairs) > 0 {
			fmt.Fprintf(&req, "Cookie: %s\r\n", strings.Join(pairs, "; "))
		}
	}
	req.WriteString("\r\n")
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req.String()); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		c.Close()
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		c.Close()
		return nil, errors.New("the server did not agree to permessage-deflate")
	}
	_ = c.SetDeadline(time.Time{})
	return &deflatedReader{c: c, br: br, cache: cache}, nil
}

func (r *deflatedReader) Close() error { return r.c.Close() }

// next reads frames until a whole data message is in, answering pings on
// the way.
func (r *deflatedReader) next() ([]byte, error) {
	r.msg = r.msg[:0]
	compressed := false
	for {
		var h [2]byte
		if _, err := io.ReadFull(r.br, h[:]); err != nil {
			return nil, err
		}
		fin, rsv1, op := h[0]&0x80 != 0, h[0]&0x40 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(r.br, l[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(r.br, l[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		if h[1]&0x80 != 0 || n > 64<<20 {
			return nil, errors.New("websocket: a masked or oversized frame from the server")
		}
		if uint64(cap(r.frame)) < n {
			r.frame = make([]byte, n)
		}
		payload := r.frame[:n]
		if _, err := io.ReadFull(r.br, payload); err != nil {
			return nil, err
		}
		switch op {
		case websocket.PingMessage:
			if err := r.pong(payload); err != nil {
				return nil, err
			}
			continue
		case websocket.PongMessage:
			continue
		case websocket.CloseMessage:
			return nil, io.EOF
		case websocket.TextMessage, websocket.BinaryMessage:
			compressed = rsv1
		}
		r.msg = append(r.msg, payload...)
		if !fin {
			continue
		}
		if !compressed {
			return r.msg, nil
		}
		return r.cache.get(r.msg)
	}
}

// pong answers a ping; a client's frames are masked (RFC 6455 5.3).
func (r *deflatedReader) pong(payload []byte) error {
	if len(payload) > 125 {
		return errors.New("websocket: a ping over 125 bytes")
	}
	f := make([]byte, 0, 6+len(payload))
	f = append(f, 0x80|websocket.PongMessage, 0x80|byte(len(payload)), 0, 0, 0, 0)
	_, _ = rand.Read(f[2:6])
	for i, b := range payload {
		f = append(f, b^f[2+i%4])
	}
	_ = r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.c.Write(f)
	return err
}
