package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"callhook/internal/provider"
)

// HeaderSignature is the request header that carries Twilio's signature.
const HeaderSignature = "X-Twilio-Signature"

// bodyHashParam is the query parameter that carries the SHA-256 of a
// non-form body in Twilio's JSON-body signature scheme.
const bodyHashParam = "bodySHA256"

// Signature returns the X-Twilio-Signature value for a request to rawURL
// carrying params: base64(HMAC-SHA1(authToken, rawURL + name1 + value1 + ...)).
// Names are sorted by byte order; the values of a repeated name are sorted
// and exact duplicates dropped, as the Python and Node SDKs do. rawURL is
// signed exactly as given (scheme, credentials, port, path, query).
// Pass nil params for GET requests and for the JSON-body scheme.
func Signature(authToken, rawURL string, params url.Values) string {
	// The signed text is built in one buffer and hashed in one write: a
	// write per name and value cost an allocation each.
	size := len(rawURL)
	names := make([]string, 0, len(params))
	for k, vs := range params {
		names = append(names, k)
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	sort.Strings(names)
	b := make([]byte, 0, size)
	b = append(b, rawURL...)
	for _, k := range names {
		vals := params[k]
		if len(vals) > 1 {
			vals = append([]string(nil), vals...)
			sort.Strings(vals)
		}
		for i, v := range vals {
			if i > 0 && v == vals[i-1] {
				continue
			}
			b = append(b, k...)
			b = append(b, v...)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write(b)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// BodySHA256 returns the lower-case hex SHA-256 of body, the value of the
// bodySHA256 query parameter in Twilio's JSON-body scheme.
func BodySHA256(body []byte) string {
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])
}

// SignBody signs a non-form (JSON) body the way Twilio does: it appends
// bodySHA256=<hex SHA-256 of body> to rawURL's query and signs that URL with
// no parameters. It returns the URL to post to and the signature.
func SignBody(authToken, rawURL string, body []byte) (signedURL, signature string) {
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	signedURL = rawURL + sep + bodyHashParam + "=" + BodySHA256(body)
	return signedURL, Signature(authToken, signedURL, nil)
}

// URLVariants returns the URLs a Twilio signature may have been computed
// over for a request received at rawURL: the URL as received, the URL with
// its port removed, and the URL with the scheme's default port (:443 or :80)
// added when it has none. Twilio signs sometimes with and sometimes without
// the port; every SDK accepts all three. Everything else (credentials, path,
// query, percent-encodings) is kept byte for byte.
func URLVariants(rawURL string) []string {
	out := []string{rawURL}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return out
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostport := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hostport = authority[:i+1], authority[i+1:]
	}
	host, hasPort := hostport, false
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && i > strings.LastIndexByte(hostport, ']') {
		host, hasPort = hostport[:i], true
	}
	if host == "" {
		return out
	}
	build := func(hp string) string { return scheme + "://" + userinfo + hp + tail }
	if hasPort {
		out = append(out, build(host))
		return out
	}
	switch strings.ToLower(scheme) {
	case "https":
		out = append(out, build(host+":443"))
	case "http":
		out = append(out, build(host+":80"))
	}
	return out
}

// Validator checks X-Twilio-Signature-style signatures (Twilio, SignalWire
// cXML, Dograh). The zero value is the strict validator.
type Validator struct {
	// AllowURLOnly accepts a non-form body whose URL carries no bodySHA256
	// when the signature covers the URL alone. The body is then not
	// authenticated at all; Twilio's Call Notification webhook may be signed
	// this way (docs/providers.md, "Twilio"), so only the Twilio adapter turns it on.
	AllowURLOnly bool
}

// ValidateRequest checks signature, the X-Twilio-Signature value of r,
// against authToken with the strict Validator. See Validator.Validate.
func ValidateRequest(authToken, signature string, r *provider.Request) error {
	return Validator{}.Validate(authToken, signature, r)
}

// Validate checks signature against r signed with authToken:
//
//   - GET: the full URL as received, no parameters;
//   - a form body (or no content type): the URL plus the sorted body parameters;
//   - any other body: the URL must carry bodySHA256 equal to the SHA-256 of
//     the raw body, and the signature covers the URL alone;
//
// each tried over URLVariants, compared in constant time. Errors wrap
// provider.ErrBadSignature; the signature value is never echoed.
func (v Validator) Validate(authToken, signature string, r *provider.Request) error {
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing signature header")
	}
	var params url.Values
	if r.Method != http.MethodGet && len(r.Body) > 0 {
		switch mt := r.MediaType(); mt {
		case "", "application/x-www-form-urlencoded":
			// The form the parser reads too, parsed once (Request.Params).
			p, err := r.Params()
			if err != nil {
				return provider.Errorf(provider.ErrBadSignature, "%v", err)
			}
			params = p
		default:
			want := r.Query().Get(bodyHashParam)
			switch {
			case want != "":
				if !provider.EqualString(strings.ToLower(want), BodySHA256(r.Body)) {
					return provider.Errorf(provider.ErrBadSignature, "bodySHA256 does not match the %s body", mt)
				}
			case !v.AllowURLOnly:
				return provider.Errorf(provider.ErrBadSignature, "%s body without bodySHA256 in the URL", mt)
			}
		}
	}
	for _, u := range URLVariants(r.URL) {
		if provider.EqualString(Signature(authToken, u, params), signature) {
			return nil
		}
	}
	return provider.Errorf(provider.ErrBadSignature, "signature does not match the URL and parameters")
}

// NewSignedRequest returns a POST request to rawURL whose url-encoded body is
// form, signed with authToken in the given header (X-Twilio-Signature unless
// header is set). With an empty authToken the request carries no signature.
// Tests and the console's "send test callback" use it.
func NewSignedRequest(authToken, header, rawURL string, form url.Values, now time.Time) *provider.Request {
	if header == "" {
		header = HeaderSignature
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if authToken != "" {
		h.Set(header, Signature(authToken, rawURL, form))
	}
	return &provider.Request{Method: http.MethodPost, URL: rawURL, Header: h, Body: []byte(form.Encode()), Now: now}
}
