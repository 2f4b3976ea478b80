package oidcprovider

import (
	"context"
	"errors"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/approvald/approvald/internal/core"
)

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
