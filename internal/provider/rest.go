package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxAPIResponse is how much of a REST API answer is read.
const maxAPIResponse = 1 << 20

// HTTPError is a non-2xx answer of a provider's REST API.
type HTTPError struct {
	Status int
	Body   []byte // the start of the answer's body
}

// Error is "HTTP <status>: <at most MaxErrorText bytes of the body>". The
// body may echo credentials: callers pass the error through a Redactor
// before keeping it (docs/outbound.md).
func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, clip(strings.TrimSpace(string(e.Body)), MaxErrorText))
}

// NewJSONRequest builds a request to a provider's JSON REST API: body, when
// not nil, is sent as application/json, and the answer is asked for as JSON.
// The caller adds the credentials.
func NewJSONRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// DoJSON sends req with client and decodes a 2xx JSON answer into out,
// reading at most 1 MiB of it. Errors start with name, typically method and
// path: "POST /v1/calls: HTTP 401: …"; a non-2xx answer wraps an *HTTPError.
func DoJSON(client *http.Client, req *http.Request, name string, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %w", name, &HTTPError{Status: resp.StatusCode, Body: b})
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", name, err)
	}
	return nil
}
