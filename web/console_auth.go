package web

import (
	"crypto/subtle"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"callhook/internal/auth"
	"callhook/views"
)

// LoginCSRFCookie holds the sign-in form's double-submit CSRF token: the form
// carries the same value, which a cross-site page cannot read or set.
const LoginCSRFCookie = "callhook_login_csrf"

// loginWindow is the period the sign-in rate limit counts failures over.
const loginWindow = time.Minute

// newSignIn returns the sign-in and sign-out handlers with their rate limiter:
// LoginLimit failures a minute per address, half of that per (address, user).
func (s *Server) newSignIn() *signIn {
	limit := s.Config.LoginLimit
	if limit <= 0 {
		limit = 10
	}
	return &signIn{s: s, limiter: newLoginLimiter(loginWindow), addrLimit: limit, pairLimit: (limit + 1) / 2}
}

// signIn serves the sign-in and sign-out handlers with their rate limiter.
type signIn struct {
	s       *Server
	limiter *loginLimiter
	// addrLimit caps the attempts of one address over all user names
	// (password spraying); pairLimit, lower, the attempts of one address at
	// one user name (guessing one password). There is deliberately no limit
	// per user name alone: anyone could then lock the admin out.
	addrLimit, pairLimit int
}

// form shows the sign-in form, or goes on to next when already signed in.
func (h *signIn) form(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"))
	if v := c.Cookies(SessionCookie); v != "" {
		if _, err := h.s.Auth.Session(c.UserContext(), v); err == nil {
			return c.Redirect(next, fiber.StatusSeeOther)
		}
	}
	props := views.LoginProps{CSRF: h.csrfToken(c), Next: c.Query("next")}
	if props.Next != "" {
		props.Next = next
	}
	props.Notice = h.s.page(c, "", "").Flash
	return renderNoStore(c, fiber.StatusOK, views.Login(props))
}

// login checks the form's CSRF token, the rate limit and the password, then
// opens a session and goes to next.
func (h *signIn) login(c *fiber.Ctx) error {
	name := formText(c, "name")
	props := views.LoginProps{Name: name, Next: formText(c, "next")}
	if props.Next != "" {
		props.Next = safeNext(props.Next)
	}
	if !loginCSRFOK(c) {
		props.CSRF = h.csrfToken(c)
		props.Error = "This sign-in form has expired. Please sign in again."
		return renderNoStore(c, fiber.StatusForbidden, views.Login(props))
	}
	props.CSRF = c.Cookies(LoginCSRFCookie)
	keys := h.loginKeys(c.IP(), name)
	if wait, ok := h.limiter.allow(keys...); !ok {
		secs := int(wait.Round(time.Second) / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
		props.Error = "Too many failed sign-in attempts. Wait " + plural(max(secs, 1), "second") + " and try again."
		h.s.Log.Warn("sign-in rate limited", "user", name, "remote_addr", c.IP())
		return renderNoStore(c, fiber.StatusTooManyRequests, views.Login(props))
	}
	token, u, err := h.s.Auth.Login(c.UserContext(), name, c.FormValue("password"))
	if errors.Is(err, auth.ErrBadCredentials) {
		h.s.Log.Info("sign-in failed", "user", name, "remote_addr", c.IP())
		props.Error = "Wrong user name or password."
		return renderNoStore(c, fiber.StatusUnauthorized, views.Login(props))
	}
	if err != nil {
		h.limiter.forgive(keys...)
		return err
	}
	h.limiter.forgive(keys...)
	if old := c.Cookies(SessionCookie); old != "" {
		_ = h.s.Auth.Logout(c.UserContext(), old) // a stale session of this browser; failure changes nothing
	}
	h.s.setSession(c, token, time.Now().Add(auth.SessionTTL))
	h.clearCSRF(c)
	h.s.Log.Info("signed in", "user", u.Name, "remote_addr", c.IP())
	return c.Redirect(safeNext(props.Next), fiber.StatusSeeOther)
}

// logout ends the session (CSRF-checked) and returns to the sign-in page.
func (h *signIn) logout(c *fiber.Ctx) error {
	if p, ok := principal(c); ok && p.Via == "session" {
		if err := checkCSRF(c, p); err != nil {
			return err
		}
		if err := h.s.Auth.Logout(c.UserContext(), c.Cookies(SessionCookie)); err != nil {
			return err
		}
		h.s.Log.Info("signed out", "user", p.Name)
	}
	h.s.setSession(c, "", time.Unix(0, 0))
	return h.s.redirectFlash(c, "/login", "success", "You are signed out.")
}

// setSession sets (or, with an empty value, clears) the session cookie.
func (s *Server) setSession(c *fiber.Ctx, value string, expires time.Time) {
	ck := &fiber.Cookie{Name: SessionCookie, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.Config.SecureCookies}
	if value == "" {
		ck.MaxAge = -1
	}
	c.Cookie(ck)
}

// csrfToken returns the browser's sign-in CSRF token, setting a new one when
// it has none, so several open sign-in tabs share one.
func (h *signIn) csrfToken(c *fiber.Ctx) string {
	if v := c.Cookies(LoginCSRFCookie); len(v) >= 32 {
		return v
	}
	return h.newCSRF(c)
}

func (h *signIn) newCSRF(c *fiber.Ctx) string {
	v := auth.RandomToken(24)
	c.Cookie(&fiber.Cookie{Name: LoginCSRFCookie, Value: v, Path: "/login", MaxAge: int(auth.SessionTTL / time.Second),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: h.s.Config.SecureCookies})
	return v
}

func (h *signIn) clearCSRF(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: LoginCSRFCookie, Value: "", Path: "/login", MaxAge: -1, Expires: time.Unix(0, 0),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: h.s.Config.SecureCookies})
}

