package keyring

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestLoadGeneratesAndStoresAKey(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	ring, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	kid, key := ring.Active()
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	if want := base64.RawURLEncoding.EncodeToString(sum[:12]); kid != want {
		t.Errorf("kid = %q, want %q", kid, want)
	}
	stored, _ := store.Keys(ctx, core.KeyJWT)
	if len(stored) != 1 || stored[0].KID != kid || !clock.Now().Equal(stored[0].CreatedAt) {
		t.Fatalf("stored keys = %+v, want the one active key created now", stored)
	}
	if other, _ := store.Keys(ctx, core.KeyPush); len(other) != 0 {
		t.Errorf("a jwt keyring stored %d push keys", len(other))
	}
}

func TestLoadTwiceYieldsTheSameKey(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	first, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	kid1, key1 := first.Active()
	kid2, key2 := second.Active()
	if kid1 != kid2 || !key1.Equal(key2) {
		t.Fatalf("second load: kid %q, first: %q; keys equal: %v", kid2, kid1, key1.Equal(key2))
	}
}

func TestLoadConcurrentInstancesAgree(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	const instances = 8
	kids := make([]string, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			ring, err := Load(ctx, store, core.KeyPush, clock)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i], _ = ring.Active()
		})
	}
	wg.Wait()
	for i, kid := range kids {
		if kid != kids[0] {
			t.Fatalf("instance %d signs with %q, instance 0 with %q", i, kid, kids[0])
		}
	}
	if stored, _ := store.Keys(ctx, core.KeyPush); len(stored) != 1 {
		t.Fatalf("%d keys stored, want 1", len(stored))
	}
}

func TestLoadReplacesARetiredKey(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	old := retiredKey(t, clock.Now().Add(-time.Minute))
	store.addKey(old)
	ring, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	if kid, _ := ring.Active(); kid == old.KID {
		t.Fatal("a retired key is the active one")
	}
	if _, ok := ring.Public(old.KID); !ok {
		t.Error("the key retired a minute ago no longer verifies")
	}
}

func TestLoadRejectsACorruptKey(t *testing.T) {
	store := newMemStore()
	store.addKey(&core.SigningKey{KID: "bad", Purpose: core.KeyJWT, PrivateKey: []byte("short")})
	_, err := Load(context.Background(), store, core.KeyJWT, newFakeClock())
	wantCode(t, err, core.EInternal)
}

func TestJWKSListsActiveAndRecentlyRetiredKeys(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	now := clock.Now()
	ancient := retiredKey(t, now.Add(-RetiredKeyGrace-time.Second))
	recent := retiredKey(t, now.Add(-RetiredKeyGrace+time.Minute))
	store.addKey(ancient)
	store.addKey(recent)
	ring, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	activeKID, activeKey := ring.Active()

	set := decodeJWKS(t, ring.JWKS())
	if len(set) != 2 || set[0]["kid"] != activeKID || set[1]["kid"] != recent.KID {
		t.Fatalf("jwks = %v, want the active key %s then the recently retired %s", set, activeKID, recent.KID)
	}
	wantJWK := map[string]string{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": activeKID,
		"x": base64.RawURLEncoding.EncodeToString(activeKey.Public().(ed25519.PublicKey)),
	}
	for k, v := range wantJWK {
		if set[0][k] != v {
			t.Errorf("jwks key %s = %q, want %q", k, set[0][k], v)
		}
	}
	if _, ok := ring.Public(ancient.KID); ok {
		t.Error("a key retired past the grace still verifies")
	}

	// The recently retired key drops out once its grace has passed.
	clock.Advance(time.Minute)
	if set := decodeJWKS(t, ring.JWKS()); len(set) != 1 || set[0]["kid"] != activeKID {
		t.Fatalf("after the grace, jwks = %v, want only the active key", set)
	}
	if _, ok := ring.Public(recent.KID); ok {
		t.Error("the retired key still verifies after its grace")
	}
}

func retiredKey(t *testing.T, retiredAt time.Time) *core.SigningKey {
	t.Helper()
	return retiredKeyOf(t, core.KeyJWT, retiredAt)
}

func retiredKeyOf(t *testing.T, purpose core.KeyPurpose, retiredAt time.Time) *core.SigningKey {
	t.Helper()
	k, err := GenerateKey(purpose, retiredAt.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	k.RetiredAt = &retiredAt
	return k
}

func decodeJWKS(t *testing.T, body []byte) []map[string]string {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks %s: %v", body, err)
	}
	return set.Keys
}

// TestRotateKey: a rotated-in key verifies at once wherever the ring was
// reloaded, signs only from its activation, and the old key keeps verifying
// for the grace after it.
func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	store, clock := newMemStore(), newFakeClock()
	here, err := Load(ctx, store, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := Load(ctx, store, core.KeyJWT, clock) // another instance, not reloaded
	if err != nil {
		t.Fatal(err)
	}
	oldKID, _ := here.Active()

	const delay = 2 * time.Minute
	fresh, err := RotateKey(ctx, store, core.KeyJWT, clock.Now(), delay)
	if err != nil {
		t.Fatal(err)
	}
	if err := here.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if kid, _ := here.Active(); kid != oldKID {
		t.Fatal("the new key signs before its activation")
	}
	if _, ok := here.Public(fresh.KID); !ok {
		t.Fatal("the new key does not verify after a reload")
	}
	if set := decodeJWKS(t, here.JWKS()); len(set) != 2 || set[0]["kid"] != oldKID || set[1]["kid"] != fresh.KID {
		t.Fatalf("jwks before the activation = %v; want the signing key, then the published one", set)
	}
	if _, ok := elsewhere.Public(fresh.KID); ok {
		t.Fatal("an instance that did not reload knows the new key")
	}

	clock.Advance(delay)
	if kid, key := here.Active(); kid != fresh.KID || !key.Equal(ed25519.PrivateKey(fresh.PrivateKey)) {
		t.Fatalf("after the activation %s signs; want %s", kid, fresh.KID)
	}
	if _, ok := here.Public(oldKID); !ok {
		t.Fatal("the old key stopped verifying at the rotation")
	}
	clock.Advance(RetiredKeyGrace)
	if _, ok := here.Public(oldKID); ok {
		t.Fatal("the old key still verifies after its grace")
	}

	// The push key is pinned by devices: it does not rotate.
	if _, err := RotateKey(ctx, store, core.KeyPush, clock.Now(), delay); !core.IsCode(err, core.EInvalidRequest) {
		t.Fatalf("rotating the push key: %v; want invalid_request", err)
	}
}
