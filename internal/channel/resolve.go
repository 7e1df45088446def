package channel

import (
	"context"
	"fmt"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/store"
)

// CallbackPath is the prefix of every callback URL.
const CallbackPath = "/api/integrations/voice/callback/"

// CallbackURL returns the URL a provider must call for a channel:
// {public_url}/api/integrations/voice/callback/{channel_id}/{secret}.
func CallbackURL(publicURL, channelID, secret string) string {
	return strings.TrimRight(publicURL, "/") + CallbackPath + channelID + "/" + secret
}

// Resolved is the provider a channel's callbacks and calls go through.
type Resolved struct {
	Spec   provider.Spec
	Config provider.Config
	// Own is true when it is the channel's own override, false for the
	// global provider (or generic, when none is configured).
	Own bool
}

// Resolve is the one rule of which provider serves a channel: the channel's
// override, else the global provider, else generic with no credentials. A
// type the registry does not know is an error (docs/architecture.md,
// "Providers").
func Resolve(reg *provider.Registry, ch *store.Channel, global *store.ProviderSetting) (Resolved, error) {
	name, cfg, own := "generic", provider.Config{}, false
	switch {
	case ch != nil && ch.ProviderType != nil && *ch.ProviderType != "":
		name, cfg, own = *ch.ProviderType, provider.Config(ch.ProviderConfig), true
	case global != nil:
		name, cfg = global.Type, provider.Config(global.Config)
	}
	spec, ok := reg.Get(name)
	if !ok {
		if own {
			return Resolved{}, fmt.Errorf("channel %s uses unknown provider %q", ch.ID, name)
		}
		return Resolved{}, fmt.Errorf("unknown global provider %q", name)
	}
	if cfg == nil {
		cfg = provider.Config{}
	}
	return Resolved{Spec: spec, Config: cfg, Own: own}, nil
}

// Provider resolves the provider of ch with the cached global setting.
func (m *Manager) Provider(ctx context.Context, ch *store.Channel) (Resolved, error) {
	g, err := m.Store.CachedGlobalProvider(ctx)
	if err != nil {
		return Resolved{}, err
	}
	return Resolve(m.Providers, ch, g)
}

// URL is the callback URL of ch.
func (m *Manager) URL(ch *store.Channel) string { return CallbackURL(m.PublicURL, ch.ID, ch.Secret) }
