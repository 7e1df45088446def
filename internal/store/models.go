package store

import (
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"callhook/internal/voice"
)

// Channel is a named callback endpoint.
type Channel struct {
	bun.BaseModel `bun:"table:channels"`

	ID                  string            `bun:"id,pk"`
	Name                string            `bun:"name"`
	Secret              string            `bun:"secret"`
	PrevSecret          *string           `bun:"prev_secret"`
	PrevSecretExpiresAt *time.Time        `bun:"prev_secret_expires_at"`
	DTMFMap             map[string]string `bun:"dtmf_map,type:text"`
	ProviderType        *string           `bun:"provider_type"`
	ProviderConfig      map[string]string `bun:"provider_config,type:text"`
	// InboundAllow lists the numbers (digits with a leading +) whose inbound
	// calls may hear and act on the channel's alerts.
	InboundAllow []string  `bun:"inbound_allow,type:text"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`

	// keypad is worked out once, when the channel enters the read cache
	// (CachedChannel), since every callback's reply and decision need it.
	keypad *Keypad `bun:"-"`
}

// ProviderSetting is the global provider (one row).
type ProviderSetting struct {
	bun.BaseModel `bun:"table:provider_settings"`

	ID        int64             `bun:"id,pk"`
	Type      string            `bun:"type"`
	Config    map[string]string `bun:"config,type:text"`
	UpdatedAt time.Time         `bun:"updated_at"`
}

// Alert is what calls are about.
type Alert struct {
	bun.BaseModel `bun:"table:alerts"`

	ID        int64   `bun:"id,pk,autoincrement"`
	Title     string  `bun:"title"`
	Message   string  `bun:"message"`
	Severity  string  `bun:"severity"`
	State     string  `bun:"state"`
	ChannelID *string `bun:"channel_id"`
	// Mode is voice.ModeAll or voice.ModeSequential; PendingTargets are a
	// sequential alert's targets not called yet.
	Mode           string     `bun:"mode"`
	PendingTargets []string   `bun:"pending_targets,type:text"`
	AcknowledgedBy *string    `bun:"acknowledged_by"`
	AcknowledgedAt *time.Time `bun:"acknowledged_at"`
	ResolvedBy     *string    `bun:"resolved_by"`
	ResolvedAt     *time.Time `bun:"resolved_at"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

// AlertChange records one state change of an alert and what did it.
type AlertChange struct {
	bun.BaseModel `bun:"table:alert_changes"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AlertID   int64     `bun:"alert_id"`
	FromState string    `bun:"from_state"`
	ToState   string    `bun:"to_state"`
	Actor     string    `bun:"actor"`
	Via       string    `bun:"via"` // dtmf, api, console
	CallID    *int64    `bun:"call_id"`
	Digit     *string   `bun:"digit"`
	CreatedAt time.Time `bun:"created_at"`
}

