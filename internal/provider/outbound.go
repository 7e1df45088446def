package provider

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Outbound requests to providers go to URLs an admin types in (the generic
// provider's api_url, SignalWire's space_url) and carry credentials, so the
// shared client refuses two things (docs/outbound.md):
//
//   - link-local and cloud metadata addresses, by name before the request and
//     by IP after DNS resolution at dial time, so a hostname that resolves to
//     169.254.169.254 is refused too;
//   - redirects, which would re-send the Authorization header to wherever the
//     Location points.
//
// Loopback and private ranges stay allowed on purpose: a calling gateway on
// the same host or the same LAN is a real deployment.

// ErrBlockedAddress is the error of a request to a link-local or cloud
// metadata address.
var ErrBlockedAddress = errors.New("link-local and cloud metadata addresses are not allowed")

// ErrRedirect is the error of a provider answer that redirects elsewhere.
var ErrRedirect = errors.New("redirects from provider APIs are not followed")

// metadataIPs are the cloud instance-metadata endpoints outside the
// link-local ranges: AWS's IPv6 endpoint and Alibaba Cloud's.
var metadataIPs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// metadataHosts are metadata endpoints by name.
var metadataHosts = []string{"metadata.google.internal"}

// blockedIP reports whether ip is link-local (169.254.0.0/16, fe80::/10,
// which holds the AWS, GCP and Azure metadata address 169.254.169.254) or a
// known cloud metadata address. IPv4-mapped IPv6 addresses count as their
// IPv4 address.
func blockedIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return true
	}
	for _, m := range metadataIPs {
		if ip == m {
			return true
		}
	}
	return false
}

// blockedHost reports whether a URL's host (no port) names a blocked address
// literally or by a metadata host name.
func blockedHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, m := range metadataHosts {
		if h == m {
			return true
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return blockedIP(ip)
	}
	return false
}

// CheckURL validates a provider API URL an admin configures: http or https
// with a host that is not a link-local or cloud metadata address. A URL
// without a scheme is read as https, as SignalWire's space_url is. The
// host's DNS answer is checked when a request is made, not here.
func CheckURL(raw string) error {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("must be an http:// or https:// URL with a host")
	}
	if blockedHost(u.Hostname()) {
		return fmt.Errorf("%s: %w", u.Hostname(), ErrBlockedAddress)
	}
	return nil
}

// NewOutboundClient returns the http.Client every provider adapter shares
// (provider.Deps.HTTPClient): timeout bounds each request, blocked addresses
// are refused before connecting and redirects are not followed.
func NewOutboundClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: dialControl}
	tr.DialContext = d.DialContext
	return &http.Client{
		Timeout:   timeout,
		Transport: guardTransport{tr},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return fmt.Errorf("%w: HTTP %d to %s", ErrRedirect, status, req.URL.Host)
		},
	}
}

// dialControl runs after DNS resolution, once per address tried: the last
// word on where a request goes, whatever name led there.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if blockedIP(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", address, ErrBlockedAddress)
	}
	return nil
}

// guardTransport refuses blocked hosts named in the URL before any proxy
// sees the request: with HTTPS_PROXY set the dial check only sees the proxy.
type guardTransport struct{ next http.RoundTripper }

func (g guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if blockedHost(req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%s: %w", req.URL.Hostname(), ErrBlockedAddress)
	}
	return g.next.RoundTrip(req)
}
