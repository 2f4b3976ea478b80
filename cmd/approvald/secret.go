package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/secretbox"
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
