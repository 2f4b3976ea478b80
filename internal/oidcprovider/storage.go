package oidcprovider

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// storage is op.Storage on approvald's stores.
type storage struct {
	clients   *clientCache
	secrets   SecretVerifier
	users     Users
	tokens    *session.Service
	keys      keyRings
	requests  *requests
	clock     core.Clock
	log       *slog.Logger
	loginPath string
	accessTTL time.Duration
	idTTL     time.Duration
}

// SecretVerifier checks a confidential client's secret (oidcclient.Hasher).
type SecretVerifier interface {
	VerifySecret(c *core.OIDCClient, secret string) bool
}

// Users finds the user a token names, for its claims.
type Users interface {
	UserByID(ctx context.Context, id string) (*core.User, error)
}

var _ op.Storage = (*storage)(nil)

func (s *storage) Health(ctx context.Context) error { return nil }

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.clients.client(ctx, id)
	if core.IsCode(err, core.ENotFound) {
		// invalid_client (401 at the token endpoint); the authorization
		// endpoint shows its own page for it and never redirects.
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, err
	}
	return &client{c: c, loginPath: s.loginPath, idTTL: s.idTTL}, nil
}

// AuthorizeClientIDSecret admits a confidential client with its secret; a
// public client has none to give and is refused where one is required
// (introspection).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.clients.client(ctx, id)
	if core.IsCode(err, core.ENotFound) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if err != nil {
		return err
	}
	if c.Public || secret == "" || !s.secrets.VerifySecret(c, secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

func (s *storage) CreateAuthRequest(ctx context.Context, in *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, err := s.clients.client(ctx, in.ClientID)
	if err != nil {
		return nil, err
	}
	if in.ResponseMode != "" && in.ResponseMode != oidc.ResponseModeQuery {
		// form_post would answer with op's auto-submitting page, which the
		// server's CSP blocks; fragment is for the implicit flow, not offered.
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("response_mode must be query")
	}
	r := &authRequest{
		ID:           core.NewSecret(16),
		CreatedAt:    s.clock.Now(),
		ClientID:     in.ClientID,
		ClientName:   core.CleanAppName(c.Name),
		RedirectURI:  in.RedirectURI,
		Scopes:       in.Scopes,
		State:        in.State,
		Nonce:        in.Nonce,
		ResponseType: in.ResponseType,
		ResponseMode: in.ResponseMode,
		Prompt:       in.Prompt,
		MaxAge:       in.MaxAge,
		LoginHint:    clampHint(in.LoginHint),
		HintSubject:  hintSubject,
		Browser:      browserOf(ctx),
	}
	if in.CodeChallenge != "" {
		// S256 only: "plain" (also what an absent method means, RFC 7636
		// §4.3) shows the verifier to whoever sees the authorization request.
		if in.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
		}
		r.Challenge = &oidc.CodeChallenge{Challenge: in.CodeChallenge, Method: in.CodeChallengeMethod}
	}
	if err := s.requests.create(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// clampHint keeps login_hint to what a phone or an email can be; it only
// pre-fills a form field.
func clampHint(h string) string {
	if len(h) > 254 || strings.ContainsFunc(h, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return h
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.requests.byID(ctx, id)
	if errors.Is(err, errUnknownRequest) {
		return nil, oidc.ErrInvalidRequest().WithDescription("the authorization request is unknown or has expired")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AuthRequestByCode spends the code. A code presented again revokes the
// tokens its first exchange minted (RFC 6749 §4.1.2) and is refused.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, minted, err := s.requests.claimCode(ctx, code)
	switch {
	case errors.Is(err, errCodeReused):
		if minted != "" {
			if err := s.tokens.RevokeSession(ctx, minted); err != nil && !core.IsCode(err, core.ENotFound) {
				return nil, err
			}
		}
		s.log.Warn("authorization code reused; its tokens are revoked")
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was already used")
	case errors.Is(err, errUnknownRequest):
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is unknown or has expired")
	case err != nil:
		return nil, err
	}
	return r, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.requests.saveCode(ctx, id, code)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.requests.remove(ctx, id)
}

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

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	setUserinfo(info, u, scopes)
	return nil
}

// SetUserinfoFromToken fills userinfo for a live token. op writes what it
// returns as the body: an OAuth error, never the inner one (Provider.Handler
// makes the status RFC 6750's 401).
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	sess, err := s.sessionOfToken(ctx, tokenID, subject)
	if core.IsCode(err, core.EUnauthorized) {
		return &oidc.Error{ErrorType: "invalid_token", Description: "the access token is not valid"}
	}
	if err == nil {
		err = s.SetUserinfoFromScopes(ctx, info, sess.UserID, sess.ClientID, sess.Scopes)
	}
	if err != nil {
		s.log.Error("userinfo not read", "err", err)
		return oidc.ErrServerError().WithDescription("internal error")
	}
	return nil
}

// SetIntrospectionFromToken answers RFC 7662 for a confidential client's
// own tokens; another client's token is reported inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	sess, err := s.sessionOfToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if sess.ClientID != clientID {
		return core.Errorf(core.EUnauthorized, "the token is not the client's")
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, u, sess.Scopes)
	resp.SetUserInfo(info)
	resp.Scope = sess.Scopes
	resp.ClientID = sess.ClientID
	resp.Audience = []string{sess.ClientID}
	resp.AuthTime = oidc.FromTime(sess.AuthTime)
	resp.Active = true
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID serves the JWT profile grant, which this provider
// does not offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// setUserinfo fills the standard claims of u that scopes allow. Emails are
// never verified here, so email_verified is false.
func setUserinfo(info *oidc.UserInfo, u *core.User, scopes []string) {
	info.Subject = u.ID
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.UpdatedAt = oidc.FromTime(u.UpdatedAt)
		case oidc.ScopeEmail:
			if u.Email != "" {
				info.Email = u.Email
				info.EmailVerified = oidc.Bool(false)
			}
		case oidc.ScopePhone:
			info.PhoneNumber = u.Phone
			info.PhoneNumberVerified = oidc.Bool(u.PhoneVerified)
		}
	}
}