// loginCSRFOK compares the form body's _csrf with the cookie in constant time.
func loginCSRFOK(c *fiber.Ctx) bool {
	ck, form := c.Cookies(LoginCSRFCookie), strings.TrimSpace(bodyCSRF(c))
	return len(ck) >= 32 && subtle.ConstantTimeCompare([]byte(ck), []byte(form)) == 1
}

// loginKeys are the rate-limit keys of an attempt: the client address, and
// the address with the user name.
func (h *signIn) loginKeys(ip, name string) []loginKey {
	return []loginKey{
		{id: "ip:" + ip, limit: h.addrLimit},
		{id: "ip-user:" + ip + "\x00" + strings.ToLower(name), limit: h.pairLimit},
	}
}

// safeNext returns next when it is a path on this site, else "/": it keeps
// the sign-in redirect from sending anyone to another host.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// renderNoStore renders a page that must not be cached: forms carrying
// tokens, and pages showing a secret.
func renderNoStore(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, status, comp)
}

// loginLimiter counts sign-in attempts per key (client address, client
// address and user name) over a sliding window, in memory: a restart forgets
// it. An attempt is counted before the password is checked, so parallel
// guesses cannot slip past the limit; a successful sign-in takes its attempt
// back.
type loginLimiter struct {
	mu     sync.Mutex
	window time.Duration
	now    func() time.Time
	hits   map[string][]time.Time
}

// loginKey is one counter an attempt is charged to, with its own limit.
type loginKey struct {
	id    string
	limit int
}

func newLoginLimiter(window time.Duration) *loginLimiter {
	return &loginLimiter{window: window, now: time.Now, hits: map[string][]time.Time{}}
}

// allow records an attempt for every key, unless one of them already has its
// limit of attempts in the window: then it returns how long until one expires.
func (l *loginLimiter) allow(keys ...loginKey) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		h := l.prune(k.id, now)
		if len(h) >= k.limit {
			wait = max(wait, h[len(h)-k.limit].Add(l.window).Sub(now))
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, k := range keys {
		l.hits[k.id] = append(l.hits[k.id], now)
	}
	if len(l.hits) > 10000 {
		l.sweep(now)
	}
	return 0, true
}

// forgive takes back the latest attempt of every key.
func (l *loginLimiter) forgive(keys ...loginKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if h := l.hits[k.id]; len(h) > 1 {
			l.hits[k.id] = h[:len(h)-1]
		} else {
			delete(l.hits, k.id)
		}
	}
}

// prune drops attempts older than the window and returns the rest.
func (l *loginLimiter) prune(k string, now time.Time) []time.Time {
	h := l.hits[k]
	i := 0
	for i < len(h) && !h[i].After(now.Add(-l.window)) {
		i++
	}
	if i == len(h) {
		delete(l.hits, k)
		return nil
	}
	h = h[i:]
	l.hits[k] = h
	return h
}

func (l *loginLimiter) sweep(now time.Time) {
	for k := range l.hits {
		l.prune(k, now)
	}
}
