package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// cspBase is the Content-Security-Policy of every response but for
// connect-src: scripts, styles and everything else come from this site only,
// never inline, so injected markup can run nothing; no site may frame the
// console (clickjacking); forms post only here.
const cspBase = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries: the CSP, no
// MIME sniffing, no Referer to other sites, and HSTS when the console is
// served over https (a plain-http install must not be told to be https).
func (s *Server) securityHeaders() fiber.Handler {
	hsts := strings.HasPrefix(s.Config.PublicURL, "https://")
	public := ""
	if u, err := url.Parse(s.Config.PublicURL); err == nil && validHost(u.Host) {
		public = u.Host
	}
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, cspBase+"; connect-src "+connectSrc(public, string(c.Request().Host())))
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "same-origin")
		if hsts {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000")
		}
		return c.Next()
	}
}

// connectSrc is the CSP source list for fetch and the live WebSocket
// (static/app.js opens ws(s)://location.host/api/v1/stream). CSP3 lets
// 'self' match ws: and wss: on the page's own host, but older Chromium does
// not, so the WebSocket origins are listed: those of the public URL and of
// the Host the page was asked for (a proxy may serve another name).
func connectSrc(hosts ...string) string {
	var b strings.Builder
	b.WriteString("'self'")
	seen := map[string]bool{}
	for _, h := range hosts {
		h = strings.ToLower(h)
		if h == "" || seen[h] || !validHost(h) {
			continue
		}
		seen[h] = true
		b.WriteString(" ws://" + h + " wss://" + h)
	}
	return b.String()
}

// validHost reports whether h is a host[:port] safe to put in a header: a
// Host header is the client's to choose, and a space or a semicolon would
// add sources or directives to the policy.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-:[]", r):
		default:
			return false
		}
	}
	return true
}

// bodyCSRF returns the _csrf field of a form body (urlencoded or multipart).
// Unlike FormValue it never reads the query string: a token in a URL ends up
// in logs, history and Referer headers.
func bodyCSRF(c *fiber.Ctx) string {
	if v := c.Request().PostArgs().Peek("_csrf"); len(v) > 0 {
		return string(v)
	}
	if f, err := c.MultipartForm(); err == nil && len(f.Value["_csrf"]) > 0 {
		return f.Value["_csrf"][0]
	}
	return ""
}
