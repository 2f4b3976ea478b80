package oidcprovider

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
)

// client is a registered core.OIDCClient as op sees it. Every client is
// trusted by the operator: no consent screen.
type client struct {
	c         *core.OIDCClient
	loginPath string // the path of /oidc/login on this server
	idTTL     time.Duration
}

func (c *client) GetID() string          { return c.c.ID }
func (c *client) RedirectURIs() []string { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string {
	return c.c.PostLogoutRedirectURIs
}

// ApplicationType: a confidential client is a web application; a public one
// is native, so op lets a loopback redirect URI use any port (RFC 8252
// §7.3) and allows the custom schemes oidcclient admitted.
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c *client) LoginURL(id string) string { return c.loginPath + "?id=" + id }

// AccessTokenType: opaque tokens, sealed by op; what they name is checked
// against the session on every use, so a revoked one stops at once.
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed is asked only of scopes beyond the standard ones, which
// this provider does not have.
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion: the ID token carries the profile, email
// and phone claims of its scopes too, for the applications (Grafana,
// oauth2-proxy) that read them there rather than from userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
