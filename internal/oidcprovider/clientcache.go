package oidcprovider

import (
	"context"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// clientCacheTTL is how long a client read from the store is used: op asks
// for the client about five times in one code flow, each a database read of
// the client and its URIs. A client changed or removed (CLI, CLIENTS_FILE,
// another instance) is seen within this time.
const clientCacheTTL = 5 * time.Second

// clientCache keeps clients read from the store for clientCacheTTL. Only
// found clients are kept, so a client added is usable at once.
type clientCache struct {
	store core.OIDCClientStore
	clock core.Clock

	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	c    *core.OIDCClient
	read time.Time
}

func newClientCache(store core.OIDCClientStore, clock core.Clock) *clientCache {
	return &clientCache{store: store, clock: clock, entries: map[string]cachedClient{}}
}

// maxCachedClients bounds the cache: ids come from requests, and only
// registered ones are kept, but a deployment may register many.
const maxCachedClients = 1024

// client returns client id, as the store has it or had it less than
// clientCacheTTL ago. The caller must not change it.
func (cc *clientCache) client(ctx context.Context, id string) (*core.OIDCClient, error) {
	now := cc.clock.Now()
	cc.mu.Lock()
	e, ok := cc.entries[id]
	cc.mu.Unlock()
	if ok && now.Sub(e.read) < clientCacheTTL && !now.Before(e.read) {
		return e.c, nil
	}
	c, err := cc.store.OIDCClient(ctx, id)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if len(cc.entries) >= maxCachedClients {
		clear(cc.entries)
	}
	cc.entries[id] = cachedClient{c: c, read: now}
	cc.mu.Unlock()
	return c, nil
}
