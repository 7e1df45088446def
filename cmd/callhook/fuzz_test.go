package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzHTTP sends arbitrary requests (method, path, a header, body, and how
// the body's length is announced) to the whole app through a real listener:
// no request may crash it, none may get a 5xx other than 503, and a stored
// callback is stored whole (its event count matches its events).
func FuzzHTTP(f *testing.F) {
	dir := f.TempDir()
	app, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(dir, "fuzz.db"),
		AdminPassword: testAdminPassword, MaxBody: 1 << 16, BcryptCost: 4, PollInterval: time.Hour, MaxEvents: 100},
		slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { app.Shutdown(5 * time.Second) })
	tok, _, err := app.Auth.CreateToken(context.Background(), "fuzz", "admin")
	if err != nil {
		f.Fatal(err)
	}
	ch := createFuzzChannel(f, app.URL(), tok)
	cb := "/api/integrations/voice/callback/" + ch.ID + "/" + ch.Secret
	const (
		exact = iota
		huge
		chunked
		none
	)
	seeds := []struct {
		method, path, hk, hv string
		body                 string
		length               uint8
	}{
		{"POST", cb, "Content-Type", "application/json", `{"call_id":"f1","event_type":"status","status":"ringing"}`, exact},
		{"POST", cb, "Content-Type", "application/json", `[{"call_id":"f1","event_type":"dtmf","digit":"1"},{}]`, exact},
		{"POST", cb, "Content-Type", "application/json", "[" + strings.Repeat("{},", 200) + "{}]", exact},
		{"POST", "/api/integrations/voice/callback/x/y", "Content-Type", "application/json", "", huge},
		{"POST", cb, "Content-Type", "application/json", strings.Repeat("a", 70000), chunked},
		{"POST", cb, "Content-Type", "multipart/form-data; boundary=zz", "--zz--", exact},
		{"GET", cb + "?q=" + strings.Repeat("z", 5000), "", "", "", none},
		{"PUT", "/api/integrations/voice/callback//", "X-A", "b", "{}", exact},
		{"DELETE", "/api/v1/channels/" + ch.ID, "Authorization", "Bearer nope", "", none},
		{"POST", "/api/v1/alerts", "Authorization", "Bearer " + tok, `{"title":` + strings.Repeat("[", 5000), exact},
		{"POST", "/login", "Content-Type", "application/x-www-form-urlencoded", "name=admin&password=x&_csrf=1", exact},
		{"GET", "/%zz/../..//?a=%", "Cookie", "callhook_session=AAAA", "", none},
		{"OPTIONS", "/api/v1/stream?after=-1", "Upgrade", "websocket", "", none},
		{"GET", "/api/v1/calls?limit=-5&cursor=zzz&status=<script>", "Authorization", "Bearer " + tok, "", none},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.hk, s.hv, []byte(s.body), s.length)
	}
	f.Fuzz(func(t *testing.T, method, path, hk, hv string, body []byte, length uint8) {
		req := rawFuzzRequest(method, path, hk, hv, body, length%4)
		status, cbID, err := sendRaw(app.URL(), req)
		if err != nil {
			// A malformed request may be dropped; the server must live on.
			resp, herr := http.Get(app.URL() + "/healthz")
			if herr != nil {
				t.Fatalf("server down after %q: %v", truncate(req), herr)
			}
			resp.Body.Close()
			return
		}
		if status >= 500 && status != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d for %q", status, truncate(req))
		}
		if cbID != "" {
			checkStoredWhole(t, app.URL(), tok, cbID)
		}
	})
}

// rawFuzzRequest renders one request as bytes on the wire; CR and LF are
// taken out of the request line and header so it stays one request.
func rawFuzzRequest(method, path, hk, hv string, body []byte, length uint8) string {
	clean := func(s string) string { return strings.NewReplacer("\r", "", "\n", "", " ", "%20").Replace(s) }
	method = strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, method)
	if method == "" {
		method = "GET"
	}
	path = clean(path)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if len(path) > 12000 {
		path = path[:12000]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: fuzz\r\n", method, path)
	hk = strings.Map(func(r rune) rune {
		if r > ' ' && r < 127 && r != ':' {
			return r
		}
		return -1
	}, hk)
	if hk != "" && !strings.EqualFold(hk, "Content-Length") && !strings.EqualFold(hk, "Transfer-Encoding") &&
		!strings.EqualFold(hk, "Host") && !strings.EqualFold(hk, "Connection") && !strings.EqualFold(hk, "Expect") {
		fmt.Fprintf(&b, "%s: %s\r\n", hk, strings.NewReplacer("\r", "", "\n", "").Replace(hv))
	}
	switch length {
	case 0: // exact
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	case 1: // far over any limit, nothing sent
		b.WriteString("Content-Length: 99999999\r\n\r\n")
	case 2: // chunked
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		if len(body) > 0 {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(body), body)
		}
		b.WriteString("0\r\n\r\n")
	default: // no body
		b.WriteString("\r\n")
	}
	return b.String()
}

func sendRaw(base, req string) (status int, callbackID string, err error) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 2*time.Second)
	if err != nil {
		return 0, "", err
	}
	// Close with a reset, not a FIN: thousands of requests a second would
	// otherwise leave every local port in TIME_WAIT and stall the fuzzer.
	_ = conn.(*net.TCPConn).SetLinger(0)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Callhook-Callback-Id"), nil
}

// checkStoredWhole reads a stored callback back: its events are all there.
func checkStoredWhole(t *testing.T, base, tok, id string) {
	t.Helper()
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		t.Fatalf("callback id header %q", id)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/callbacks/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cb struct {
		Outcome    string            `json:"outcome"`
		EventCount int               `json:"event_count"`
		Events     []json.RawMessage `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cb); err != nil || resp.StatusCode != 200 {
		t.Fatalf("callback %s: HTTP %d %v", id, resp.StatusCode, err)
	}
	if cb.Outcome != "rejected" && cb.Outcome != "duplicate" && len(cb.Events) != cb.EventCount {
		t.Fatalf("callback %s (%s) stored %d of its %d events", id, cb.Outcome, len(cb.Events), cb.EventCount)
	}
}

func createFuzzChannel(f *testing.F, base, tok string) channelJSON {
	req, _ := http.NewRequest("POST", base+"/api/v1/channels", strings.NewReader(`{"name":"fuzz"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	defer resp.Body.Close()
	var ch channelJSON
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
		f.Fatal(err)
	}
	return ch
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