// Call is one phone call.
type Call struct {
	bun.BaseModel `bun:"table:calls"`

	ID             int64      `bun:"id,pk,autoincrement"`
	ChannelID      string     `bun:"channel_id"`
	AlertID        *int64     `bun:"alert_id"`
	Provider       string     `bun:"provider"`
	ProviderCallID string     `bun:"provider_call_id"`
	Direction      string     `bun:"direction"`
	From           string     `bun:"from_number"`
	To             string     `bun:"to_number"`
	Message        string     `bun:"message"`
	Status         string     `bun:"status"`
	DurationS      *float64   `bun:"duration_s"`
	MOS            *float64   `bun:"mos"`
	PollAttempts   int        `bun:"poll_attempts"`
	NextPollAt     *time.Time `bun:"next_poll_at"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

// Callback is one HTTP request received on a callback URL.
type Callback struct {
	bun.BaseModel `bun:"table:callbacks"`

	ID          int64               `bun:"id,pk,autoincrement"`
	ChannelID   string              `bun:"channel_id"`
	Provider    string              `bun:"provider"`
	Method      string              `bun:"method"`
	Path        string              `bun:"path"`
	Query       string              `bun:"query"`
	ContentType string              `bun:"content_type"`
	Headers     map[string][]string `bun:"headers,type:text"`
	// headersJSON, when set, is Headers already encoded: Ingest encodes
	// them before queueing, so the writer does not.
	headersJSON   string `bun:"-"`
	Body          []byte `bun:"body"`
	BodySize      int    `bun:"body_size"`
	BodyTruncated bool   `bun:"body_truncated"`
	Outcome       string `bun:"outcome"`
	Reason        string `bun:"reason"`
	Error         string `bun:"error"`
	StatusCode    int    `bun:"status_code"`
	EventCount    int    `bun:"event_count"`
	ReplayOf      *int64 `bun:"replay_of"`
	RemoteAddr    string `bun:"remote_addr"`
	// SecretOK is whether the request named a channel and its secret; only
	// such callbacks may be replayed.
	SecretOK bool `bun:"secret_ok"`
	// DedupeKey is set on the first delivery of a provider's event: a later
	// callback with the same key is a duplicate.
	DedupeKey  []byte    `bun:"dedupe_key"`
	ReceivedAt time.Time `bun:"received_at"`
}

// Callback outcomes: the domain's (voice.OutcomeAccepted and the rest),
// named here for the store's callers.
const (
	OutcomeAccepted  = voice.OutcomeAccepted
	OutcomeDuplicate = voice.OutcomeDuplicate
	OutcomeUnmatched = voice.OutcomeUnmatched
	OutcomeRejected  = voice.OutcomeRejected
)

// Event is one normalized event, stored.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID             int64             `bun:"id,pk,autoincrement"`
	CallbackID     int64             `bun:"callback_id"`
	CallID         *int64            `bun:"call_id"`
	ChannelID      string            `bun:"channel_id"`
	Provider       string            `bun:"provider"`
	ProviderCallID string            `bun:"provider_call_id"`
	EventType      string            `bun:"event_type"`
	Status         string            `bun:"status"`
	Digit          string            `bun:"digit"`
	Action         string            `bun:"action"`
	Applied        bool              `bun:"applied"`
	Native         string            `bun:"native"`
	Message        string            `bun:"message"`
	Seq            int64             `bun:"seq"`
	OccurredAt     *time.Time        `bun:"occurred_at"`
	ReceivedAt     time.Time         `bun:"received_at"`
	Raw            map[string]string `bun:"raw,type:text"`
	// rawJSON, when set, is Raw already encoded (by the caller of Ingest,
	// so the writer does not).
	rawJSON any
}

// User is a console user.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Name         string    `bun:"name"`
	PasswordHash string    `bun:"password_hash"`
	Role         string    `bun:"role"`
	Disabled     bool      `bun:"disabled"`
	CreatedAt    time.Time `bun:"created_at"`
}

// Session is a signed-in console session. ID is the SHA-256 of the cookie value.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID        []byte    `bun:"id,pk"`
	UserID    int64     `bun:"user_id"`
	CSRFToken string    `bun:"csrf_token"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// APIToken is a bearer token; only its SHA-256 is stored.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Name       string     `bun:"name"`
	Role       string     `bun:"role"`
	TokenHash  []byte     `bun:"token_hash"`
	Prefix     string     `bun:"prefix"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

// Roles.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// The text columns both dialects write from maps: each uses what the
// pipeline encoded before queueing (off the writer) and encodes only when
// a caller did not.

// headersText is the headers column's value: the headers as a JSON object.
func (cb *Callback) headersText() (string, error) {
	if cb.headersJSON != "" {
		return cb.headersJSON, nil
	}
	if cb.Headers == nil {
		cb.Headers = map[string][]string{}
	}
	b, err := encodeJSON(cb.Headers)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// rawText is the raw column's value: NULL or the values as a JSON object.
func (ev *Event) rawText() (any, error) {
	if ev.rawJSON != nil || ev.Raw == nil {
		return ev.rawJSON, nil
	}
	b, err := json.Marshal(ev.Raw)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
