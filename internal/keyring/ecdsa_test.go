package keyring

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

func TestLoadOIDCES256StoresOneECDSAKey(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		box := newBox(t, core.RandomBytes(32))
		keys := SealedKeys{Store: db, Box: box}

		var rings [2]*Ring
		var errs [2]error
		var wg sync.WaitGroup
		for i := range rings {
			wg.Go(func() { rings[i], errs[i] = Load(ctx, keys, core.KeyOIDCES256, clock) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		kid, alg, signer := rings[0].Signer()
		kid2, _, signer2 := rings[1].Signer()
		private, ok := signer.(*ecdsa.PrivateKey)
		if !ok || alg != "ES256" || private.Curve != elliptic.P256() {
			t.Fatalf("an oidc-es256 ring signs with a %T (%s), want an ECDSA P-256 key (ES256)", signer, alg)
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

		stored, err := db.Keys(ctx, core.KeyOIDCES256)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].KID != kid || stored[0].RetiredAt != nil || !clock.Now().Equal(stored[0].CreatedAt) {
			t.Fatalf("stored oidc-es256 keys = %+v, want the one active key created now", stored)
		}
		opened, err := box.Open(stored[0].PrivateKey, keyAAD(stored[0]))
		if err != nil {
			t.Fatalf("the stored key is not sealed: %v", err)
		}
		if parsed, err := x509.ParsePKCS8PrivateKey(opened); err != nil || !private.Equal(parsed) {
			t.Fatalf("the sealed value is not the PKCS #8 DER of the signing key: %v", err)
		}
		for _, other := range []core.KeyPurpose{core.KeyJWT, core.KeyPush, core.KeyOIDC, core.KeyOIDCEdDSA} {
			if ks, _ := db.Keys(ctx, other); len(ks) != 0 {
				t.Errorf("an oidc-es256 keyring stored %d %s keys", len(ks), other)
			}
		}
		if kid, key := rings[0].Active(); kid != "" || key != nil {
			t.Errorf("Active on an ECDSA ring = %q, %v; want \"\", nil", kid, key)
		}
		if _, ok := rings[0].Public(kid); ok {
			t.Error("Public on an ECDSA ring gave an Ed25519 key")
		}
	})
}

// TestLoadOIDCEdDSAStoresASealedEd25519Key: the EdDSA ID-token ring is an
// Ed25519 ring of its own, sealed, apart from the access-token one.
func TestLoadOIDCEdDSAStoresASealedEd25519Key(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		box := newBox(t, core.RandomBytes(32))
		ring, err := Load(ctx, SealedKeys{Store: db, Box: box}, core.KeyOIDCEdDSA, clock)
		if err != nil {
			t.Fatal(err)
		}
		kid, alg, signer := ring.Signer()
		private, ok := signer.(ed25519.PrivateKey)
		if !ok || alg != "EdDSA" || kid != KeyID(private.Public().(ed25519.PublicKey)) {
			t.Fatalf("an oidc-eddsa ring signs with a %T (%s) named %s", signer, alg, kid)
		}
		stored := storedKey(t, db, core.KeyOIDCEdDSA, kid)
		if opened, err := box.Open(stored, keyAAD(&core.SigningKey{Purpose: core.KeyOIDCEdDSA, KID: kid})); err != nil || !bytes.Equal(opened, private) {
			t.Fatalf("the stored key is not sealed: %v", err)
		}
		if ks, _ := db.Keys(ctx, core.KeyJWT); len(ks) != 0 {
			t.Error("an oidc-eddsa keyring stored a jwt key")
		}
	})
}

// TestLaterPurposesAreNeverInTheClear: a 64-byte value on an ID-token row
// is not taken for an Ed25519 key stored before sealing existed.
func TestLaterPurposesAreNeverInTheClear(t *testing.T) {
	for _, purpose := range []core.KeyPurpose{core.KeyOIDCEdDSA, core.KeyOIDCES256, core.KeyOIDC} {
		t.Run(string(purpose), func(t *testing.T) {
			_, edKey, _ := ed25519.GenerateKey(rand.Reader)
			mem := newMemStore()
			mem.addKey(&core.SigningKey{KID: "planted", Purpose: purpose, PrivateKey: edKey})
			_, err := Load(context.Background(), SealedKeys{Store: mem, Box: newBox(t, core.RandomBytes(32))}, purpose, newFakeClock())
			wantCode(t, err, core.EInternal)
		})
	}
}

