package store

import (
	"context"
	"sync"
	"time"
)

// The callback path reads the channel and the global provider for every
// request; they change rarely. A short-lived cache spares two queries per
// callback; writes through this store drop the entries at once, and the TTL
// bounds staleness from writers elsewhere (another process on the file).
const cacheTTL = 2 * time.Second

type cached[T any] struct {
	v  T
	at time.Time
}

type readCache struct {
	mu       sync.Mutex
	channels map[string]cached[*Channel]
	global   *cached[*ProviderSetting]
}

func (c *readCache) channel(id string) (*Channel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.channels[id]
	if !ok || time.Since(e.at) > cacheTTL {
		return nil, false
	}
	return e.v, true
}

func (c *readCache) putChannel(id string, ch *Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.channels == nil || len(c.channels) > 10000 {
		c.channels = map[string]cached[*Channel]{}
	}
	c.channels[id] = cached[*Channel]{v: ch, at: time.Now()}
}

func (c *readCache) globalProvider() (*ProviderSetting, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.global == nil || time.Since(c.global.at) > cacheTTL {
		return nil, false
	}
	return c.global.v, true
}

func (c *readCache) putGlobal(p *ProviderSetting) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.global = &cached[*ProviderSetting]{v: p, at: time.Now()}
}

func (c *readCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels = nil
	c.global = nil
}

// CachedChannel is Channel through the cache. The result is shared: callers
// must not change it.
func (s *Store) CachedChannel(ctx context.Context, id string) (*Channel, error) {
	if ch, ok := s.cache.channel(id); ok {
		return ch, nil
	}
	ch, err := s.Channel(ctx, id)
	if err != nil {
		return nil, err
	}
	k := ChannelKeypad(ch)
	ch.keypad = &k
	s.cache.putChannel(id, ch)
	return ch, nil
}

// CachedGlobalProvider is GlobalProvider through the cache (shared result).
func (s *Store) CachedGlobalProvider(ctx context.Context) (*ProviderSetting, error) {
	if p, ok := s.cache.globalProvider(); ok {
		return p, nil
	}
	p, err := s.GlobalProvider(ctx)
	if err != nil {
		return nil, err
	}
	s.cache.putGlobal(p)
	return p, nil
}
