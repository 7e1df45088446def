package dispatch_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"callhook/internal/dispatch"
	"callhook/internal/provider"
)

// echoAPI is a calling service whose error answers echo the whole request,
// headers and body, as some gateways' validation errors do.
func echoAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		// JSON-escaped body first, as a JSON error would carry it, then raw.
		q := strings.ReplaceAll(string(body), `"`, `\"`)
		io.WriteString(w, `{"error":"invalid request","echo":"`+q+`","authorization":"`+r.Header.Get("Authorization")+`","raw":`+string(body)+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProviderErrorsAreRedacted(t *testing.T) {
	const token = "tok_9f2c4e7a1b3d5f60718293a4b5c6d7e8"
	d, st, _, ch, now := setup(t)
	ctx := context.Background()
	srv := echoAPI(t)
	if err := st.SetGlobalProvider(ctx, "generic", map[string]string{"api_url": srv.URL + "/v1", "api_token": token}); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	secrets := []string{ch.Secret, url.PathEscape(ch.Secret), token}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s carries secret %q: %s", where, s, text)
			}
		}
		// A cut secret leaks its start: eight characters are enough to tell.
		for _, s := range []string{ch.Secret[:8], token[:8]} {
			if strings.Contains(text, s) {
				t.Errorf("%s carries the start %q of a secret: %s", where, s, text)
			}
		}
	}

	id, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "Disk full", ChannelID: ch.ID, Targets: []string{"+15550001"}})
	if err != nil {
		t.Fatal(err)
	}
	_, perr := d.PlaceCall(ctx, dispatch.CallInput{ChannelID: ch.ID, To: "+15550002", Message: "again"})
	if perr == nil {
		t.Fatal("placing a call the provider refuses: no error")
	}
	leaks("the API error", perr.Error())
	if !strings.Contains(perr.Error(), "HTTP 400") || len(perr.Error()) > len(dispatch.ErrPlaceFailed.Error())+2+provider.MaxErrorText {
		t.Errorf("API error should name the status in a short message: %q", perr.Error())
	}
	al, err := st.AlertView(ctx, id)
	if err != nil || len(al.Calls) != 1 {
		t.Fatalf("alert %+v: %v", al, err)
	}
	v, err := st.CallView(ctx, al.Calls[0].ID)
	if err != nil || len(v.Events) != 1 {
		t.Fatalf("call %+v: %v", v, err)
	}
	msg := v.Events[0].Message
	leaks("the stored event", msg)
	if !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, provider.Redacted) || len(msg) > provider.MaxErrorText {
		t.Errorf("stored event message %q (%d bytes), want the status and [redacted] in at most %d bytes", msg, len(msg), provider.MaxErrorText)
	}

	// Polling: the status request's error answer echoes the Authorization header.
	if _, err := d.PlaceCall(ctx, dispatch.CallInput{ChannelID: ch.ID, To: "+15550003", ProviderCallID: "elsewhere-1"}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute)
	if n := d.PollOnce(ctx); n != 1 {
		t.Fatalf("polled %d calls, want 1", n)
	}
	out := logs.String()
	if !strings.Contains(out, "place call failed") || !strings.Contains(out, "poll: fetch call") {
		t.Fatalf("log lacks the provider errors:\n%s", out)
	}
	leaks("the log", out)
}
