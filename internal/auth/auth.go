// Package auth holds console users, their passwords and sessions, and API
// tokens. Passwords are bcrypt hashes; session cookies and API tokens are
// random values of which only the SHA-256 is stored.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"callhook/internal/store"
	"callhook/internal/voice"
)

// Errors of the package.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrUnauthorized   = errors.New("authentication required")
	ErrForbidden      = errors.New("forbidden")
)

// SessionTTL is how long a console session lasts.
const SessionTTL = 12 * time.Hour

// Principal is who makes a request.
type Principal struct {
	Name   string
	Role   string
	UserID int64  // console users
	Via    string // "session" or "token"
	CSRF   string // session's CSRF token
	// SessionID is the stored session key (console only).
	SessionID []byte
}

// Admin reports whether p may change configuration.
func (p Principal) Admin() bool { return p.Role == store.RoleAdmin }

// Service manages users, sessions and tokens.
type Service struct {
	Store *store.Store
	// Cost is the bcrypt cost (default bcrypt.DefaultCost; tests lower it).
	Cost int

	touched sync.Map // token id → time of the last last_used_at write

	dummyOnce sync.Once
	dummy     []byte
}

// cost is the bcrypt cost of new password hashes.
func (s *Service) cost() int {
	if s.Cost == 0 {
		return bcrypt.DefaultCost
	}
	return s.Cost
}

// ValidRole reports whether r is admin or viewer.
func ValidRole(r string) bool { return r == store.RoleAdmin || r == store.RoleViewer }

// RandomToken returns n random bytes, base64url without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the SHA-256 of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateUser adds a user with a bcrypt password hash.
func (s *Service) CreateUser(ctx context.Context, name, password, role string) (*store.User, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n/") {
		return nil, voice.Invalid("", "user name must be 1 to 64 characters without spaces or slashes")
	}
	if !ValidRole(role) {
		return nil, voice.Invalid("", "role must be admin or viewer")
	}
	if len(password) < 8 {
		return nil, voice.Invalid("", "password must be at least 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost())
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	u := &store.User{Name: name, PasswordHash: string(h), Role: role}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, u *store.User, password string) error {
	if len(password) < 8 {
		return voice.Invalid("", "password must be at least 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost())
	if err != nil {
		return fmt.Errorf("auth: hash password: %w", err)
	}
	u.PasswordHash = string(h)
	return s.Store.UpdateUser(ctx, u, "password_hash")
}

// dummyHash is what a login for an unknown user is checked against, so that
// it takes as long as a wrong password and the time does not tell which
// names exist. It has the cost of real hashes and is made on first use: at
// the default cost it takes tens of milliseconds, which every start (and
// every test's start) would otherwise pay.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		// Only a cost above bcrypt.MaxCost fails, and then so does every
		// CreateUser: there are no real hashes to match.
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte(RandomToken(18)), s.cost())
	})
	return s.dummy
}

// Login checks a password and opens a session. It returns the cookie value.
func (s *Service) Login(ctx context.Context, name, password string) (string, *store.User, error) {
	u, err := s.Store.UserByName(ctx, strings.TrimSpace(name))
	if err != nil {
		if store.IsNotFound(err) {
			_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
			return "", nil, ErrBadCredentials
		}
		return "", nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return "", nil, ErrBadCredentials
	}
	token := RandomToken(32)
	now := time.Now().UTC()
	ss := &store.Session{ID: Hash(token), UserID: u.ID, CSRFToken: RandomToken(24), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.Store.CreateSession(ctx, ss); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// Session returns the principal of a session cookie value.
func (s *Service) Session(ctx context.Context, cookie string) (Principal, error) {
	if cookie == "" {
		return Principal{}, ErrUnauthorized
	}
	ss, u, err := s.Store.SessionUser(ctx, Hash(cookie))
	if err != nil {
		if store.IsNotFound(err) {
			return Principal{}, ErrUnauthorized
		}
		return Principal{}, err
	}
	return Principal{Name: u.Name, Role: u.Role, UserID: u.ID, Via: "session", CSRF: ss.CSRFToken, SessionID: ss.ID}, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	return s.Store.DeleteSession(ctx, Hash(cookie))
}

// TokenPrefix starts every API token, so leaked tokens are easy to find.
const TokenPrefix = "chk_"

// CreateToken makes an API token and returns its value, shown once.
func (s *Service) CreateToken(ctx context.Context, name, role string) (string, *store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return "", nil, voice.Invalid("", "token name must be 1 to 64 characters")
	}
	if !ValidRole(role) {
		return "", nil, voice.Invalid("", "role must be admin or viewer")
	}
	token := TokenPrefix + RandomToken(32)
	t := &store.APIToken{Name: name, Role: role, TokenHash: Hash(token), Prefix: token[:len(TokenPrefix)+6]}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return token, t, nil
}

// Token returns the principal of a bearer token.
func (s *Service) Token(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrUnauthorized
	}
	t, err := s.Store.TokenByHash(ctx, Hash(token))
	if err != nil {
		if store.IsNotFound(err) {
			return Principal{}, ErrUnauthorized
		}
		return Principal{}, err
	}
	if s.shouldTouch(t) {
		// At most once a minute per token, off the request's path.
		go func(id int64) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Store.TouchToken(ctx, id, time.Now().UTC())
		}(t.ID)
	}
	return Principal{Name: "token:" + t.Name, Role: t.Role, Via: "token"}, nil
}

// shouldTouch reports whether token t's last-used time is due for a write,
// claiming the write so that a burst of requests makes only one.
func (s *Service) shouldTouch(t *store.APIToken) bool {
	now := time.Now()
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < time.Minute {
		return false
	}
	if prev, ok := s.touched.Load(t.ID); ok && now.Sub(prev.(time.Time)) < time.Minute {
		return false
	}
	s.touched.Store(t.ID, now)
	return true
}

// Bootstrap creates the admin user on first start when no user exists. It
// returns the generated password when none was given (to print once), else "".
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, generated string, err error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, "", err
	}
	if password == "" {
		generated = RandomToken(15)
		password = generated
	}
	if _, err := s.CreateUser(ctx, "admin", password, store.RoleAdmin); err != nil {
		if errors.Is(err, voice.ErrConflict) {
			// Another instance on the same database created it first.
			return false, "", nil
		}
		return false, "", err
	}
	return true, generated, nil
}
