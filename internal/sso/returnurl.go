package sso

import (
	"net/url"
	"strings"
)

// ReturnURL checks where a browser may be sent back to after a login for
// forward auth: an absolute http(s) URL whose host is the cookie's domain or
// under it (COOKIE_DOMAIN), or, without one, the server's own host, where
// the cookie goes anyway. Anything else would make the login an open
// redirect. https is required unless the server itself is on plain http
// (local development). It returns the URL as parsed and re-encoded.
func (c *Cookies) ReturnURL(raw string) (string, bool) {
	// Browsers read a backslash as a slash in http URLs; Go does not:
	// refuse it rather than check a different host than the browser visits.
	if raw == "" || len(raw) > 2048 || strings.ContainsAny(raw, "\\\x00\r\n\t") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	pub, err := url.Parse(c.cfg.PublicURL)
	if err != nil {
		return "", false
	}
	switch u.Scheme {
	case "https":
	case "http":
		if pub.Scheme != "http" {
			return "", false
		}
	default:
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if c.cfg.Domain == "" {
		if host != strings.ToLower(pub.Hostname()) {
			return "", false
		}
	} else if host != c.cfg.Domain && !strings.HasSuffix(host, "."+c.cfg.Domain) {
		return "", false
	}
	return u.String(), true
}
