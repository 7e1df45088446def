package provider

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBlockedIP(t *testing.T) {
	tests := []struct {
		ip      string
		blocked bool
	}{
		{"169.254.169.254", true}, // AWS, GCP, Azure metadata
		{"169.254.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"fe80::1", true},
		{"fd00:ec2::254", true},   // AWS metadata over IPv6
		{"100.100.100.200", true}, // Alibaba Cloud metadata
		{"127.0.0.1", false},      // a gateway on the same host
		{"::1", false},
		{"10.0.0.5", false}, // a gateway on the LAN
		{"192.168.1.20", false},
		{"172.16.0.1", false},
		{"fd00::1", false},
		{"100.100.100.201", false},
		{"203.0.113.7", false},
	}
	for _, tt := range tests {
		if got := blockedIP(netip.MustParseAddr(tt.ip)); got != tt.blocked {
			t.Errorf("blockedIP(%s) = %v, want %v", tt.ip, got, tt.blocked)
		}
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		blocked bool // wraps ErrBlockedAddress
		ok      bool
	}{
		{"https://api.example.com/v1", false, true},
		{"http://127.0.0.1:8080/v1", false, true},
		{"http://localhost:8080", false, true},
		{"http://10.1.2.3/v1", false, true},
		{"example.signalwire.com", false, true},
		{"http://169.254.169.254/", true, false},
		{"http://169.254.169.254:80/latest/meta-data/", true, false},
		{"169.254.169.254", true, false},
		{"http://[fe80::1%25eth0]/", true, false},
		{"http://[fd00:ec2::254]/", true, false},
		{"http://100.100.100.200/", true, false},
		{"http://metadata.google.internal/computeMetadata/v1/", true, false},
		{"http://Metadata.Google.Internal./", true, false},
		{"ftp://api.example.com/", false, false},
		{"http:///v1", false, false},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url)
		if (err == nil) != tt.ok || errors.Is(err, ErrBlockedAddress) != tt.blocked {
			t.Errorf("CheckURL(%q) = %v, want ok %v, blocked %v", tt.url, err, tt.ok, tt.blocked)
		}
	}
}

func TestOutboundClientRefusesBlockedAddresses(t *testing.T) {
	c := NewOutboundClient(5 * time.Second)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://[::ffff:169.254.169.254]/",
		"http://[fd00:ec2::254]/",
		"http://100.100.100.200/latest/meta-data/",
		"http://metadata.google.internal/computeMetadata/v1/",
	} {
		start := time.Now()
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		// Refused before any packet: a real attempt would wait for the dial timeout.
		if !errors.Is(err, ErrBlockedAddress) || time.Since(start) > time.Second {
			t.Errorf("GET %s: %v after %v, want %v at once", u, err, time.Since(start), ErrBlockedAddress)
		}
	}
}

// TestDialControlChecksResolvedAddresses covers a host name that resolves to
// a metadata address: the dialer's check sees the IP, whatever the name.
func TestDialControlChecksResolvedAddresses(t *testing.T) {
	tests := []struct {
		address string
		blocked bool
	}{
		{"169.254.169.254:80", true},
		{"[fe80::1]:443", true},
		{"[fd00:ec2::254]:80", true},
		{"100.100.100.200:80", true},
		{"127.0.0.1:8080", false},
		{"[::1]:8080", false},
		{"10.0.0.5:443", false},
	}
	for _, tt := range tests {
		err := dialControl("tcp", tt.address, nil)
		if errors.Is(err, ErrBlockedAddress) != tt.blocked || (err != nil && !tt.blocked) {
			t.Errorf("dialControl(%s) = %v, want blocked %v", tt.address, err, tt.blocked)
		}
	}
}

func TestOutboundClientDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the redirect target got the credentials: %q", r.Header.Get("Authorization"))
		}
	}))
	defer other.Close()
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", status)
		}))
		req, err := NewJSONRequest(t.Context(), http.MethodPost, api.URL+"/v1/calls", []byte(`{"to":"+15550001"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer api-token")
		err = DoJSON(NewOutboundClient(5*time.Second), req, "POST /v1/calls", &struct{}{})
		host := strings.TrimPrefix(other.URL, "http://")
		if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(status)) || !strings.Contains(err.Error(), host) {
			t.Errorf("redirect %d: %v, want %v naming the status and %s", status, err, ErrRedirect, host)
		}
		api.Close()
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target was requested %d times", n)
	}
}

func TestOutboundClientReachesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"call_id":"c-1"}`))
	}))
	defer srv.Close()
	req, err := NewJSONRequest(t.Context(), http.MethodGet, srv.URL+"/v1/calls/c-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		CallID string `json:"call_id"`
	}
	if err := DoJSON(NewOutboundClient(5*time.Second), req, "GET /v1/calls/c-1", &out); err != nil || out.CallID != "c-1" {
		t.Errorf("a gateway on 127.0.0.1: %v %+v", err, out)
	}
}
