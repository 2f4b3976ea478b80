package session

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
)

func TestRefreshRotatesAndKeepsAMRAndAuthTime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	authTime := f.clock.Now()
	userID, first := f.issue(t, "pwd", "otp")
	f.clock.Advance(time.Hour)

	second, err := f.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh returned the old tokens")
	}
	claims, err := f.svc.Authenticate(ctx, second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.UserID != userID || !slices.Equal(claims.AMR, []string{"pwd", "otp"}) || !claims.AuthTime.Equal(authTime) {
		t.Errorf("refreshed claims %+v; want user %s, amr [pwd otp], auth_time %v", claims, userID, authTime)
	}
	if !claims.IssuedAt.Equal(f.clock.Now()) {
		t.Errorf("iat = %v, want the refresh time %v", claims.IssuedAt, f.clock.Now())
	}
	if _, err := f.svc.Refresh(ctx, second.RefreshToken); err != nil {
		t.Fatalf("the new refresh token: %v", err)
	}
}

func TestRefreshReuseRevokesTheSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, first := f.issue(t, "pwd")
	second, err := f.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}

	_, err = f.svc.Refresh(ctx, first.RefreshToken)
	wantCode(t, err, core.EUnauthorized)

	// The thief's replay killed the legitimate holder's tokens too.
	_, err = f.svc.Refresh(ctx, second.RefreshToken)
	wantCode(t, err, core.EUnauthorized)
	_, err = f.svc.Authenticate(ctx, second.AccessToken)
	wantCode(t, err, core.EUnauthorized)
}

func TestRefreshRejectsUnknownAndEmptyTokens(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", core.NewSecret(32)} {
		_, err := f.svc.Refresh(context.Background(), token)
		wantCode(t, err, core.EUnauthorized)
	}
}

func TestRefreshAfterIdleOrMaxLifetime(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t)
		_, pair := f.issue(t, "pwd")
		f.clock.Advance(30 * 24 * time.Hour)
		_, err := f.svc.Refresh(context.Background(), pair.RefreshToken)
		wantCode(t, err, core.EUnauthorized)
	})
	t.Run("max", func(t *testing.T) {
		f := newFixture(t)
		_, pair := f.issue(t, "pwd")
		// Refreshed every 29 days, the session still ends at 90 days.
		var err error
		for range 3 {
			f.clock.Advance(29 * 24 * time.Hour)
			if pair, err = f.svc.Refresh(context.Background(), pair.RefreshToken); err != nil {
				t.Fatalf("refresh within the idle window: %v", err)
			}
		}
		f.clock.Advance(3 * 24 * time.Hour)
		_, err = f.svc.Refresh(context.Background(), pair.RefreshToken)
		wantCode(t, err, core.EUnauthorized)
	})
}

func TestLogoutStopsTheRefreshToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, pair := f.issue(t, "pwd")
	claims, err := f.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, claims.SessionID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Refresh(ctx, pair.RefreshToken)
	wantCode(t, err, core.EUnauthorized)
}

func TestLogoutOthersKeepsTheCurrentSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	userID, current := f.issue(t, "pwd")
	other, err := f.svc.Issue(ctx, userID, []string{"pwd"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, stranger := f.issue(t, "pwd")
	claims, err := f.svc.Authenticate(ctx, current.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	if err := f.svc.LogoutOthers(ctx, userID, claims.SessionID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, other.AccessToken)
	wantCode(t, err, core.EUnauthorized)
	_, err = f.svc.Refresh(ctx, other.RefreshToken)
	wantCode(t, err, core.EUnauthorized)
	for name, pair := range map[string]*TokenPair{"current": current, "another user's": stranger} {
		if _, err := f.svc.Authenticate(ctx, pair.AccessToken); err != nil {
			t.Errorf("%s session: %v", name, err)
		}
		if _, err := f.svc.Refresh(ctx, pair.RefreshToken); err != nil {
			t.Errorf("%s session refresh: %v", name, err)
		}
	}
}

func TestAuthenticateReportsAStoreOutageAsUnavailable(t *testing.T) {
	f := newFixture(t)
	_, pair := f.issue(t, "pwd")
	down := &downSessionStore{SessionStore: f.store}
	svc, err := NewService(Config{Issuer: testIssuer}, f.keys, down, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(context.Background(), pair.AccessToken)
	wantCode(t, err, core.EUnavailable)
	_, err = svc.Refresh(context.Background(), pair.RefreshToken)
	wantCode(t, err, core.EUnavailable)
}

func TestNewServiceValidatesItsConfig(t *testing.T) {
	f := newFixture(t)
	pushKeys, err := keyring.Load(context.Background(), f.keyDB, core.KeyPush, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() (*Service, error){
		"no issuer": func() (*Service, error) { return NewService(Config{}, f.keys, f.store, f.clock) },
		"no keys":   func() (*Service, error) { return NewService(Config{Issuer: testIssuer}, nil, f.store, f.clock) },
		"push keys": func() (*Service, error) { return NewService(Config{Issuer: testIssuer}, pushKeys, f.store, f.clock) },
		"negative ttl": func() (*Service, error) {
			return NewService(Config{Issuer: testIssuer, AccessTTL: -time.Second}, f.keys, f.store, f.clock)
		},
		"no session store": func() (*Service, error) { return NewService(Config{Issuer: testIssuer}, f.keys, nil, f.clock) },
	}
	for name, build := range cases {
		if _, err := build(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// downSessionStore answers like a store whose database is unreachable.
type downSessionStore struct{ core.SessionStore }

var errDown = errors.New("connection refused")

func (downSessionStore) Session(context.Context, string) (*core.Session, error) {
	return nil, core.Unavailable("database", errDown)
}

func (downSessionStore) RotateRefresh(context.Context, string, string, time.Time, time.Duration) (*core.Session, error) {
	return nil, core.Unavailable("database", errDown)
}

// A retired key verifies for twice the longest access token's life, so
// every token it signed has expired before it goes.
func TestRetiredKeysOutliveTheirTokens(t *testing.T) {
	if keyring.RetiredKeyGrace < 2*DefaultAccessTTL {
		t.Fatalf("keyring.RetiredKeyGrace %v < twice DefaultAccessTTL %v", keyring.RetiredKeyGrace, DefaultAccessTTL)
	}
}
