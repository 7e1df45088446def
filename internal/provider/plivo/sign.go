package plivo

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Signature headers Plivo sends on voice callbacks.
const (
	HeaderV3      = "X-Plivo-Signature-V3"
	HeaderMaV3    = "X-Plivo-Signature-Ma-V3"
	HeaderV3Nonce = "X-Plivo-Signature-V3-Nonce"
	HeaderV2      = "X-Plivo-Signature-V2"
	HeaderMaV2    = "X-Plivo-Signature-Ma-V2"
	HeaderV2Nonce = "X-Plivo-Signature-V2-Nonce"
)

// SignV3 returns the X-Plivo-Signature-V3 value for a callback: the base64
// HMAC-SHA256 with authToken of the canonical string of docs/providers.md, "Plivo",
// followed by "." and nonce. params are the callback's decoded parameters:
// the form body for POST, the query parameters for GET (for GET they are
// merged with the URL's own query, the URL winning, so passing the request's
// query again changes nothing). It returns "" when rawURL has no scheme and
// host, which no signature header can match.
func SignV3(authToken, method, rawURL, nonce string, params url.Values) string {
	s, ok := canonicalV3(method, rawURL, params)
	if !ok {
		return ""
	}
	return hmacBase64(authToken, s+"."+nonce)
}

// canonicalV3 builds the string V3 signs, without the nonce:
//
//	GET:                base?k=v&k=v         (query ∪ params, sorted; no "?" if empty)
//	POST, no params:    base?k=v&k=v         (query, sorted; no "?" if empty)
//	POST with a query:  base?k=v&k=v.kvkv    (query, then body as key+value)
//	POST, no query:     base?kvkv
//
// base is scheme://host[:port]/path with the query removed and a trailing
// "/" kept. Keys sort bytewise, the values of a repeated key sort too.
func canonicalV3(method, rawURL string, params url.Values) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	base := u.Scheme + "://" + u.Host + u.EscapedPath()
	query, _ := url.ParseQuery(u.RawQuery) // keep what parses, as the SDKs do
	if strings.EqualFold(method, "GET") {
		merged := url.Values{}
		for k, v := range params {
			merged[k] = v
		}
		for k, v := range query {
			merged[k] = v
		}
		if q := sortedPairs(merged, "=", "&"); q != "" {
			return base + "?" + q, true
		}
		return base, true
	}
	q := sortedPairs(query, "=", "&")
	if len(params) == 0 {
		if q != "" {
			return base + "?" + q, true
		}
		return base, true
	}
	s := base + "?" + q
	if q != "" {
		s += "."
	}
	return s + sortedPairs(params, "", ""), true
}

func sortedPairs(v url.Values, kvSep, itemSep string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []string
	for _, k := range keys {
		vals := append([]string(nil), v[k]...)
		sort.Strings(vals)
		for _, val := range vals {
			items = append(items, k+kvSep+val)
		}
	}
	return strings.Join(items, itemSep)
}

// SignV2 returns the legacy X-Plivo-Signature-V2 value: base64
// HMAC-SHA256(authToken, scheme://host/path + nonce). It covers neither the
// query nor the parameters; callhook does not accept it on its own (see the
// package comment) and exports it for tests.
func SignV2(authToken, rawURL, nonce string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return hmacBase64(authToken, u.Scheme+"://"+u.Host+u.EscapedPath()+nonce)
}

func hmacBase64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Nonce returns a random 20-digit nonce like the ones Plivo sends.
func Nonce() string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b[:])
}
