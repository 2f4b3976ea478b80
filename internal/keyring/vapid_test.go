package keyring

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

// TestLoadVAPIDStoresASealedECDSAKey: the VAPID ring (Web Push) is an
// ECDSA P-256 ring of its own, sealed, made once and loaded again as it is.
func TestLoadVAPIDStoresASealedECDSAKey(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		box := newBox(t, core.RandomBytes(32))
		keys := SealedKeys{Store: db, Box: box}
		ring, err := Load(ctx, keys, core.KeyVAPID, clock)
		if err != nil {
			t.Fatal(err)
		}
		kid, alg, signer := ring.Signer()
		private, ok := signer.(*ecdsa.PrivateKey)
		if !ok || alg != "ES256" || private.Curve != elliptic.P256() {
			t.Fatalf("a vapid ring signs with a %T (%s), want an ECDSA P-256 key", signer, alg)
		}
		stored, err := db.Keys(ctx, core.KeyVAPID)
		if err != nil || len(stored) != 1 || stored[0].KID != kid {
			t.Fatalf("stored vapid keys %+v, %v", stored, err)
		}
		opened, err := box.Open(stored[0].PrivateKey, keyAAD(stored[0]))
		if err != nil {
			t.Fatalf("the stored key is not sealed: %v", err)
		}
		if parsed, err := x509.ParsePKCS8PrivateKey(opened); err != nil || !private.Equal(parsed) {
			t.Fatalf("the sealed value is not the PKCS #8 DER of the key: %v", err)
		}
		again, err := Load(ctx, keys, core.KeyVAPID, clock)
		if err != nil {
			t.Fatal(err)
		}
		if kid2, _, signer2 := again.Signer(); kid2 != kid || !private.Equal(signer2) {
			t.Fatal("a second start made another VAPID key")
		}
		if ks, _ := db.Keys(ctx, core.KeyOIDCES256); len(ks) != 0 {
			t.Errorf("the vapid ring stored %d oidc-es256 keys", len(ks))
		}
	})
}
