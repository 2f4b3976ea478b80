package oidcprovider

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

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
