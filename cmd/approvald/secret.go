package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/oidcclient"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/store"
)

// loadSecretKey returns SECRET_KEY, the root of the keys that hash SMS codes
// and seal TOTP secrets. With PostgreSQL it must be set (every instance needs
// the same one). For the embedded default it is created on first start in a
// 0600 file beside the database, so `make run` needs no setup.
func loadSecretKey(cfg *config, dialect string) ([]byte, error) {
	if cfg.SecretKey != "" {
		k, err := secretbox.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, &configError{"SECRET_KEY", "must be the base64 of 32 random bytes (openssl rand -base64 32)"}
		}
		return k, nil
	}
	if dialect != "sqlite" {
		return nil, &configError{"SECRET_KEY", "is required with PostgreSQL: set it to the base64 of 32 random bytes (openssl rand -base64 32), the same on every instance"}
	}
	path := strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	path += ".key"
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := core.NewSecret(32)
		if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("SECRET_KEY: creating %s: %w", path, err)
		}
		b = []byte(k)
	} else if err != nil {
		return nil, fmt.Errorf("SECRET_KEY: reading %s: %w", path, err)
	}
	k, err := secretbox.ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("SECRET_KEY: %s does not hold a valid key", path)
	}
	return k, nil
}

// idTokenRings are the ID-token key rings, RS256 first.
func (k *keys) idTokenRings() []*keyring.Ring {
	return []*keyring.Ring{k.oidc, k.oidcES256, k.oidcEdDSA}
}

// keys are what SECRET_KEY opens or derives.
type keys struct {
	jwt *keyring.Ring // signs the access tokens
	// oidc signs the OpenID Connect ID tokens (RS256, every client's
	// default); oidcES256 and oidcEdDSA those of the clients that ask for
	// ES256 or EdDSA (id_token_signed_response_alg).
	oidc      *keyring.Ring
	oidcES256 *keyring.Ring
	oidcEdDSA *keyring.Ring
	sso       []byte             // MACs the single sign-on cookie
	opaque    [32]byte           // seals the OpenID provider's opaque tokens and codes
	client    *oidcclient.Hasher // checks OpenID Connect client secrets
	server    ed25519.PrivateKey // the push key signing at start (tests, and the deps that want one)
	push      *keyring.Ring      // the push keys: the active one signs what is sent to devices
	vapid     *ecdsa.PrivateKey  // signs the VAPID tokens of Web Push requests
	codes     *otp.CodeHasher    // hashes the texted codes
	totp      *secretbox.Box     // seals the devices' TOTP secrets
}

// loadKeys opens the signing keys stored in the database (creating them on
// first start) and derives the rest from secret.
func loadKeys(ctx context.Context, cfg *config, secret []byte, db *store.DB, clock core.Clock) (*keys, error) {
	sealed, err := signingKeys(cfg, secret, db)
	if err != nil {
		return nil, err
	}
	k := &keys{codes: otp.NewCodeHasher(subkey(secret, "sms-codes"))}
	if k.jwt, err = keyring.Load(ctx, sealed, core.KeyJWT, clock); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if k.oidc, err = keyring.Load(ctx, sealed, core.KeyOIDC, clock); err != nil {
		return nil, fmt.Errorf("OpenID Connect signing key: %w", err)
	}
	if k.oidcES256, err = keyring.Load(ctx, sealed, core.KeyOIDCES256, clock); err != nil {
		return nil, fmt.Errorf("OpenID Connect ES256 signing key: %w", err)
	}
	if k.oidcEdDSA, err = keyring.Load(ctx, sealed, core.KeyOIDCEdDSA, clock); err != nil {
		return nil, fmt.Errorf("OpenID Connect EdDSA signing key: %w", err)
	}
	k.sso = subkey(secret, "sso-cookie")
	copy(k.opaque[:], subkey(secret, "oidc-opaque-tokens"))
	k.client = newClientSecretHasher(secret, cfg.PreviousSecretKeys)
	if k.totp, err = sealingBox(secret, cfg.PreviousSecretKeys, "totp-secrets"); err != nil {
		return nil, err
	}
	pushKeys, err := keyring.Load(ctx, sealed, core.KeyPush, clock)
	if err != nil {
		return nil, fmt.Errorf("push key: %w", err)
	}
	k.push = pushKeys
	_, k.server = pushKeys.Active()
	vapidKeys, err := keyring.Load(ctx, sealed, core.KeyVAPID, clock)
	if err != nil {
		return nil, fmt.Errorf("VAPID key: %w", err)
	}
	_, _, signer := vapidKeys.Signer()
	var ok bool
	if k.vapid, ok = signer.(*ecdsa.PrivateKey); !ok {
		return nil, errors.New("VAPID key: not an ECDSA key")
	}
	return k, nil
}

// signingKeys is the database's signing keys, sealed under SECRET_KEY.
func signingKeys(cfg *config, secret []byte, db *store.DB) (keyring.SealedKeys, error) {
	box, err := sealingBox(secret, cfg.PreviousSecretKeys, "signing-keys")
	if err != nil {
		return keyring.SealedKeys{}, err
	}
	return keyring.SealedKeys{Store: db, Box: box}, nil
}

// sealingBox seals with SECRET_KEY's subkey for purpose and opens with
// those of SECRET_KEYS_PREVIOUS too.
func sealingBox(secret []byte, previousSecrets [][]byte, purpose string) (*secretbox.Box, error) {
	var previous [][]byte
	for _, k := range previousSecrets {
		previous = append(previous, subkey(k, purpose))
	}
	return secretbox.New(subkey(secret, purpose), previous...)
}

// subkey derives an independent key for one use from the server secret.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("approvald/" + purpose))
	return m.Sum(nil)
}
