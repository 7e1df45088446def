// Package settings reads and changes the global provider: its type and
// write-only credentials, shown masked with the provider's capabilities and a
// plain warning when its signature check is off.
package settings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// Settings is the global provider configuration service.
type Settings struct {
	Store     *store.Store
	Providers *provider.Registry
}

// ProviderView is the global provider as the API shows it.
type ProviderView struct {
	Type           string            `json:"type"`
	Title          string            `json:"title"`
	Config         map[string]string `json:"config"`
	Capabilities   []string          `json:"capabilities"`
	SignatureCheck string            `json:"signature_check"` // on, off, none
	Warnings       []string          `json:"warnings"`
	Configured     bool              `json:"configured"`
	// CallbacksOnly is true when the settings needed to place calls are
	// empty: callbacks are received, but no call can be placed.
	CallbacksOnly bool        `json:"callbacks_only"`
	Missing       []string    `json:"missing,omitempty"`
	UpdatedAt     *time.Time  `json:"updated_at,omitempty"`
	Fields        []FieldView `json:"fields"`
}

// FieldView describes one config key.
type FieldView struct {
	Key    string `json:"key"`
	Label  string `json:"label"`
	Secret bool   `json:"secret"`
	Set    bool   `json:"set"`
	Help   string `json:"help,omitempty"`
}

// Describe renders a provider type and configuration, masking secrets.
func Describe(spec provider.Spec, cfg provider.Config) ProviderView {
	v := ProviderView{Type: spec.Name, Title: spec.Title, Config: spec.Mask(cfg), Capabilities: []string{}, Warnings: []string{}}
	for _, c := range spec.Capabilities {
		v.Capabilities = append(v.Capabilities, string(c))
	}
	for _, f := range spec.Fields {
		v.Fields = append(v.Fields, FieldView{Key: f.Key, Label: f.Label, Secret: f.Secret, Set: cfg[f.Key] != "", Help: f.Help})
	}
	switch {
	case spec.SigningKey == "":
		v.SignatureCheck = "none"
		if spec.Name != "simulator" {
			v.Warnings = append(v.Warnings, spec.Title+" has no request signature: the secret callback URL is the only check.")
		}
	case spec.SignatureOff(cfg):
		v.SignatureCheck = "off"
		label := spec.SigningKey
		if f, ok := spec.Field(spec.SigningKey); ok {
			label = f.Label
		}
		v.Warnings = append(v.Warnings, fmt.Sprintf("Signature check is OFF: %s is empty, so any request to the callback URL is accepted.", label))
	default:
		v.SignatureCheck = "on"
	}
	if cfg != nil {
		if v.Missing = Missing(spec, cfg); len(v.Missing) > 0 {
			v.CallbacksOnly = true
			v.Warnings = append(v.Warnings, fmt.Sprintf("Calls cannot be placed: %s is saved to receive callbacks only (%s empty).",
				spec.Title, strings.Join(labels(spec, v.Missing), ", ")))
		}
	}
	return v
}

// labels are the labels of spec's config keys.
func labels(spec provider.Spec, keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		l := k
		if f, ok := spec.Field(k); ok {
			l = f.Label
		}
		out = append(out, l)
	}
	return out
}

// Global returns the global provider (generic with no credentials when none is set).
func (s *Settings) Global(ctx context.Context) (ProviderView, error) {
	g, err := s.Store.GlobalProvider(ctx)
	if err != nil {
		return ProviderView{}, err
	}
	name, cfg := "generic", provider.Config{}
	if g != nil {
		name, cfg = g.Type, provider.Config(g.Config)
	}
	spec, ok := s.Providers.Get(name)
	if !ok {
		return ProviderView{}, fmt.Errorf("settings: stored provider %q is unknown", name)
	}
	v := Describe(spec, cfg)
	if g != nil {
		v.Configured = true
		t := g.UpdatedAt
		v.UpdatedAt = &t
	}
	return v, nil
}

// FieldError names the config key a validation error is about.
type FieldError = voice.FieldError

