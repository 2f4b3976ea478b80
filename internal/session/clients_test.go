package session

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// startClient starts a session of clientID for userID and returns it with
// its first refresh token.
func (f *fixture) startClient(t *testing.T, userID, clientID string) (*core.Session, string) {
	t.Helper()
	s, refresh, err := f.svc.StartClientSession(context.Background(), ClientGrant{
		UserID: userID, AMR: []string{"pwd", core.MethodPush}, AuthTime: f.clock.Now().Add(-time.Minute),
		ClientID: clientID, Scopes: []string{"openid", "offline_access"},
	})
	if err != nil {
		t.Fatalf("StartClientSession: %v", err)
	}
	return s, refresh
}

// wantActive fails unless session id is still active.
func (f *fixture) wantActive(t *testing.T, id string) {
	t.Helper()
	if _, err := f.svc.ActiveSession(context.Background(), id); err != nil {
		t.Fatalf("session %s: %v; want it active", id, err)
	}
}

// wantRevoked fails unless session id was revoked.
func (f *fixture) wantRevoked(t *testing.T, id string) {
	t.Helper()
	s, err := f.store.Session(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevokedAt == nil {
		t.Fatalf("session %s is not revoked", id)
	}
	_, err = f.svc.ActiveSession(context.Background(), id)
	wantCode(t, err, core.EUnauthorized)
}

func TestStartClientSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	userID := core.NewID(core.PrefixUser)
	amr := []string{"pwd", core.MethodOTP}
	authTime := f.clock.Now().Add(-time.Hour)
	g := ClientGrant{UserID: userID, AMR: amr, AuthTime: authTime, ClientID: "clt_wiki", Scopes: []string{"openid", "email"}}
	s, refresh, err := f.svc.StartClientSession(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	want := &core.Session{
		ID: s.ID, UserID: userID, AMR: []string{"pwd", core.MethodOTP}, AuthTime: authTime,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(DefaultRefreshMax),
		ClientID: "clt_wiki", Scopes: []string{"openid", "email"},
	}
	if !core.HasPrefix(s.ID, core.PrefixSession) || !reflect.DeepEqual(s, want) {
		t.Fatalf("session\n got %+v\nwant %+v", s, want)
	}
	stored, err := f.svc.ActiveSession(ctx, s.ID)
	if err != nil || !reflect.DeepEqual(stored, want) {
		t.Fatalf("stored session %+v, %v", stored, err)
	}
	if refresh == "" {
		t.Fatal("no refresh token")
	}
	amr[1], g.Scopes[0] = "changed", "changed"
	if s.AMR[1] != core.MethodOTP || s.Scopes[0] != "openid" {
		t.Fatal("the session shares the grant's slices")
	}

	for _, g := range []ClientGrant{{UserID: userID}, {ClientID: "clt_wiki"}, {}} {
		if s, _, err := f.svc.StartClientSession(ctx, g); err == nil {
			t.Fatalf("StartClientSession(%+v) = %+v; want an error", g, s)
		}
	}
}

func TestRotateClientRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start, first := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")

	f.clock.Advance(time.Hour)
	s, second, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", first)
	if err != nil {
		t.Fatal(err)
	}
	if second == "" || second == first {
		t.Fatalf("next token %q; want a new one", second)
	}
	if s.ID != start.ID || !s.LastUsedAt.Equal(f.clock.Now()) || s.ClientID != "clt_wiki" ||
		!slices.Equal(s.Scopes, start.Scopes) || !s.AuthTime.Equal(start.AuthTime) {
		t.Fatalf("rotated session %+v", s)
	}
	_, third, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", second)
	if err != nil {
		t.Fatal(err)
	}

	// The first token again: reuse, which ends the session and every token.
	_, _, err = f.svc.RotateClientRefresh(ctx, "clt_wiki", first)
	wantCode(t, err, core.EUnauthorized)
	f.wantRevoked(t, start.ID)
	_, _, err = f.svc.RotateClientRefresh(ctx, "clt_wiki", third)
	wantCode(t, err, core.EUnauthorized)
}

func TestRotateClientRefreshRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("empty", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		for _, c := range [][2]string{{"", refresh}, {"clt_wiki", ""}, {"", ""}} {
			_, _, err := f.svc.RotateClientRefresh(ctx, c[0], c[1])
			wantCode(t, err, core.EUnauthorized)
		}
		f.wantActive(t, s.ID)
		if _, _, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh); err != nil {
			t.Fatalf("the token after refused attempts: %v", err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		f := newFixture(t)
		_, _, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", core.NewSecret(32))
		wantCode(t, err, core.EUnauthorized)
	})
	t.Run("another client's token", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		got, next, err := f.svc.RotateClientRefresh(ctx, "clt_mail", refresh)
		wantCode(t, err, core.EUnauthorized)
		if got != nil || next != "" {
			t.Fatalf("another client got %+v, %q", got, next)
		}
		// The token was spent in the attempt, so the session is revoked
		// rather than left on a token nobody holds.
		f.wantRevoked(t, s.ID)
		_, _, err = f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
		wantCode(t, err, core.EUnauthorized)
	})
	t.Run("approvald's own token", func(t *testing.T) {
		f := newFixture(t)
		_, pair := f.issue(t, "pwd", core.MethodPush)
		_, next, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", pair.RefreshToken)
		wantCode(t, err, core.EUnauthorized)
		if next != "" {
			t.Fatalf("a client rotated approvald's own token into %q", next)
		}
		f.wantRevoked(t, pair.SessionID)
	})
	t.Run("idle session", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		f.clock.Advance(DefaultRefreshIdle)
		_, _, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
		wantCode(t, err, core.EUnauthorized)
		_, err = f.svc.ActiveSession(ctx, s.ID)
		wantCode(t, err, core.EUnauthorized)
	})
	t.Run("revoked session", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		if err := f.svc.RevokeSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
		wantCode(t, err, core.EUnauthorized)
	})
}

// approvald's own refresh never buys its tokens with an application's
// refresh token.
func TestRefreshRefusesAClientSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
	pair, err := f.svc.Refresh(ctx, refresh)
	wantCode(t, err, core.EUnauthorized)
	if pair != nil {
		t.Fatalf("Refresh = %+v", pair)
	}
	// The attempt spent the token: the session is revoked at once, as a
	// client presenting another's token revokes it, rather than left on a
	// token nobody holds.
	f.wantRevoked(t, s.ID)
	_, _, err = f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
	wantCode(t, err, core.EUnauthorized)

	// approvald's own sessions refresh as before.
	_, own := f.issue(t, "pwd")
	if _, err := f.svc.Refresh(ctx, own.RefreshToken); err != nil {
		t.Fatal(err)
	}
}

func TestPeekClientRefresh(t *testing.T) {
	ctx := context.Background()
	t.Run("spends nothing", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		for range 2 {
			got, err := f.svc.PeekClientRefresh(ctx, refresh)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != s.ID || got.ClientID != "clt_wiki" || !slices.Equal(got.Scopes, s.Scopes) {
				t.Fatalf("PeekClientRefresh = %+v, want session %s", got, s.ID)
			}
		}
		_, next, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
		if err != nil {
			t.Fatalf("the peeked token no longer rotates: %v", err)
		}
		if got, err := f.svc.PeekClientRefresh(ctx, next); err != nil || got.ID != s.ID {
			t.Fatalf("peek of the next token: %+v, %v", got, err)
		}
	})
	t.Run("spent token revokes", func(t *testing.T) {
		f := newFixture(t)
		s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		_, next, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.PeekClientRefresh(ctx, refresh)
		wantCode(t, err, core.EUnauthorized)
		if got != nil {
			t.Fatalf("peek of a spent token = %+v", got)
		}
		f.wantRevoked(t, s.ID)
		_, err = f.svc.PeekClientRefresh(ctx, next)
		wantCode(t, err, core.EUnauthorized)
	})
	t.Run("unknown token changes nothing", func(t *testing.T) {
		f := newFixture(t)
		s, _ := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		for _, token := range []string{"", core.NewSecret(32)} {
			_, err := f.svc.PeekClientRefresh(ctx, token)
			wantCode(t, err, core.EUnauthorized)
		}
		f.wantActive(t, s.ID)
	})
	t.Run("approvald's own token", func(t *testing.T) {
		f := newFixture(t)
		_, pair := f.issue(t, "pwd")
		_, err := f.svc.PeekClientRefresh(ctx, pair.RefreshToken)
		wantCode(t, err, core.EUnauthorized)
		if _, err := f.svc.Refresh(ctx, pair.RefreshToken); err != nil {
			t.Fatalf("the peek spent approvald's own token: %v", err)
		}
	})
	t.Run("ended session", func(t *testing.T) {
		f := newFixture(t)
		revoked, revokedToken := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		_, idleToken := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
		if err := f.svc.RevokeSession(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.PeekClientRefresh(ctx, revokedToken)
		wantCode(t, err, core.EUnauthorized)
		f.clock.Advance(DefaultRefreshIdle)
		_, err = f.svc.PeekClientRefresh(ctx, idleToken)
		wantCode(t, err, core.EUnauthorized)
	})
}

func TestClientSessionByRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s, refresh := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")

	got, err := f.svc.ClientSessionByRefresh(ctx, "clt_wiki", refresh)
	if err != nil || got.ID != s.ID {
		t.Fatalf("ClientSessionByRefresh = %+v, %v; want %s", got, err, s.ID)
	}
	for _, client := range []string{"clt_mail", ""} {
		_, err = f.svc.ClientSessionByRefresh(ctx, client, refresh)
		wantCode(t, err, core.EUnauthorized)
	}
	f.wantActive(t, s.ID) // asking is no attack: nothing is revoked

	_, own := f.issue(t, "pwd")
	_, err = f.svc.ClientSessionByRefresh(ctx, "", own.RefreshToken)
	wantCode(t, err, core.EUnauthorized)
	_, err = f.svc.ClientSessionByRefresh(ctx, "clt_wiki", core.NewSecret(32))
	wantCode(t, err, core.EUnauthorized)

	// Nothing was spent: the token still rotates; the spent one is unknown.
	_, next, err := f.svc.RotateClientRefresh(ctx, "clt_wiki", refresh)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ClientSessionByRefresh(ctx, "clt_wiki", refresh)
	wantCode(t, err, core.EUnauthorized)

	// Only an active session is answered.
	if err := f.svc.RevokeSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ClientSessionByRefresh(ctx, "clt_wiki", next)
	wantCode(t, err, core.EUnauthorized)
}

func TestActiveSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s, _ := f.startClient(t, core.NewID(core.PrefixUser), "clt_wiki")
	_, own := f.issue(t, "pwd")
	f.wantActive(t, s.ID)
	f.wantActive(t, own.SessionID)
	for _, id := range []string{"", "ses_", core.NewID(core.PrefixSession), core.NewID(core.PrefixUser), s.ID + "x"} {
		_, err := f.svc.ActiveSession(ctx, id)
		wantCode(t, err, core.EUnauthorized)
	}
	if err := f.svc.RevokeSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked(t, s.ID)
	f.clock.Advance(DefaultRefreshIdle - time.Nanosecond)
	f.wantActive(t, own.SessionID)
	f.clock.Advance(time.Nanosecond)
	_, err := f.svc.ActiveSession(ctx, own.SessionID)
	wantCode(t, err, core.EUnauthorized)
}

// An application's logout ends that application's sessions of that user,
// and nothing else.
func TestLogoutClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ada, bob := core.NewID(core.PrefixUser), core.NewID(core.PrefixUser)
	wiki1, _ := f.startClient(t, ada, "clt_wiki")
	wiki2, _ := f.startClient(t, ada, "clt_wiki")
	mail, _ := f.startClient(t, ada, "clt_mail")
	bobWiki, _ := f.startClient(t, bob, "clt_wiki")
	own, err := f.svc.Issue(ctx, ada, []string{"pwd"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	if err := f.svc.LogoutClient(ctx, ada, "clt_wiki"); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked(t, wiki1.ID)
	f.wantRevoked(t, wiki2.ID)
	for _, id := range []string{mail.ID, bobWiki.ID, own.SessionID} {
		f.wantActive(t, id)
	}

	// Without a client it is refused rather than taken as approvald's own
	// sessions.
	if err := f.svc.LogoutClient(ctx, ada, ""); err == nil {
		t.Fatal("LogoutClient without a client succeeded")
	}
	f.wantActive(t, own.SessionID)
}
