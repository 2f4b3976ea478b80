package keyring

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

// eachKeyDB runs fn on a fresh SQLite and a fresh PostgreSQL database.
func eachKeyDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, d := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(d, func(t *testing.T) { fn(t, openKeyDBOf(t, d)) })
	}
}

func TestLoadOIDCStoresOneRSAKey(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		box := newBox(t, core.RandomBytes(32))
		keys := SealedKeys{Store: db, Box: box}

		// Two instances starting together.
		var rings [2]*Ring
		var errs [2]error
		var wg sync.WaitGroup
		for i := range rings {
			wg.Go(func() { rings[i], errs[i] = Load(ctx, keys, core.KeyOIDC, clock) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		kid, alg, signer := rings[0].Signer()
		kid2, _, signer2 := rings[1].Signer()
		private, ok := signer.(*rsa.PrivateKey)
		if !ok || alg != "RS256" || private.N.BitLen() != RSABits {
			t.Fatalf("an oidc ring signs with a %T (%s), want an RSA-%d key (RS256)", signer, alg, RSABits)
		}
		if kid2 != kid || !private.Equal(signer2) {
			t.Fatalf("two instances starting together sign with %s and %s", kid, kid2)
		}
		der, err := x509.MarshalPKIXPublicKey(&private.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(der); kid != base64.RawURLEncoding.EncodeToString(sum[:12]) {
			t.Errorf("kid %s is not named after the key's PKIX DER", kid)
		}

		stored, err := db.Keys(ctx, core.KeyOIDC)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].KID != kid || stored[0].RetiredAt != nil || !clock.Now().Equal(stored[0].CreatedAt) {
			t.Fatalf("stored oidc keys = %+v, want the one active key created now", stored)
		}
		opened, err := box.Open(stored[0].PrivateKey, keyAAD(stored[0]))
		if err != nil {
			t.Fatalf("the stored key is not sealed: %v", err)
		}
		if parsed, err := x509.ParsePKCS8PrivateKey(opened); err != nil || !private.Equal(parsed) {
			t.Fatalf("the sealed value is not the PKCS #8 DER of the signing key: %v", err)
		}
		for _, other := range []core.KeyPurpose{core.KeyJWT, core.KeyPush} {
			if ks, _ := db.Keys(ctx, other); len(ks) != 0 {
				t.Errorf("an oidc keyring stored %d %s keys", len(ks), other)
			}
		}

		// The Ed25519 accessors name no RSA key.
		if kid, key := rings[0].Active(); kid != "" || key != nil {
			t.Errorf("Active on an RSA ring = %q, %v; want \"\", nil", kid, key)
		}
		if _, ok := rings[0].Public(kid); ok {
			t.Error("Public on an RSA ring gave an Ed25519 key")
		}
	})
}

func TestLoadRejectsAKeyOfTheWrongType(t *testing.T) {
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oidc, err := GenerateKey(core.KeyOIDC, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*core.SigningKey{
		"ed25519 as oidc":  {Purpose: core.KeyOIDC, PrivateKey: edKey},
		"garbage as oidc":  {Purpose: core.KeyOIDC, PrivateKey: []byte("short")},
		"rsa-1024 as oidc": {Purpose: core.KeyOIDC, PrivateKey: pkcs8(small)},
		"ecdsa as oidc":    {Purpose: core.KeyOIDC, PrivateKey: pkcs8(ec)},
		"rsa as jwt":       {Purpose: core.KeyJWT, PrivateKey: oidc.PrivateKey},
	} {
		t.Run(name, func(t *testing.T) {
			store := newMemStore()
			k.KID = "bad"
			store.addKey(k)
			_, err := Load(context.Background(), store, k.Purpose, newFakeClock())
			wantCode(t, err, core.EInternal)
		})
	}
}

// TestSealedRSAKeysFollowASecretKeyRotation: RSA keys (~1.2 KB) are sealed
// whole, and sealed anew under a new SECRET_KEY, a rotated-in one too.
func TestSealedRSAKeysFollowASecretKeyRotation(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		oldSecret, newSecret := core.RandomBytes(32), core.RandomBytes(32)
		oldKeys := SealedKeys{Store: db, Box: newBox(t, oldSecret)}
		ring, err := Load(ctx, oldKeys, core.KeyOIDC, clock)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := RotateKey(ctx, oldKeys, core.KeyOIDC, clock.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		kid, _, signer := ring.Signer()
		plain := map[string][]byte{}
		for _, k := range []string{kid, fresh.KID} {
			stored := storedKey(t, db, core.KeyOIDC, k)
			if _, err := x509.ParsePKCS8PrivateKey(stored); err == nil {
				t.Fatalf("key %s is stored in the clear", k)
			}
			if plain[k], err = oldKeys.Box.Open(stored, keyAAD(&core.SigningKey{Purpose: core.KeyOIDC, KID: k})); err != nil {
				t.Fatalf("key %s is not sealed under the old secret: %v", k, err)
			}
		}
		if !bytes.Equal(plain[fresh.KID], fresh.PrivateKey) {
			t.Fatal("the rotated-in key was not sealed whole")
		}

		if _, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyOIDC, clock); !core.IsCode(err, core.EInternal) {
			t.Fatalf("load with an unknown SECRET_KEY: %v; want an internal error", err)
		}
		rotated := newBox(t, newSecret, oldSecret)
		ring, err = Load(ctx, SealedKeys{Store: db, Box: rotated}, core.KeyOIDC, clock)
		if err != nil {
			t.Fatal(err)
		}
		if kid2, _, signer2 := ring.Signer(); kid2 != kid || !signer.(*rsa.PrivateKey).Equal(signer2) {
			t.Fatal("after the SECRET_KEY rotation another key signs")
		}
		for k, want := range plain {
			stored := storedKey(t, db, core.KeyOIDC, k)
			got, err := rotated.Open(stored, keyAAD(&core.SigningKey{Purpose: core.KeyOIDC, KID: k}))
			if !rotated.SealedWithPrimary(stored) || err != nil || !bytes.Equal(got, want) {
				t.Fatalf("key %s was not sealed anew under the new SECRET_KEY: %v", k, err)
			}
		}
		// Now the new secret alone opens both.
		ring, err = Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyOIDC, clock)
		if err != nil {
			t.Fatalf("load with the new SECRET_KEY alone: %v", err)
		}
		if got := verificationKIDs(ring); len(got) != 2 || got[0] != kid || got[1] != fresh.KID {
			t.Fatalf("verification keys %v; want %s then %s", got, kid, fresh.KID)
		}
	})
}
