package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"callhook/internal/live"
)

// tail follows /api/v1/stream and prints one line per event, resuming after
// a disconnect from the last sequence number it printed.
func tail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", env("CALLHOOK_URL", "http://127.0.0.1:8080"), "callhook base URL (CALLHOOK_URL)")
	token := fs.String("token", env("CALLHOOK_TOKEN", ""), "API token (CALLHOOK_TOKEN)")
	after := fs.Int64("after", -1, "resume after this sequence number (-1: from now)")
	raw := fs.Bool("json", false, "print raw JSON messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		return errors.New("an API token is required: --token or CALLHOOK_TOKEN (create one with 'callhook token create')")
	}
	u, err := url.Parse(strings.TrimRight(*base, "/") + "/api/v1/stream")
	if err != nil {
		return err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	last := *after
	backoff := time.Second
	for ctx.Err() == nil {
		q := u.Query()
		if last >= 0 {
			q.Set("after", strconv.FormatInt(last, 10))
		}
		u.RawQuery = q.Encode()
		h := http.Header{"Authorization": {"Bearer " + *token}}
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, u.String(), h)
		if err != nil {
			if resp != nil && (resp.StatusCode == 401 || resp.StatusCode == 403) {
				return fmt.Errorf("stream: %s (check the token)", resp.Status)
			}
			fmt.Fprintf(stderr, "tail: %v; retrying in %s\n", err, backoff)
			time.Sleep(backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				stop()
				conn.Close()
				break
			}
			var m live.Message
			if json.Unmarshal(msg, &m) != nil {
				continue
			}
			if m.Seq > 0 {
				last = m.Seq
			} else if m.Type == "hello" && last < 0 {
				last = m.Seq
			}
			if *raw {
				fmt.Fprintln(stdout, string(msg))
				continue
			}
			fmt.Fprintln(stdout, describe(m))
		}
	}
	return nil
}

// describe renders one feed message as a terminal line.
func describe(m live.Message) string {
	var d map[string]any
	_ = json.Unmarshal(m.Data, &d)
	var b strings.Builder
	fmt.Fprintf(&b, "%6d  %-15s", m.Seq, m.Type)
	if m.ChannelID != nil {
		fmt.Fprintf(&b, " channel=%s", *m.ChannelID)
	}
	if m.CallID != nil {
		fmt.Fprintf(&b, " call=%d", *m.CallID)
	}
	if m.AlertID != nil {
		fmt.Fprintf(&b, " alert=%d", *m.AlertID)
	}
	for _, k := range []string{"event_type", "status", "state", "digit", "action", "outcome", "reason", "title", "message"} {
		if v, ok := d[k]; ok && v != "" && v != nil {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	return b.String()
}
