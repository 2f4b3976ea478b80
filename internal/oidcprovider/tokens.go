package oidcprovider

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// grantOf is what a token request gives the client: from a completed
// authorization request, or from the session a refresh token belongs to.
func grantOf(req op.TokenRequest) (session.ClientGrant, bool) {
	switch r := req.(type) {
	case *authRequest:
		return session.ClientGrant{
			UserID: r.Login.UserID, AMR: r.Login.AMR, AuthTime: r.Login.AuthTime,
			ClientID: r.ClientID, Scopes: r.Scopes,
		}, true
	case *refreshRequest:
		return session.ClientGrant{
			UserID: r.s.UserID, AMR: r.s.AMR, AuthTime: r.s.AuthTime,
			ClientID: r.s.ClientID, Scopes: r.scopes,
		}, true
	}
	return session.ClientGrant{}, false
}

// CreateAccessToken starts the client's session (without a refresh token
// handed out) and names it in the access token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, ok := grantOf(req)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	sess, _, err := s.tokens.StartClientSession(ctx, g)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.recordMinted(ctx, req, sess.ID); err != nil {
		return "", time.Time{}, err
	}
	id, exp := s.accessTokenID(sess.ID)
	return id, exp, nil
}

// CreateAccessAndRefreshTokens starts the client's session with its first
// refresh token, or, for a refresh, spends the current one (reuse revokes
// the session) and hands out the next.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if current != "" {
		rr, ok := req.(*refreshRequest)
		if !ok {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		sess, next, err := s.tokens.RotateClientRefresh(ctx, rr.s.ClientID, current)
		if core.IsCode(err, core.EUnauthorized) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token is not valid")
		}
		if err != nil {
			return "", "", time.Time{}, err
		}
		id, exp := s.accessTokenID(sess.ID)
		return id, next, exp, nil
	}
	g, ok := grantOf(req)
	if !ok {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	sess, refresh, err := s.tokens.StartClientSession(ctx, g)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.recordMinted(ctx, req, sess.ID); err != nil {
		return "", "", time.Time{}, err
	}
	id, exp := s.accessTokenID(sess.ID)
	return id, refresh, exp, nil
}

func (s *storage) recordMinted(ctx context.Context, req op.TokenRequest, sessionID string) error {
	if r, ok := req.(*authRequest); ok && r.code != "" {
		return s.requests.minted(ctx, r.code, sessionID)
	}
	return nil
}

// accessTokenID names the session and the token's expiry; op seals it into
// the opaque access token, and every use checks both.
func (s *storage) accessTokenID(sessionID string) (string, time.Time) {
	exp := s.clock.Now().Add(s.accessTTL)
	return sessionID + "~" + strconv.FormatInt(exp.Unix(), 10), exp
}

// sessionOfToken is the active session an access token's id names, when
// the token has not expired; EUnauthorized otherwise.
func (s *storage) sessionOfToken(ctx context.Context, tokenID, subject string) (*core.Session, error) {
	sid, expText, ok := strings.Cut(tokenID, "~")
	exp, err := strconv.ParseInt(expText, 10, 64)
	if !ok || err != nil || !s.clock.Now().Before(time.Unix(exp, 0)) {
		return nil, core.Errorf(core.EUnauthorized, "the access token has expired")
	}
	sess, err := s.tokens.ActiveSession(ctx, sid)
	if err != nil {
		return nil, err
	}
	if sess.UserID != subject || sess.ClientID == "" {
		return nil, core.Errorf(core.EUnauthorized, "the access token is not valid")
	}
	return sess, nil
}

// refreshRequest is a refresh grant: the session its token belongs to.
type refreshRequest struct {
	s      *core.Session
	scopes []string
}

func (r *refreshRequest) GetAMR() []string            { return amrOf(r.s.AMR) }
func (r *refreshRequest) GetAudience() []string       { return []string{r.s.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.s.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.s.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.s.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// TokenRequestByRefreshToken reads the session of a refresh token without
// spending it: op checks the client first, and CreateAccessAndRefreshTokens
// spends it. A spent token presented again revokes its session.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	sess, err := s.tokens.PeekClientRefresh(ctx, refresh)
	if core.IsCode(err, core.EUnauthorized) {
		return nil, op.ErrInvalidRefreshToken
	}
	if err != nil {
		return nil, err
	}
	return &refreshRequest{s: sess, scopes: sess.Scopes}, nil
}

// TerminateSession ends the application's sessions of the user (its
// RP-initiated logout); the single sign-on session is ended by the caller,
// which has the browser's cookie.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return nil
	}
	return s.tokens.LogoutClient(ctx, userID, clientID)
}

// GetRefreshTokenInfo tells the revocation endpoint whose refresh token it
// was given.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	sess, err := s.tokens.ClientSessionByRefresh(ctx, clientID, token)
	if core.IsCode(err, core.EUnauthorized) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return sess.UserID, sess.ID, nil
}

// RevokeToken ends the session a refresh token (by its session id) or an
// access token (by its id) belongs to, when it is the client's. An unknown
// token is no error (RFC 7009 §2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	sid, _, _ := strings.Cut(tokenOrID, "~")
	sess, err := s.tokens.ActiveSession(ctx, sid)
	if core.IsCode(err, core.EUnauthorized) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if sess.ClientID != clientID || (userID != "" && sess.UserID != userID) {
		return nil
	}
	if err := s.tokens.RevokeSession(ctx, sess.ID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}
