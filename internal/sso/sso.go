// Package sso is the single sign-on cookie: proof, held by the browser, that
// it finished a login here, so another application (through the OpenID
// provider or forward auth) lets it in without a second approval.
//
// The cookie names approvald's own session of that login and when it was
// set, under an HMAC; the session itself is the authority, so logging out
// (or out everywhere) ends single sign-on at once.
package sso

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// CookieName is the single sign-on cookie's name.
const CookieName = "approvald_sso"

// DefaultTTL is how long a single sign-on lasts by default (SSO_TTL).
const DefaultTTL = 12 * time.Hour

// Sessions answers whether a session is still active.
type Sessions interface {
	ActiveSession(ctx context.Context, id string) (*core.Session, error)
}

// Config is the cookie's deployment.
type Config struct {
	// Key is a subkey of SECRET_KEY for this use alone (32 bytes or more).
	Key []byte
	// TTL is how long a cookie is honoured (SSO_TTL; DefaultTTL when zero).
	TTL time.Duration
	// Domain, when set (COOKIE_DOMAIN), shares the cookie with the hosts
	// under it, for forward auth; else it is the server's host alone.
	Domain string
	// Secure is true over https.
	Secure bool
	// PublicURL is the server's; without Domain, return addresses must be
	// on its host.
	PublicURL string
}

// Cookies makes and checks single sign-on cookies.
type Cookies struct {
	cfg      Config
	sessions Sessions
	clock    core.Clock
}

// New returns the cookie maker.
func New(cfg Config, sessions Sessions, clock core.Clock) (*Cookies, error) {
	switch {
	case len(cfg.Key) < 32:
		return nil, errors.New("sso: the key must have at least 32 bytes")
	case sessions == nil || clock == nil:
		return nil, errors.New("sso: sessions and clock are required")
	case cfg.TTL < 0:
		return nil, errors.New("sso: the TTL must be positive")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	cfg.Domain = strings.TrimPrefix(strings.ToLower(cfg.Domain), ".")
	return &Cookies{cfg: cfg, sessions: sessions, clock: clock}, nil
}

// Domain is COOKIE_DOMAIN ("" for the server's host alone).
func (c *Cookies) Domain() string { return c.cfg.Domain }

// Cookie is the single sign-on cookie for session sessionID, made now:
// HttpOnly, SameSite=Lax so it comes along on an application's redirect
// back here, Secure over https.
func (c *Cookies) Cookie(sessionID string) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: c.Value(sessionID), Path: "/", Domain: c.cfg.Domain,
		MaxAge: int(c.cfg.TTL / time.Second), HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// Clear is the cookie that removes it.
func (c *Cookies) Clear() *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: "", Path: "/", Domain: c.cfg.Domain, MaxAge: -1,
		HttpOnly: true, Secure: c.cfg.Secure, SameSite: http.SameSiteLaxMode,
	}
}

// TTL is how long a cookie made now is honoured.
func (c *Cookies) TTL() time.Duration { return c.cfg.TTL }

// Value is the cookie for approvald's session sessionID, made now.
func (c *Cookies) Value(sessionID string) string {
	payload := "v1." + sessionID + "." + strconv.FormatInt(c.clock.Now().Unix(), 10)
	return payload + "." + c.mac(payload)
}

// Session returns the session a cookie value names when the value is
// genuine, younger than the TTL and the session still active; otherwise
// EUnauthorized, saying nothing about which check failed.
func (c *Cookies) Session(ctx context.Context, value string) (*core.Session, error) {
	sid, err := c.open(value)
	if err != nil {
		return nil, &core.Error{Code: core.EUnauthorized, Message: "no single sign-on session", Err: err}
	}
	return c.sessions.ActiveSession(ctx, sid)
}

func (c *Cookies) open(value string) (string, error) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 || !strings.HasPrefix(value, "v1.") {
		return "", errors.New("malformed cookie")
	}
	payload, mac := value[:i], value[i+1:]
	if !hmac.Equal([]byte(mac), []byte(c.mac(payload))) {
		return "", errors.New("bad cookie mac")
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 {
		return "", errors.New("malformed cookie")
	}
	set, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", errors.New("malformed cookie time")
	}
	if !c.clock.Now().Before(time.Unix(set, 0).Add(c.cfg.TTL)) {
		return "", errors.New("the cookie has expired")
	}
	return parts[1], nil
}

func (c *Cookies) mac(payload string) string {
	m := hmac.New(sha256.New, c.cfg.Key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
