package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewJSONRequest(t *testing.T) {
	req, err := NewJSONRequest(context.Background(), http.MethodPost, "http://api.test/v1/calls", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(req.Body)
	if string(b) != `{"a":1}` || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Accept") != "application/json" {
		t.Errorf("request body %q headers %v", b, req.Header)
	}
	req, err = NewJSONRequest(context.Background(), http.MethodGet, "http://api.test/v1/calls/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil || req.Header.Get("Content-Type") != "" || req.Header.Get("Accept") != "application/json" {
		t.Errorf("GET request body %v headers %v", req.Body, req.Header)
	}
	if _, err := NewJSONRequest(context.Background(), "BAD METHOD", "http://api.test/", nil); err == nil {
		t.Error("invalid method: no error")
	}
}

func TestDoJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"id":"c-1"}`))
		case "/bad-json":
			_, _ = w.Write([]byte(`<html>`))
		case "/long":
			http.Error(w, strings.Repeat("x", 400), http.StatusBadGateway)
		default:
			http.Error(w, ` {"error":"no such call"} `, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	do := func(path string, out any) error {
		req, err := NewJSONRequest(context.Background(), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return DoJSON(srv.Client(), req, "GET "+path, out)
	}

	var out struct {
		ID string `json:"id"`
	}
	if err := do("/ok", &out); err != nil || out.ID != "c-1" {
		t.Errorf("ok: %v %+v", err, out)
	}
	err := do("/missing", &out)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusNotFound || err.Error() != `GET /missing: HTTP 404: {"error":"no such call"}` {
		t.Errorf("404: %v", err)
	}
	err = do("/long", &out)
	if want := "GET /long: HTTP 502: " + strings.Repeat("x", MaxErrorText-len("…")) + "…"; err == nil || err.Error() != want {
		t.Errorf("long error body: %v", err)
	}
	if err := do("/bad-json", &out); err == nil || !strings.HasPrefix(err.Error(), "GET /bad-json: decode response: ") {
		t.Errorf("bad JSON: %v", err)
	}
	srv.Close()
	if err := do("/ok", &out); err == nil || !strings.HasPrefix(err.Error(), "GET /ok: ") || errors.As(err, &he) {
		t.Errorf("closed server: %v", err)
	}
}