func TestLoadRejectsAnECDSAKeyOfTheWrongType(t *testing.T) {
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, err := GenerateKey(core.KeyOIDC, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	es256, err := GenerateKey(core.KeyOIDCES256, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*core.SigningKey{
		"ed25519 as oidc-es256": {Purpose: core.KeyOIDCES256, PrivateKey: edKey},
		"garbage as oidc-es256": {Purpose: core.KeyOIDCES256, PrivateKey: []byte("short")},
		"p-384 as oidc-es256":   {Purpose: core.KeyOIDCES256, PrivateKey: pkcs8(p384)},
		"rsa as oidc-es256":     {Purpose: core.KeyOIDCES256, PrivateKey: rsaKey.PrivateKey},
		"ecdsa as oidc":         {Purpose: core.KeyOIDC, PrivateKey: es256.PrivateKey},
		"ecdsa as oidc-eddsa":   {Purpose: core.KeyOIDCEdDSA, PrivateKey: es256.PrivateKey},
	} {
		t.Run(name, func(t *testing.T) {
			mem := newMemStore()
			k.KID = "bad"
			mem.addKey(k)
			_, err := Load(context.Background(), mem, k.Purpose, newFakeClock())
			wantCode(t, err, core.EInternal)
		})
	}
}

// TestECDSAJWKSRoundTrip: the JWKS gives an ES256 key in RFC 7518 form
// (kty EC, crv P-256, 32-octet x and y) that gives back the ring's key, and
// a JWS go-jose signs with Signer's key (as op does) verifies against it.
func TestECDSAJWKSRoundTrip(t *testing.T) {
	store, clock := newMemStore(), newFakeClock()
	recent := retiredKeyOf(t, core.KeyOIDCES256, clock.Now().Add(-time.Minute))
	store.addKey(recent)
	ring, err := Load(context.Background(), store, core.KeyOIDCES256, clock)
	if err != nil {
		t.Fatal(err)
	}
	set, vks := decodeJWKS(t, ring.JWKS()), ring.VerificationKeys()
	if len(set) != 2 || len(vks) != 2 || vks[1].KID != recent.KID {
		t.Fatalf("jwks = %v, verification keys = %v; want the active key, then the one retired a minute ago", set, vks)
	}
	for i, j := range set {
		if len(j) != 7 || j["kty"] != "EC" || j["crv"] != "P-256" || j["alg"] != "ES256" || j["use"] != "sig" || j["kid"] != vks[i].KID {
			t.Fatalf("jwk %d = %v; want kty EC, crv P-256, x, y, kid %s, alg ES256, use sig", i, j, vks[i].KID)
		}
		x, errX := base64.RawURLEncoding.DecodeString(j["x"])
		y, errY := base64.RawURLEncoding.DecodeString(j["y"])
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			t.Fatalf("jwk %d: x, y not 32 octets of unpadded base64url (%v, %v)", i, errX, errY)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil || !pub.Equal(vks[i].Public) {
			t.Fatalf("jwk %d does not give back the ring's key", i)
		}
	}

	kid, alg, key := ring.Signer()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
		Key: &jose.JSONWebKey{Key: any(key), KeyID: kid}}, nil)
	if err != nil {
		t.Fatalf("go-jose takes no %T for %s: %v", key, alg, err)
	}
	jws, err := signer.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	var published jose.JSONWebKeySet
	if err := json.Unmarshal(ring.JWKS(), &published); err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	found := published.Key(parsed.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		t.Fatalf("the JWKS has %d keys named %s", len(found), kid)
	}
	if payload, err := parsed.Verify(found[0]); err != nil || string(payload) != `{"sub":"x"}` {
		t.Fatalf("the JWS does not verify against the JWKS: %v", err)
	}
}

// TestSealedECDSAKeysFollowASecretKeyRotation: like the RSA keys, ECDSA
// keys are sealed whole and sealed anew under a new SECRET_KEY.
func TestSealedECDSAKeysFollowASecretKeyRotation(t *testing.T) {
	eachKeyDB(t, func(t *testing.T, db *store.DB) {
		ctx, clock := context.Background(), newFakeClock()
		oldSecret, newSecret := core.RandomBytes(32), core.RandomBytes(32)
		oldKeys := SealedKeys{Store: db, Box: newBox(t, oldSecret)}
		ring, err := Load(ctx, oldKeys, core.KeyOIDCES256, clock)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := RotateKey(ctx, oldKeys, core.KeyOIDCES256, clock.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		kid, _, signer := ring.Signer()
		for _, k := range []string{kid, fresh.KID} {
			if _, err := x509.ParsePKCS8PrivateKey(storedKey(t, db, core.KeyOIDCES256, k)); err == nil {
				t.Fatalf("key %s is stored in the clear", k)
			}
		}
		if _, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyOIDCES256, clock); !core.IsCode(err, core.EInternal) {
			t.Fatalf("load with an unknown SECRET_KEY: %v; want an internal error", err)
		}
		rotated := newBox(t, newSecret, oldSecret)
		if ring, err = Load(ctx, SealedKeys{Store: db, Box: rotated}, core.KeyOIDCES256, clock); err != nil {
			t.Fatal(err)
		}
		if kid2, _, signer2 := ring.Signer(); kid2 != kid || !signer.(*ecdsa.PrivateKey).Equal(signer2) {
			t.Fatal("after the SECRET_KEY rotation another key signs")
		}
		ring, err = Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyOIDCES256, clock)
		if err != nil {
			t.Fatalf("load with the new SECRET_KEY alone: %v", err)
		}
		if got := verificationKIDs(ring); !slices.Equal(got, []string{kid, fresh.KID}) {
			t.Fatalf("verification keys %v; want %s then %s", got, kid, fresh.KID)
		}
	})
}
