package main

import (
	"context"
	"fmt"
	"io"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/store"
)

// rotateKey is `approvald rotate-key`: a new access-token key, published at
// once (every instance reads it within KEY_RELOAD_INTERVAL and verifies its
// tokens) and signing after keyring.ActivationReloads intervals; the old key
// is retired then and verifies the tokens it signed for twice their lifetime.
func rotateKey(ctx context.Context, cfg *config, db *store.DB, stdout io.Writer) error {
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		return err
	}
	keys, err := signingKeys(cfg, secret, db)
	if err != nil {
		return err
	}
	// The ring is loaded first so a database without a key gets one; the
	// new key then follows it.
	if _, err := keyring.Load(ctx, keys, core.KeyJWT, core.SystemClock{}); err != nil {
		return err
	}
	fresh, err := keyring.RotateKey(ctx, keys, core.KeyJWT, core.SystemClock{}.Now(), keyring.ActivationReloads*cfg.KeyReloadInterval)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new token key %s: published now, signing from %s\n", fresh.KID, fresh.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	return nil
}
