// Package oidcprovider makes approvald an OpenID Provider for other
// applications, on zitadel/oidc's certified op package: this package is its
// Storage (clients, authorization requests, tokens, keys, claims) and the
// step between the authorization endpoint and approvald's own login page.
//
// An authorization request is a short-lived record in core.KV; the login
// itself is approvald's page and its push approval, which ends in a session
// and the single sign-on cookie (package sso); /oidc/login then completes
// the request from that cookie. An application's tokens are a session of
// its own (session.StartClientSession), so its refresh tokens rotate with
// reuse detection and "log out everywhere" ends them.
package oidcprovider
