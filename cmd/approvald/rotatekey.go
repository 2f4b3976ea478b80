package main

import (
	"context"
	"fmt"
	"io"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/store"
)

// rotatedKeys are what `approvald rotate-key` rotates, in order, with the
// name its output gives each.
var rotatedKeys = []struct {
	purpose core.KeyPurpose
	name    string
}{
	{core.KeyJWT, "token key"},
	{core.KeyOIDC, "OIDC key"},
	{core.KeyOIDCES256, "OIDC ES256 key"},
	{core.KeyOIDCEdDSA, "OIDC EdDSA key"},
}

// rotateKey is `approvald rotate-key`: a new access-token key and new ID
// token (OIDC) keys, one per algorithm (RS256, ES256, EdDSA), each
// published at once (every instance reads it within
// KEY_RELOAD_INTERVAL and verifies with it) and signing after
// keyring.ActivationReloads intervals; the old key is retired then and
// verifies what it signed for keyring.RetiredKeyGrace. Each key is said
// once rotated, so a failure on a later one leaves no doubt about those
// before.
func rotateKey(ctx context.Context, cfg *config, db *store.DB, args []string, stdout io.Writer) error {
	pushKey := false
	for _, a := range args {
		switch a {
		case "--push", "-push":
			pushKey = true
		default:
			return fmt.Errorf("rotate-key: unknown argument %q (use rotate-key, or rotate-key --push)", a)
		}
	}
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		return err
	}
	keys, err := signingKeys(cfg, secret, db)
	if err != nil {
		return err
	}
	clock := core.SystemClock{}
	if pushKey {
		return rotatePushKey(ctx, cfg, keys, clock, stdout)
	}
	for _, k := range rotatedKeys {
		// The ring is loaded first so a database without the key (one from
		// before OIDC keys, or before ES256 and EdDSA ones) gets one; the new
		// key then follows it.
		if _, err := keyring.Load(ctx, keys, k.purpose, clock); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		fresh, err := keyring.RotateKey(ctx, keys, k.purpose, clock.Now(), keyring.ActivationReloads*cfg.KeyReloadInterval)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		fmt.Fprintf(stdout, "new %s %s: published now, signing from %s\n", k.name, fresh.KID, fresh.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	return nil
}

// rotatePushKey is `approvald rotate-key --push`: a new push key, announced
// at once to the devices (each push and pull answer carries it, signed by
// the key signing now), which signs once every device has confirmed it or
// PUSH_KEY_GRACE has passed, whichever comes first.
func rotatePushKey(ctx context.Context, cfg *config, keys keyring.SealedKeys, clock core.Clock, stdout io.Writer) error {
	ring, err := keyring.Load(ctx, keys, core.KeyPush, clock)
	if err != nil {
		return fmt.Errorf("push key: %w", err)
	}
	old, _ := ring.Active()
	fresh, err := keyring.RotatePushKey(ctx, keys, clock.Now(), cfg.PushKeyGrace)
	if err != nil {
		return fmt.Errorf("push key: %w", err)
	}
	fmt.Fprintf(stdout, "new push key %s: announced to devices now, signed by %s, which keeps signing until every device has confirmed the new key, or %s at the latest\n",
		fresh.KID, old, fresh.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	return nil
}
