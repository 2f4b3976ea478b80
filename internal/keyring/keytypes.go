package keyring

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// RSABits is the size of the RSA keys that sign ID tokens (KeyOIDC); a
// stored RSA key smaller than this is refused.
const RSABits = 2048

// The JWS algorithms of the three key types.
const (
	algEdDSA = "EdDSA"
	algRS256 = "RS256"
	algES256 = "ES256"
)

// GenerateKey returns a new signing key of purpose, not yet stored: RSA for
// KeyOIDC, ECDSA P-256 for KeyOIDCES256 and KeyVAPID (each PKCS #8 DER in PrivateKey),
// Ed25519 otherwise.
func GenerateKey(purpose core.KeyPurpose, now time.Time) (*core.SigningKey, error) {
	var kid string
	var private []byte
	switch purpose {
	case core.KeyOIDCES256, core.KeyVAPID:
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keyring: generate ecdsa key: %w", err)
		}
		if private, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
			return nil, fmt.Errorf("keyring: encode ecdsa key: %w", err)
		}
		if kid, err = pkixKeyID(&key.PublicKey); err != nil {
			return nil, err
		}
	case core.KeyOIDC:
		key, err := rsa.GenerateKey(rand.Reader, RSABits)
		if err != nil {
			return nil, fmt.Errorf("keyring: generate rsa key: %w", err)
		}
		if private, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
			return nil, fmt.Errorf("keyring: encode rsa key: %w", err)
		}
		if kid, err = pkixKeyID(&key.PublicKey); err != nil {
			return nil, err
		}
	default:
		public, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keyring: generate ed25519 key: %w", err)
		}
		kid, private = KeyID(public), key
	}
	return &core.SigningKey{KID: kid, Purpose: purpose, PrivateKey: private, CreatedAt: now}, nil
}

// KeyID names a public key: base64url of the first 12 bytes of its SHA-256.
func KeyID(public ed25519.PublicKey) string { return idOf(public) }

// pkixKeyID is KeyID's rule on the PKIX DER of an RSA or ECDSA public key.
func pkixKeyID(public any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return "", fmt.Errorf("keyring: encode public key: %w", err)
	}
	return idOf(der), nil
}

func idOf(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// decodeKey reads a stored key as its purpose says it is: an RSA key for
// KeyOIDC, an ECDSA P-256 key for KeyOIDCES256 and KeyVAPID, an Ed25519 key otherwise.
// Anything else is refused, so a ring never holds keys of two types.
func decodeKey(sk *core.SigningKey) (*ringKey, error) {
	k := &ringKey{kid: sk.KID, createdAt: sk.CreatedAt, retiredAt: sk.RetiredAt}
	switch sk.Purpose {
	case core.KeyOIDCES256, core.KeyVAPID:
		private, err := parseECDSAKey(sk.PrivateKey)
		if err != nil {
			return nil, badKey(sk, err)
		}
		k.alg, k.private, k.public = algES256, private, &private.PublicKey
		return k, nil
	case core.KeyOIDC:
		private, err := parseRSAKey(sk.PrivateKey)
		if err != nil {
			return nil, badKey(sk, err)
		}
		k.alg, k.private, k.public = algRS256, private, &private.PublicKey
		return k, nil
	}
	if len(sk.PrivateKey) != ed25519.PrivateKeySize {
		return nil, badKey(sk, fmt.Errorf("private key has %d bytes, want %d", len(sk.PrivateKey), ed25519.PrivateKeySize))
	}
	private := ed25519.PrivateKey(sk.PrivateKey)
	k.alg, k.private, k.public = algEdDSA, private, private.Public()
	return k, nil
}

func parseRSAKey(der []byte) (*rsa.PrivateKey, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(der) // validates an RSA key
	if err != nil {
		return nil, fmt.Errorf("private key is not PKCS #8: %w", err)
	}
	private, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, want an RSA key", parsed)
	}
	if bits := private.N.BitLen(); bits < RSABits {
		return nil, fmt.Errorf("RSA key has %d bits, want at least %d", bits, RSABits)
	}
	return private, nil
}

func parseECDSAKey(der []byte) (*ecdsa.PrivateKey, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(der) // checks the point is on the curve
	if err != nil {
		return nil, fmt.Errorf("private key is not PKCS #8: %w", err)
	}
	private, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, want an ECDSA key", parsed)
	}
	if private.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ECDSA key on %s, want P-256", private.Curve.Params().Name)
	}
	return private, nil
}

func badKey(sk *core.SigningKey, err error) error {
	return &core.Error{Code: core.EInternal, Message: "internal error",
		Err: fmt.Errorf("signing key %q: %w", sk.KID, err)}
}