// SetGlobal validates and saves the global provider. Secrets left blank (or
// sent back masked) keep their stored value when the type does not change;
// the keys named in clear are emptied (turning a signature check off takes
// clearing its signing key). A configuration without the settings the
// provider needs to place calls is refused with a *MissingError unless
// callbacksOnly says the admin only wants to receive callbacks.
func (s *Settings) SetGlobal(ctx context.Context, typ string, cfg map[string]string, callbacksOnly bool, clear ...string) (ProviderView, error) {
	typ = strings.TrimSpace(typ)
	spec, ok := s.Providers.Get(typ)
	if !ok {
		return ProviderView{}, &FieldError{Field: "type", Msg: fmt.Sprintf("must be one of %s", strings.Join(s.Providers.Names(), ", "))}
	}
	var stored provider.Config
	if g, err := s.Store.GlobalProvider(ctx); err != nil {
		return ProviderView{}, err
	} else if g != nil && g.Type == typ {
		stored = g.Config
	}
	merged, err := Prepare(spec, stored, cfg, clear)
	if err != nil {
		return ProviderView{}, err
	}
	if err := RequirePlaceCall(spec, merged, callbacksOnly); err != nil {
		return ProviderView{}, err
	}
	if err := s.Store.SetGlobalProvider(ctx, typ, merged); err != nil {
		return ProviderView{}, err
	}
	return s.Global(ctx)
}

// MissingError is a configuration saved without the settings its provider
// needs to place calls, and without the admin saying callbacks are all it is
// for: saved silently, the first alert would fail to call anyone.
type MissingError struct {
	Spec provider.Spec
	// Keys are the empty required settings, in the spec's order.
	Keys []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("missing %s: %s needs them to place calls; send \"callbacks_only\": true to save a provider that only receives callbacks",
		strings.Join(e.Keys, ", "), e.Spec.Title)
}

// Unwrap makes a MissingError an invalid-input error.
func (e *MissingError) Unwrap() error { return voice.ErrInvalid }

// Missing lists the settings spec needs to place calls that cfg leaves empty.
func Missing(spec provider.Spec, cfg provider.Config) []string {
	var out []string
	for _, f := range spec.Fields {
		if f.Required && strings.TrimSpace(cfg[f.Key]) == "" {
			out = append(out, f.Key)
		}
	}
	return out
}

// RequirePlaceCall refuses cfg with a *MissingError when it lacks what spec
// needs to place calls, unless callbacksOnly: a provider kept only to
// receive callbacks (inbound calls, calls placed elsewhere) needs none of it.
func RequirePlaceCall(spec provider.Spec, cfg provider.Config, callbacksOnly bool) error {
	if callbacksOnly {
		return nil
	}
	if keys := Missing(spec, cfg); len(keys) > 0 {
		return &MissingError{Spec: spec, Keys: keys}
	}
	return nil
}

// Prepare applies an update to a stored configuration of spec, as every
// credential form and API does: unknown keys are refused, a secret left blank
// (or sent back masked) keeps its stored value, the keys in clear are
// emptied, every URL setting (a key ending in "_url": generic's api_url,
// SignalWire's space_url) must not point at a link-local or cloud metadata
// address because callhook sends credentials there (docs/outbound.md), and
// the provider's offline check runs on the result. Errors are *FieldError
// naming the key, with the problem alone in Msg.
func Prepare(spec provider.Spec, stored, update provider.Config, clear []string) (provider.Config, error) {
	for k := range update {
		if _, ok := spec.Field(k); !ok {
			return nil, &FieldError{Field: k, Msg: "is not a setting of " + spec.Title}
		}
	}
	merged := spec.Merge(stored, update)
	for _, k := range clear {
		if _, ok := spec.Field(k); !ok {
			return nil, &FieldError{Field: k, Msg: "is not a setting of " + spec.Title}
		}
		merged[k] = ""
	}
	for _, f := range spec.Fields {
		if v := strings.TrimSpace(merged[f.Key]); strings.HasSuffix(f.Key, "_url") && v != "" {
			if err := provider.CheckURL(v); err != nil {
				return nil, &FieldError{Field: f.Key, Msg: err.Error()}
			}
		}
	}
	if spec.Check == nil {
		return merged, nil
	}
	if err := spec.Check(merged); err != nil {
		// A check names the key it is about (a voice.FieldError).
		if fe := (*FieldError)(nil); errors.As(err, &fe) {
			if _, known := spec.Field(fe.Field); known {
				return nil, fe
			}
		}
		return nil, &FieldError{Field: "config", Msg: err.Error()}
	}
	return merged, nil
}
