package oidcprovider

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
)

// countingClients is a core.OIDCClientStore holding one client, counting reads.
type countingClients struct {
	core.OIDCClientStore
	reads atomic.Int32
	name  atomic.Value
}

func (c *countingClients) OIDCClient(_ context.Context, id string) (*core.OIDCClient, error) {
	c.reads.Add(1)
	if id != "app" {
		return nil, core.Errorf(core.ENotFound, "no client")
	}
	return &core.OIDCClient{ID: id, Name: c.name.Load().(string)}, nil
}

func TestClientCache(t *testing.T) {
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingClients{}
	store.name.Store("Old")
	cc := newClientCache(store, clock)
	ctx := context.Background()

	for range 5 {
		if c, err := cc.client(ctx, "app"); err != nil || c.Name != "Old" {
			t.Fatalf("client = %+v, %v", c, err)
		}
	}
	if n := store.reads.Load(); n != 1 {
		t.Errorf("five lookups within the TTL read the store %d times, want 1", n)
	}

	// A change is seen once the TTL has passed, not before.
	store.name.Store("New")
	clock.Advance(clientCacheTTL - time.Nanosecond)
	if c, _ := cc.client(ctx, "app"); c.Name != "Old" {
		t.Errorf("within the TTL the name is %q, want the cached Old", c.Name)
	}
	clock.Advance(time.Nanosecond)
	if c, _ := cc.client(ctx, "app"); c.Name != "New" {
		t.Errorf("after the TTL the name is %q, want New", c.Name)
	}

	// Unknown clients are not cached: each lookup asks the store, so a
	// client added is usable at once.
	before := store.reads.Load()
	for range 3 {
		if _, err := cc.client(ctx, "other"); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("unknown client: %v, want not found", err)
		}
	}
	if n := store.reads.Load() - before; n != 3 {
		t.Errorf("three lookups of an unknown client read the store %d times, want 3", n)
	}
}
