// Package testenv finds the real PostgreSQL and Redis that `make test` starts
// (.ci/services writes their URLs to .testenv/env and the Makefile exports
// them), and starts for a test the nginx and oauth2-proxy that `make test`
// installs and builds (StartNginx, StartOAuth2Proxy). Without them a test
// skips with the reason, except under CI=true, where a missing service
// fails the test: CI must never pass by skipping.
//
// It does not import the testing package: cmd/approvalbench, a program,
// creates its database with CreateDatabase, and internal/e2e (which the
// bench uses too) calls the rest through TB.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// TB is the part of testing.TB this package uses; *testing.T, *testing.B
// and *testing.F satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Missing skips t, or fails it under CI=true, because what is unavailable.
func Missing(t TB, what string) {
	t.Helper()
	msg := what + " is not available; run `make test`, which starts it"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing service is a failure)", msg)
	}
	t.Skipf("%s", msg)
}

// PostgresURL creates a fresh database for this test on the server named by
// TEST_DATABASE_URL, drops it when the test ends, and returns its URL.
func PostgresURL(t TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL, drop, err := CreateDatabase(ctx, base, "t_")
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("PostgreSQL at TEST_DATABASE_URL does not answer: %v", err)
		}
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(drop)
	return dbURL
}

// CreateDatabase makes a database with a random name starting with prefix
// on the PostgreSQL server of baseURL, and returns its URL and what drops it
// again (forcing out whoever is still connected).
func CreateDatabase(ctx context.Context, baseURL, prefix string) (string, func(), error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", nil, err
	}
	name := prefix + randomString(12)
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(baseURL)))
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop := func() {
		admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(baseURL)))
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// RedisURL returns TEST_REDIS_URL. Tests share the server, so they use random
// ids and phone numbers (RandomPhone) rather than flushing it.
func RedisURL(t TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		Missing(t, "Redis (TEST_REDIS_URL)")
	}
	return u
}

// RandomPhone returns a random valid US number in E.164 (+1 415 555-01xx is
// too small a range for tests that run side by side, so any 201 number).
func RandomPhone() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(7_000_000))
	return fmt.Sprintf("+1201%07d", 2_000_000+n.Int64())
}

func randomString(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b[i] = letters[k.Int64()]
	}
	return string(b)
}
