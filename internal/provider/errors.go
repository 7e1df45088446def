package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

func wrapf(base error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", base, fmt.Sprintf(format, args...))
}

// Errorf wraps one of the package's sentinel errors with a message.
func Errorf(base error, format string, args ...any) error { return wrapf(base, format, args...) }

// Redacted is what a secret found in a provider's answer is replaced with.
const Redacted = "[redacted]"

// MaxErrorText is how many bytes of a provider's error callhook keeps once
// redacted: the operation, the HTTP status and the start of the answer. A
// provider that echoes the request would otherwise fill call timelines and
// logs with it.
const MaxErrorText = 200

// minSecret is the shortest secret a Redactor looks for: shorter values
// protect nothing and would blank out ordinary words.
const minSecret = 4

// Redactor hides secrets in text that came back from a provider: its error
// bodies and messages echo requests, and requests carry the channel secret
// (in the callback URL) and the provider's credentials. Every answer is
// passed through one before it is stored, shown or logged (docs/outbound.md).
type Redactor struct {
	forms []string // every spelling of every secret, longest first
}

// NewRedactor returns a redactor for secrets. A value holding a
// comma-separated list (keys during a rotation) counts as each of its items
// too. Each secret is also looked for URL-escaped and JSON-escaped, the forms
// an echoed request carries it in.
func NewRedactor(secrets ...string) Redactor {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if len(f) >= minSecret && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		for _, part := range append([]string{s}, strings.Split(s, ",")...) {
			part = strings.TrimSpace(part)
			if len(part) < minSecret {
				continue
			}
			add(part)
			add(url.QueryEscape(part))
			add(url.PathEscape(part))
			add(jsonEscape(part, true))
			add(jsonEscape(part, false))
		}
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return Redactor{forms: forms}
}

// jsonEscape returns s as it appears inside a JSON string.
func jsonEscape(s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s)
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`)
}

// Redact replaces every occurrence of a secret in s with [redacted]. A text
// cut short by the adapter that read it may end in the first characters of a
// secret: those are redacted too.
func (r Redactor) Redact(s string) string {
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, f, Redacted)
	}
	cut := 0 // the longest start of a secret that s ends with
	for _, f := range r.forms {
		for k := min(len(f)-1, len(s)); k >= minSecret && k > cut; k-- {
			if s[len(s)-k] == f[0] && strings.HasSuffix(s, f[:k]) {
				cut = k
				break
			}
		}
	}
	if cut > 0 {
		s = s[:len(s)-cut] + Redacted
	}
	return s
}

// Error returns err's message as callhook may keep it: redacted, then cut
// to MaxErrorText bytes. An *HTTPError in err is read from its whole body,
// not its already cut message, so no part of a secret survives the cut.
// It is "" for a nil error.
func (r Redactor) Error(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var he *HTTPError
	if errors.As(err, &he) {
		msg = strings.Replace(msg, he.Error(), fmt.Sprintf("HTTP %d: %s", he.Status, strings.TrimSpace(string(he.Body))), 1)
	}
	return clip(r.Redact(msg), MaxErrorText)
}

// clip cuts s to at most n bytes on a character boundary, ending a cut text
// with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + "…"
}
