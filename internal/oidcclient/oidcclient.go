// Package oidcclient holds the rules of OpenID Connect clients (relying
// parties): what a valid client is, which redirect URIs it may use and how
// they match, its id and secret, and how the secret is hashed and checked.
// The clients are stored through core.OIDCClientStore; cmd/approvald
// manages them (approvald clients …, CLIENTS_FILE).
//
// Redirect URIs (and post-logout redirect URIs, under the same rules) are
// absolute, without a fragment or user info, and:
//   - https, to any host;
//   - http only to a loopback host (127.0.0.0/8, ::1 or localhost), for
//     native apps on a desktop (RFC 8252 §7.3) and development;
//   - a private-use scheme named after a reversed domain, such as
//     com.example.app:/callback (RFC 8252 §7.1), only for a public client:
//     RFC 8252's server checklist (its appendix A) asks a server that serves
//     native apps to take them, since mobile apps need them. Requiring the
//     dot in the scheme keeps javascript:, data:, file: and the like out.
//
// A URI matches only itself, byte for byte (RFC 6749 §3.1.2.3, OpenID
// Connect Core §3.1.2.1): no prefix, case or trailing-slash leeway, and,
// against RFC 8252 §7.3, no port leeway on loopback either, so a native app
// registers the ports it listens on.
package oidcclient

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/approvald/approvald/internal/core"
)

// Limits of a client's fields.
const (
	MaxNameLength = 100  // characters
	MaxIDLength   = 64   // of an id CLIENTS_FILE gives
	MaxURILength  = 2000 // bytes
)

// Field names of validation errors, as CLIENTS_FILE spells them.
const (
	FieldID                     = "client_id"
	FieldName                   = "name"
	FieldRedirectURIs           = "redirect_uris"
	FieldPostLogoutRedirectURIs = "post_logout_redirect_uris"
	FieldSecret                 = "client_secret"
	FieldIDTokenAlg             = "id_token_signed_response_alg"
)

// NewID returns a new client id: clt_ and 128 random bits.
func NewID() string { return core.NewID(core.PrefixOIDCClient) }

// NewSecret returns a new client secret: 256 random bits as unpadded
// base64url (43 characters).
func NewSecret() string { return core.NewSecret(32) }

// CheckID checks an id that CLIENTS_FILE gives its client: 1 to MaxIDLength
// of the characters a URI leaves unreserved (letters, digits, - . _ ~), so
// it travels in a URL or a Basic header as it is.
func CheckID(id string) error {
	if id == "" || len(id) > MaxIDLength {
		return invalid(FieldID, "must be 1 to 64 characters")
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))) {
			return invalid(FieldID, "may hold only letters, digits, - . _ and ~")
		}
	}
	return nil
}

// Validate checks c's name, URIs, secret and ID-token algorithm: a name of
// 1 to MaxNameLength characters, at least one redirect URI, every URI valid
// (CheckURI) and none twice, a secret hash exactly when c is confidential,
// an IDTokenAlg that CheckIDTokenAlg takes. The error is an *core.Error,
// invalid_request, whose Field names the field.
func Validate(c *core.OIDCClient) error {
	if err := checkName(c.Name); err != nil {
		return err
	}
	if len(c.RedirectURIs) == 0 {
		return invalid(FieldRedirectURIs, "a client needs at least one redirect URI")
	}
	if err := checkURIs(FieldRedirectURIs, c.RedirectURIs, c.Public); err != nil {
		return err
	}
	if err := checkURIs(FieldPostLogoutRedirectURIs, c.PostLogoutRedirectURIs, c.Public); err != nil {
		return err
	}
	switch {
	case c.Public && c.SecretHash != "":
		return invalid(FieldSecret, "a public client has no secret")
	case !c.Public && c.SecretHash == "":
		return invalid(FieldSecret, "a confidential client needs a secret")
	}
	return CheckIDTokenAlg(c.IDTokenAlg)
}

// CheckIDTokenAlg checks a client's id_token_signed_response_alg: RS256,
// ES256 or EdDSA, spelt so (JWS names are case-sensitive), or "" for the
// default, RS256. HS256 (signed with the client secret, which is only
// kept hashed here) and "none" are not offered.
func CheckIDTokenAlg(alg string) error {
	if alg == "" || slices.Contains(core.IDTokenAlgs, alg) {
		return nil
	}
	return invalid(FieldIDTokenAlg, strconv.Quote(alg)+" is not offered: the ID token algorithm must be RS256, ES256 or EdDSA")
}

func checkName(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return invalid(FieldName, "the name is not UTF-8")
	case strings.TrimSpace(name) == "":
		return invalid(FieldName, "a client needs a name")
	case n > MaxNameLength:
		return invalid(FieldName, "the name is longer than 100 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalid(FieldName, "the name holds a control character")
	}
	return nil
}

func checkURIs(field string, uris []string, public bool) error {
	for i, u := range uris {
		if problem := uriProblem(u, public); problem != "" {
			return invalid(field, problem)
		}
		if slices.Contains(uris[:i], u) {
			return invalid(field, strconv.Quote(u)+" is listed twice")
		}
	}
	return nil
}

// uriProblem says what is wrong with one redirect or post-logout redirect
// URI of a client, public or not (see the package's comment); "" if nothing.
func uriProblem(raw string, public bool) string {
	if raw == "" || len(raw) > MaxURILength {
		return "a redirect URI must be 1 to 2000 characters"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return strconv.Quote(raw) + " holds a space, a control character or a non-ASCII character (percent-encode it)"
		}
	}
	if strings.ContainsRune(raw, '#') {
		return strconv.Quote(raw) + " has a fragment"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return strconv.Quote(raw) + " is not an absolute URI"
	}
	if u.User != nil {
		return strconv.Quote(raw) + " has user information"
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" || u.Opaque != "" {
			return strconv.Quote(raw) + " has no host"
		}
	case "http":
		if u.Opaque != "" || !IsLoopbackHost(u.Hostname()) {
			return strconv.Quote(raw) + " must be https: http is only for a loopback host (127.0.0.1, [::1], localhost)"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return strconv.Quote(raw) + " must be https, http on a loopback host, or a native app's scheme named after a reversed domain (com.example.app:/callback)"
		}
		if !public {
			return strconv.Quote(raw) + " uses a native app's scheme, which only a public client (a native app) may use"
		}
	}
	return ""
}

// IsLoopbackHost reports whether host (a URL's Hostname) is localhost or a
// loopback address: 127.0.0.0/8 or ::1, without a zone.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Zone() == "" && addr.IsLoopback()
}

// RedirectAllowed reports whether uri is one of c's redirect URIs, compared
// byte for byte.
func RedirectAllowed(c *core.OIDCClient, uri string) bool {
	return slices.Contains(c.RedirectURIs, uri)
}

// PostLogoutRedirectAllowed reports whether uri is one of c's post-logout
// redirect URIs, compared byte for byte.
func PostLogoutRedirectAllowed(c *core.OIDCClient, uri string) bool {
	return slices.Contains(c.PostLogoutRedirectURIs, uri)
}

func invalid(field, message string) *core.Error {
	return core.FieldError(core.EInvalidRequest, field, message)
}
