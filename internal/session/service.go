package session

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults of the contract ("Tokens and sessions").
const (
	DefaultAudience    = "approvald"
	DefaultAccessTTL   = 10 * time.Minute
	DefaultRefreshIdle = 30 * 24 * time.Hour
	DefaultRefreshMax  = 90 * 24 * time.Hour
)

// Config sets the service's token parameters; zero fields take the defaults
// except Issuer, which is required.
type Config struct {
	Issuer      string        // PUBLIC_URL
	Audience    string        // "approvald"
	AccessTTL   time.Duration // access-token lifetime
	RefreshIdle time.Duration // a session dies this long after its last refresh
	RefreshMax  time.Duration // and this long after its creation at the latest
}

func (c Config) withDefaults() Config {
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.RefreshIdle == 0 {
		c.RefreshIdle = DefaultRefreshIdle
	}
	if c.RefreshMax == 0 {
		c.RefreshMax = DefaultRefreshMax
	}
	return c
}

// TokenPair is the contract's token-pair body.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	// SessionID names the session (the single sign-on cookie refers to it).
	SessionID string `json:"-"`
}

// Service issues, verifies and refreshes tokens and ends sessions.
type Service struct {
	cfg      Config
	keys     *keyring.Ring
	sessions core.SessionStore
	clock    core.Clock
	parser   *jwt.Parser
}

// NewService builds the service. keys must be a KeyJWT keyring.
func NewService(cfg Config, keys *keyring.Ring, sessions core.SessionStore, clock core.Clock) (*Service, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Issuer == "":
		// An empty issuer would silently switch the iss check off.
		return nil, errors.New("session: Config.Issuer is required")
	case keys == nil || sessions == nil || clock == nil:
		return nil, errors.New("session: keys, sessions and clock are required")
	case keys.Purpose() != core.KeyJWT:
		return nil, errors.New("session: the keyring must be of purpose " + string(core.KeyJWT))
	case cfg.AccessTTL < 0 || cfg.RefreshIdle < 0 || cfg.RefreshMax < 0:
		return nil, errors.New("session: durations must be positive")
	}
	return &Service{cfg: cfg, keys: keys, sessions: sessions, clock: clock, parser: newParser(cfg, clock)}, nil
}

// Issue starts a session for userID, who proved amr, the last factor at
// authTime (now when zero), and returns its first token pair.
func (svc *Service) Issue(ctx context.Context, userID string, amr []string, authTime time.Time) (*TokenPair, error) {
	now := svc.clock.Now()
	if authTime.IsZero() {
		authTime = now
	}
	s := &core.Session{
		ID:         core.NewID(core.PrefixSession),
		UserID:     userID,
		AMR:        slices.Clone(amr),
		AuthTime:   authTime,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(svc.cfg.RefreshMax),
	}
	refresh := newRefreshToken()
	if err := svc.sessions.CreateSession(ctx, s, hashRefreshToken(refresh)); err != nil {
		return nil, err
	}
	return svc.pair(s, refresh, now)
}

// Authenticate verifies a bearer access token and that its session is still
// active, so a revoked session is refused at once rather than at exp. Every
// token failure is the same generic EUnauthorized; a store outage stays
// Unavailable, so clients do not throw their sessions away over it.
func (svc *Service) Authenticate(ctx context.Context, bearer string) (*Claims, error) {
	claims, err := svc.verifyAccessToken(bearer)
	if err != nil {
		return nil, invalidAccessToken(err)
	}
	if !core.HasPrefix(claims.SessionID, core.PrefixSession) {
		return nil, invalidAccessToken(errors.New("malformed sid"))
	}
	s, err := svc.sessions.Session(ctx, claims.SessionID)
	if core.IsCode(err, core.ENotFound) {
		return nil, invalidAccessToken(errors.New("unknown session"))
	}
	if err != nil {
		return nil, err
	}
	if s.UserID != claims.Subject {
		return nil, invalidAccessToken(errors.New("sub is not the session's user"))
	}
	if !s.Active(svc.clock.Now(), svc.cfg.RefreshIdle) {
		return nil, invalidAccessToken(errors.New("session is not active"))
	}
	return claims.public(), nil
}

// Refresh spends refreshToken and returns the session's next token pair.
// Presenting a spent token revokes the whole session (in the store).
func (svc *Service) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	if refreshToken == "" {
		return nil, invalidRefreshToken(errors.New("empty refresh token"))
	}
	now := svc.clock.Now()
	next := newRefreshToken()
	s, err := svc.sessions.RotateRefresh(ctx, hashRefreshToken(refreshToken), hashRefreshToken(next), now, svc.cfg.RefreshIdle)
	if core.IsCode(err, core.EUnauthorized) {
		return nil, invalidRefreshToken(err)
	}
	if err != nil {
		return nil, err
	}
	if !s.Active(now, svc.cfg.RefreshIdle) {
		return nil, invalidRefreshToken(errors.New("session is not active"))
	}
	if s.ClientID != "" {
		// An application's refresh token never buys approvald's own tokens.
		// Spent now, so revoke rather than leave the session on a token
		// nobody holds, as RotateClientRefresh does.
		if err := svc.sessions.RevokeSession(ctx, s.ID, now); err != nil {
			return nil, err
		}
		return nil, invalidRefreshToken(errors.New("the token belongs to an OpenID Connect client"))
	}
	return svc.pair(s, next, now)
}

// Logout revokes one session; its refresh token stops working at once and
// its access tokens fail Authenticate.
func (svc *Service) Logout(ctx context.Context, sessionID string) error {
	return svc.sessions.RevokeSession(ctx, sessionID, svc.clock.Now())
}

// LogoutOthers revokes every session of userID except keepSessionID.
func (svc *Service) LogoutOthers(ctx context.Context, userID, keepSessionID string) error {
	return svc.sessions.RevokeOtherSessions(ctx, userID, keepSessionID, svc.clock.Now())
}

func (svc *Service) pair(s *core.Session, refresh string, now time.Time) (*TokenPair, error) {
	access, err := svc.signAccessToken(s, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    "Bearer",
		ExpiresIn:    int(svc.cfg.AccessTTL / time.Second),
		SessionID:    s.ID,
	}, nil
}

func invalidAccessToken(cause error) *core.Error {
	return &core.Error{Code: core.EUnauthorized, Message: "the access token is not valid", Err: cause}
}

func invalidRefreshToken(cause error) *core.Error {
	return &core.Error{Code: core.EUnauthorized, Message: "the refresh token is not valid", Err: cause}
}
