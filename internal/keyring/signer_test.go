package keyring

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// wantAlg is the JWS alg of each purpose's keys.
var wantAlg = map[core.KeyPurpose]string{
	core.KeyJWT: "EdDSA", core.KeyOIDC: "RS256", core.KeyOIDCES256: "ES256", core.KeyOIDCEdDSA: "EdDSA",
}

// sign signs msg as a JWS signer would with the ring's signing key.
func sign(t *testing.T, r *Ring, msg []byte) (kid string, sig []byte) {
	t.Helper()
	kid, alg, key := r.Signer()
	var err error
	switch alg {
	case "EdDSA":
		sig, err = key.Sign(nil, msg, crypto.Hash(0))
	case "RS256", "ES256":
		digest := sha256.Sum256(msg)
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
	default:
		t.Fatalf("Signer alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return kid, sig
}

// verifies reports whether the ring's verification key kid verifies sig.
func verifies(r *Ring, kid string, msg, sig []byte) bool {
	for _, vk := range r.VerificationKeys() {
		if vk.KID != kid {
			continue
		}
		switch pub := vk.Public.(type) {
		case ed25519.PublicKey:
			return vk.Alg == "EdDSA" && ed25519.Verify(pub, msg, sig)
		case *rsa.PublicKey:
			digest := sha256.Sum256(msg)
			return vk.Alg == "RS256" && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
		case *ecdsa.PublicKey:
			digest := sha256.Sum256(msg)
			return vk.Alg == "ES256" && ecdsa.VerifyASN1(pub, digest[:], sig)
		}
	}
	return false
}

func verificationKIDs(r *Ring) []string {
	var kids []string
	for _, vk := range r.VerificationKeys() {
		kids = append(kids, vk.KID)
	}
	return kids
}

func jwksKIDs(t *testing.T, r *Ring) []string {
	t.Helper()
	var kids []string
	for _, k := range decodeJWKS(t, r.JWKS()) {
		kids = append(kids, k["kid"])
	}
	return kids
}

func TestSignerSignsWhatVerificationKeysVerify(t *testing.T) {
	msg := []byte("header.payload")
	for purpose, alg := range wantAlg {
		t.Run(string(purpose), func(t *testing.T) {
			ring, err := Load(context.Background(), newMemStore(), purpose, newFakeClock())
			if err != nil {
				t.Fatal(err)
			}
			kid, gotAlg, key := ring.Signer()
			if gotAlg != alg {
				t.Fatalf("Signer alg = %q, want %q", gotAlg, alg)
			}
			vks := ring.VerificationKeys()
			if len(vks) != 1 || vks[0].KID != kid || vks[0].Alg != alg {
				t.Fatalf("VerificationKeys = %+v, want the one key %s (%s)", vks, kid, alg)
			}
			signedBy, sig := sign(t, ring, msg)
			if signedBy != kid || !verifies(ring, kid, msg, sig) {
				t.Fatal("the verification key does not verify the signer's signature")
			}
			if verifies(ring, kid, []byte("header.other"), sig) {
				t.Fatal("a signature verifies another message")
			}
			// On an Ed25519 ring Signer is Active's key.
			if activeKID, active := ring.Active(); alg == "EdDSA" && (activeKID != kid || !active.Equal(key)) {
				t.Fatalf("Active = %s, Signer = %s", activeKID, kid)
			}
		})
	}
}

func TestJWKSMembersByKeyType(t *testing.T) {
	ctx := context.Background()

	// Ed25519: byte for byte what it was before RSA keys.
	jwt, err := Load(ctx, newMemStore(), core.KeyJWT, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	kid, key := jwt.Active()
	want := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"%s","kid":"%s","alg":"EdDSA","use":"sig"}]}`,
		base64.RawURLEncoding.EncodeToString(key.Public().(ed25519.PublicKey)), kid)
	if got := string(jwt.JWKS()); got != want {
		t.Fatalf("ed25519 jwks = %s\nwant %s", got, want)
	}

	// RSA: RFC 7517/7518 members, n and e giving back the key.
	store, clock := newMemStore(), newFakeClock()
	recent := retiredKeyOf(t, core.KeyOIDC, clock.Now().Add(-time.Minute))
	store.addKey(recent)
	oidc, err := Load(ctx, store, core.KeyOIDC, clock)
	if err != nil {
		t.Fatal(err)
	}
	set, vks := decodeJWKS(t, oidc.JWKS()), oidc.VerificationKeys()
	if len(set) != 2 || len(vks) != 2 || vks[1].KID != recent.KID {
		t.Fatalf("jwks = %v, verification keys = %v; want the active key, then the one retired a minute ago", set, vks)
	}
	for i, j := range set {
		if len(j) != 6 || j["kty"] != "RSA" || j["alg"] != "RS256" || j["use"] != "sig" || j["kid"] != vks[i].KID {
			t.Fatalf("jwk %d = %v; want kty RSA, n, e, kid %s, alg RS256, use sig", i, j, vks[i].KID)
		}
		n, errN := base64.RawURLEncoding.DecodeString(j["n"])
		e, errE := base64.RawURLEncoding.DecodeString(j["e"])
		if errN != nil || errE != nil || n[0] == 0 || e[0] == 0 {
			t.Fatalf("jwk %d: n, e not unpadded base64url of unsigned big-endian (%v, %v)", i, errN, errE)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if !pub.Equal(vks[i].Public) || pub.N.BitLen() != RSABits || j["e"] != "AQAB" {
			t.Fatalf("jwk %d does not give back the ring's key", i)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(der); j["kid"] != base64.RawURLEncoding.EncodeToString(sum[:12]) {
			t.Errorf("jwk %d: kid %s is not named after its PKIX DER", i, j["kid"])
		}
	}
}

// TestRotationThroughSigner: for either key type, a rotated-in key is
// published before it signs, and the old one verifies what it signed for
// RetiredKeyGrace after its retirement, then leaves.
func TestRotationThroughSigner(t *testing.T) {
	msg := []byte("header.payload")
	for purpose := range wantAlg {
		t.Run(string(purpose), func(t *testing.T) {
			ctx := context.Background()
			store, clock := newMemStore(), newFakeClock()
			ring, err := Load(ctx, store, purpose, clock)
			if err != nil {
				t.Fatal(err)
			}
			oldKID, oldSig := sign(t, ring, msg)

			const delay = 2 * time.Minute
			fresh, err := RotateKey(ctx, store, purpose, clock.Now(), delay)
			if err != nil {
				t.Fatal(err)
			}
			if err := ring.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if kid, _, _ := ring.Signer(); kid != oldKID {
				t.Fatal("the new key signs before its activation")
			}
			published := []string{oldKID, fresh.KID}
			if got, jwks := verificationKIDs(ring), jwksKIDs(t, ring); !slices.Equal(got, published) || !slices.Equal(jwks, published) {
				t.Fatalf("before the activation: verification keys %v, jwks %v; want %v", got, jwks, published)
			}

			clock.Advance(delay)
			newKID, newSig := sign(t, ring, msg)
			if newKID != fresh.KID || !verifies(ring, newKID, msg, newSig) {
				t.Fatalf("after the activation %s signs; want %s", newKID, fresh.KID)
			}
			if got := verificationKIDs(ring); !slices.Equal(got, []string{fresh.KID, oldKID}) {
				t.Fatalf("after the activation: verification keys %v; want the new key, then the old", got)
			}

			clock.Advance(RetiredKeyGrace - time.Second)
			if !verifies(ring, oldKID, msg, oldSig) {
				t.Fatal("the old key no longer verifies what it signed, within its grace")
			}
			clock.Advance(time.Second)
			only := []string{fresh.KID}
			if got, jwks := verificationKIDs(ring), jwksKIDs(t, ring); !slices.Equal(got, only) || !slices.Equal(jwks, only) {
				t.Fatalf("after the grace: verification keys %v, jwks %v; want %v", got, jwks, only)
			}
		})
	}
}
