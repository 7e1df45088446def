// Package channel manages callback channels: ids and secrets, secret
// rotation with a grace period, DTMF mappings and provider overrides, and the
// JSON view that shows secrets only to admins.
package channel

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"callhook/internal/auth"
	"callhook/internal/provider"
	"callhook/internal/settings"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// DefaultGrace is how long a rotated-out secret stays valid.
const DefaultGrace = 24 * time.Hour

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Manager changes channels.
type Manager struct {
	Store     *store.Store
	Providers *provider.Registry
	PublicURL string
	Now       func() time.Time
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// ProviderOverride is a channel's own provider. Clear names saved
// credentials to empty (a blank value keeps the saved one). CallbacksOnly
// lets it be saved without the settings needed to place calls, as for the
// global provider (settings.RequirePlaceCall).
type ProviderOverride struct {
	Type          string            `json:"type"`
	Config        map[string]string `json:"config"`
	Clear         []string          `json:"clear,omitempty"`
	CallbacksOnly bool              `json:"callbacks_only,omitempty"`
}

// Input creates or changes a channel. Nil fields are left unchanged.
type Input struct {
	ID      string             `json:"id"`
	Name    *string            `json:"name"`
	DTMFMap *map[string]string `json:"dtmf_map"`
	// InboundAllow replaces the numbers whose inbound calls may act on the
	// channel's alerts.
	InboundAllow *[]string          `json:"inbound_allow"`
	Provider     **ProviderOverride `json:"-"`
}

// ValidateAllowList normalizes an inbound allow-list; duplicates are dropped.
func ValidateAllowList(in []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := voice.NormalizeNumber(s)
		if err != nil {
			return nil, invalid("inbound_allow: %v", err)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) > 200 {
		return nil, invalid("inbound_allow: at most 200 numbers")
	}
	return out, nil
}

// NewSecret returns a fresh channel secret.
func NewSecret() string { return auth.RandomToken(24) }

func invalid(format string, args ...any) error {
	return voice.Invalid("", format, args...)
}

// ValidateDTMF checks a mapping and returns it normalized.
func ValidateDTMF(in map[string]string) (map[string]string, error) {
	m := voice.DTMFMap{}
	out := map[string]string{}
	for k, v := range in {
		k = strings.TrimSpace(k)
		a, err := voice.ParseAction(v)
		if err != nil {
			return nil, invalid("dtmf_map: %v", err)
		}
		if _, dup := m[k]; dup {
			return nil, invalid("dtmf_map: digits %q appear twice", k)
		}
		m[k] = a
		out[k] = string(a)
	}
	if err := m.Validate(); err != nil {
		return nil, voice.Invalid("dtmf_map", "%v", err)
	}
	return out, nil
}

// CheckOverride validates a provider override and merges write-only secrets
// with the stored ones (blank keeps).
func (m *Manager) CheckOverride(o *ProviderOverride, stored map[string]string) (*string, map[string]string, error) {
	if o == nil || o.Type == "" {
		return nil, nil, nil
	}
	spec, ok := m.Providers.Get(o.Type)
	if !ok {
		return nil, nil, invalid("provider type %q is not one of %s", o.Type, strings.Join(m.Providers.Names(), ", "))
	}
	cfg, err := settings.Prepare(spec, stored, o.Config, o.Clear)
	if err != nil {
		return nil, nil, fmt.Errorf("provider config: %w", err)
	}
	if err := settings.RequirePlaceCall(spec, cfg, o.CallbacksOnly); err != nil {
		return nil, nil, fmt.Errorf("provider config: %w", err)
	}
	t := spec.Name
	return &t, cfg, nil
}

// Create adds a channel with a new secret and the default DTMF mapping unless given.
func (m *Manager) Create(ctx context.Context, in Input) (*store.Channel, error) {
	id := strings.TrimSpace(in.ID)
	if id == "" {
		id = "ch_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(auth.RandomToken(9)))
		if len(id) > 13 {
			id = id[:13]
		}
	}
	if !idPattern.MatchString(id) {
		return nil, invalid("id must be 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit")
	}
	name := id
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
	}
	if name == "" || len(name) > 100 {
		return nil, invalid("name must be 1 to 100 characters")
	}
	dtmf := map[string]string{}
	for k, v := range voice.DefaultDTMFMap() {
		dtmf[k] = string(v)
	}
	if in.DTMFMap != nil {
		var err error
		if dtmf, err = ValidateDTMF(*in.DTMFMap); err != nil {
			return nil, err
		}
	}
	allow := []string{}
	if in.InboundAllow != nil {
		var err error
		if allow, err = ValidateAllowList(*in.InboundAllow); err != nil {
			return nil, err
		}
	}
	c := &store.Channel{ID: id, Name: name, Secret: NewSecret(), DTMFMap: dtmf, InboundAllow: allow}
	if in.Provider != nil {
		t, cfg, err := m.CheckOverride(*in.Provider, nil)
		if err != nil {
			return nil, err
		}
		c.ProviderType, c.ProviderConfig = t, cfg
	}
	if err := m.Store.CreateChannel(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Update changes name, DTMF mapping and provider override.
func (m *Manager) Update(ctx context.Context, id string, in Input) (*store.Channel, error) {
	var dtmf map[string]string
	if in.DTMFMap != nil {
		var err error
		if dtmf, err = ValidateDTMF(*in.DTMFMap); err != nil {
			return nil, err
		}
	}
	var allow []string
	if in.InboundAllow != nil {
		var err error
		if allow, err = ValidateAllowList(*in.InboundAllow); err != nil {
			return nil, err
		}
	}
	return m.Store.UpdateChannel(ctx, id, func(c *store.Channel) error {
		if allow != nil {
			c.InboundAllow = allow
		}
		if in.Name != nil {
			n := strings.TrimSpace(*in.Name)
			if n == "" || len(n) > 100 {
				return invalid("name must be 1 to 100 characters")
			}
			c.Name = n
		}
		if dtmf != nil {
			c.DTMFMap = dtmf
		}
		if in.Provider != nil {
			stored := c.ProviderConfig
			if *in.Provider != nil && c.ProviderType != nil && *c.ProviderType != (*in.Provider).Type {
				stored = nil // another type: nothing to keep
			}
			t, cfg, err := m.CheckOverride(*in.Provider, stored)
			if err != nil {
				return err
			}
			c.ProviderType, c.ProviderConfig = t, cfg
		}
		return nil
	})
}

// Rotate gives a channel a new secret; the old one stays valid for grace.
func (m *Manager) Rotate(ctx context.Context, id string, grace time.Duration) (*store.Channel, error) {
	if grace < 0 || grace > 30*24*time.Hour {
		return nil, invalid("grace period must be between 0 and 30 days")
	}
	now := m.now()
	return m.Store.UpdateChannel(ctx, id, func(c *store.Channel) error {
		prev := c.Secret
		exp := now.Add(grace)
		c.PrevSecret, c.PrevSecretExpiresAt = &prev, &exp
		c.Secret = NewSecret()
		return nil
	})
}

// View is a channel as the API shows it.
type View struct {
	ID                     string            `json:"id"`
	Name                   string            `json:"name"`
	Secret                 string            `json:"secret,omitempty"`
	CallbackURL            string            `json:"callback_url,omitempty"`
	PreviousSecretExpires  *time.Time        `json:"previous_secret_expires_at,omitempty"`
	DTMFMap                map[string]string `json:"dtmf_map"`
	InboundAllow           []string          `json:"inbound_allow,omitempty"`
	Provider               *ProviderOverride `json:"provider"`
	EffectiveProvider      string            `json:"effective_provider,omitempty"`
	SignatureCheckDisabled bool              `json:"signature_check_disabled"`
	Warnings               []string          `json:"warnings,omitempty"`
	CreatedAt              time.Time         `json:"created_at"`
	UpdatedAt              time.Time         `json:"updated_at"`
}

// ViewOf renders c; secrets and the callback URL only for admins. global is
// the global provider setting (nil if none), to tell the effective provider.
func (m *Manager) ViewOf(c *store.Channel, admin bool, global *store.ProviderSetting) View {
	v := View{ID: c.ID, Name: c.Name, DTMFMap: c.DTMFMap, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if v.DTMFMap == nil {
		v.DTMFMap = map[string]string{}
	}
	if admin {
		v.InboundAllow = c.InboundAllow
		if v.InboundAllow == nil {
			v.InboundAllow = []string{}
		}
		v.Secret = c.Secret
		v.CallbackURL = m.URL(c)
		if c.PrevSecretExpiresAt != nil && m.now().Before(*c.PrevSecretExpiresAt) {
			v.PreviousSecretExpires = c.PrevSecretExpiresAt
		}
	}
	if c.ProviderType != nil && *c.ProviderType != "" {
		spec, _ := m.Providers.Get(*c.ProviderType)
		v.Provider = &ProviderOverride{Type: *c.ProviderType, Config: spec.Mask(c.ProviderConfig)}
		v.EffectiveProvider = *c.ProviderType
	}
	if r, err := Resolve(m.Providers, c, global); err == nil {
		v.EffectiveProvider = r.Spec.Name
		d := settings.Describe(r.Spec, r.Config)
		v.SignatureCheckDisabled = d.SignatureCheck == "off"
		if len(d.Warnings) > 0 {
			v.Warnings = d.Warnings
		}
	}
	return v
}
