package session

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// ClientGrant is what an OpenID Connect client is given for a user: the
// user's proof (AMR, AuthTime) as the single sign-on session holds it, and
// the scopes the client asked for.
type ClientGrant struct {
	UserID   string
	AMR      []string
	AuthTime time.Time
	ClientID string
	Scopes   []string
}

// StartClientSession stores a session of an OpenID Connect client, so its
// tokens end with the user's "log out everywhere", and returns it with its
// first refresh token. Its access tokens are the provider's, not ours.
func (svc *Service) StartClientSession(ctx context.Context, g ClientGrant) (*core.Session, string, error) {
	if g.ClientID == "" || g.UserID == "" {
		return nil, "", errors.New("session: a client session needs a user and a client")
	}
	now := svc.clock.Now()
	s := &core.Session{
		ID:         core.NewID(core.PrefixSession),
		UserID:     g.UserID,
		AMR:        slices.Clone(g.AMR),
		AuthTime:   g.AuthTime,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(svc.cfg.RefreshMax),
		ClientID:   g.ClientID,
		Scopes:     slices.Clone(g.Scopes),
	}
	refresh := newRefreshToken()
	if err := svc.sessions.CreateSession(ctx, s, hashRefreshToken(refresh)); err != nil {
		return nil, "", err
	}
	return s, refresh, nil
}

// RotateClientRefresh spends clientID's refresh token and returns its
// session and the next token. A spent token presented again revokes the
// session (the store's reuse detection); a token of another client or of
// approvald's own sessions is refused.
func (svc *Service) RotateClientRefresh(ctx context.Context, clientID, refresh string) (*core.Session, string, error) {
	if refresh == "" || clientID == "" {
		return nil, "", invalidRefreshToken(errors.New("empty refresh token or client"))
	}
	now := svc.clock.Now()
	next := newRefreshToken()
	s, err := svc.sessions.RotateRefresh(ctx, hashRefreshToken(refresh), hashRefreshToken(next), now, svc.cfg.RefreshIdle)
	if core.IsCode(err, core.EUnauthorized) {
		return nil, "", invalidRefreshToken(err)
	}
	if err != nil {
		return nil, "", err
	}
	if s.ClientID != clientID {
		// Spent now, so revoke rather than leave the session on a token
		// nobody holds: presenting another's token is no honest mistake.
		if err := svc.sessions.RevokeSession(ctx, s.ID, now); err != nil {
			return nil, "", err
		}
		return nil, "", invalidRefreshToken(errors.New("the token belongs to another client"))
	}
	if !s.Active(now, svc.cfg.RefreshIdle) {
		return nil, "", invalidRefreshToken(errors.New("session is not active"))
	}
	return s, next, nil
}

// ClientSessionByRefresh returns the active session of clientID whose
// current refresh token is refresh, without spending it (revocation).
func (svc *Service) ClientSessionByRefresh(ctx context.Context, clientID, refresh string) (*core.Session, error) {
	s, err := svc.sessions.SessionByRefreshToken(ctx, hashRefreshToken(refresh))
	if core.IsCode(err, core.ENotFound) {
		return nil, invalidRefreshToken(err)
	}
	if err != nil {
		return nil, err
	}
	if s.ClientID != clientID || clientID == "" {
		return nil, invalidRefreshToken(errors.New("the token belongs to another client"))
	}
	if !s.Active(svc.clock.Now(), svc.cfg.RefreshIdle) {
		return nil, invalidRefreshToken(errors.New("session is not active"))
	}
	return s, nil
}

// ActiveSession returns session id when it may still be used: not revoked,
// expired or idle. Anything else is EUnauthorized.
func (svc *Service) ActiveSession(ctx context.Context, id string) (*core.Session, error) {
	if !core.HasPrefix(id, core.PrefixSession) {
		return nil, core.Errorf(core.EUnauthorized, "no such session")
	}
	s, err := svc.sessions.Session(ctx, id)
	if core.IsCode(err, core.ENotFound) {
		return nil, core.Errorf(core.EUnauthorized, "no such session")
	}
	if err != nil {
		return nil, err
	}
	if !s.Active(svc.clock.Now(), svc.cfg.RefreshIdle) {
		return nil, core.Errorf(core.EUnauthorized, "the session has ended")
	}
	return s, nil
}

// RevokeSession ends one session (an application's token revoked).
func (svc *Service) RevokeSession(ctx context.Context, id string) error {
	return svc.sessions.RevokeSession(ctx, id, svc.clock.Now())
}

// LogoutClient ends userID's sessions with clientID (the application's
// logout, RP-initiated).
func (svc *Service) LogoutClient(ctx context.Context, userID, clientID string) error {
	return svc.sessions.RevokeClientSessions(ctx, userID, clientID, svc.clock.Now())
}

// PeekClientRefresh returns the OpenID Connect client session whose current
// refresh token is refresh, spending nothing (the token endpoint checks the
// client before RotateClientRefresh spends it). A spent token presented
// again revokes its session, as Refresh does.
func (svc *Service) PeekClientRefresh(ctx context.Context, refresh string) (*core.Session, error) {
	if refresh == "" {
		return nil, invalidRefreshToken(errors.New("empty refresh token"))
	}
	s, err := svc.sessions.SessionByRefreshToken(ctx, hashRefreshToken(refresh))
	if core.IsCode(err, core.ENotFound) {
		// Spent or unknown: a rotation attempt is what revokes a session on
		// reuse, and it changes nothing for an unknown token.
		_, rerr := svc.sessions.RotateRefresh(ctx, hashRefreshToken(refresh), hashRefreshToken(newRefreshToken()), svc.clock.Now(), svc.cfg.RefreshIdle)
		if rerr != nil && !core.IsCode(rerr, core.EUnauthorized) {
			return nil, rerr
		}
		return nil, invalidRefreshToken(err)
	}
	if err != nil {
		return nil, err
	}
	if s.ClientID == "" || !s.Active(svc.clock.Now(), svc.cfg.RefreshIdle) {
		return nil, invalidRefreshToken(errors.New("not an active client session"))
	}
	return s, nil
}
