// Package push is the server's outbound signed push to authenticator
// devices: one JSON POST per device, signed with the server's key, with
// bounded retries, and a dialer that refuses non-public addresses at
// connect time so a device's push_url cannot be used to reach the
// server's own network.
package push

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/approvald/approvald/internal/core"
)

// MaxURLLength is the longest push_url the contract accepts.
const MaxURLLength = 2048

// Policy is which destinations pushes may reach besides public addresses
// over https. The zero Policy is production's. The server decides it once,
// from its configuration, and gives the same Policy to the validator of
// push URLs and to the Client, so what enrollment accepts is what a push
// may connect to.
type Policy struct {
	// AllowLoopback lets pushes reach loopback addresses, over http too:
	// development, where PUBLIC_URL's host is itself loopback, so the
	// server and its test devices share one machine. Anywhere else a
	// loopback push_url would make the server POST to its own services.
	AllowLoopback bool
	// AllowPrivate lets pushes reach any address (PUSH_ALLOW_PRIVATE=true):
	// a test network, never production.
	AllowPrivate bool
}

// loopback says whether p lets pushes reach loopback.
func (p Policy) loopback() bool { return p.AllowLoopback || p.AllowPrivate }

// ValidatePushURL accepts an absolute https URL of at most MaxURLLength
// characters, with a host and without userinfo; http only to a loopback
// host, and only when p allows loopback. A host p would refuse to connect
// to is rejected here already when the URL shows it (an IP literal, or the
// name localhost), so the device learns at enrollment, not at login; a
// name that resolves to such an address is refused at connect time.
func (p Policy) ValidatePushURL(raw string) error { return p.validateURL(raw, "push_url") }

// ValidateEndpoint is ValidatePushURL for a Web Push subscription's
// endpoint: the same rules, the error naming the field web_push.endpoint.
func (p Policy) ValidateEndpoint(raw string) error { return p.validateURL(raw, "web_push.endpoint") }

func (p Policy) validateURL(raw, field string) error {
	if raw == "" {
		return invalidURL(field, field+" must be an absolute https URL")
	}
	if len(raw) > MaxURLLength {
		return invalidURL(field, field+" must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return invalidURL(field, field+" must be an absolute https URL")
	}
	if u.User != nil {
		return invalidURL(field, field+" must not contain user information")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalidURL(field, field+" has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return invalidURL(field, field+" has an invalid port")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !p.loopback() || !IsLoopbackHost(host) {
			return invalidURL(field, field+" must use https")
		}
	default:
		return invalidURL(field, field+" must be an absolute https URL")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if p.checkAddress(addr) != nil {
			return invalidURL(field, field+" must point to a public address")
		}
	} else if isLoopbackName(host) && !p.loopback() {
		return invalidURL(field, field+" must point to a public address")
	}
	return nil
}

// IsLoopbackHost says whether a URL's host (without port or brackets) is
// this machine's loopback: the name localhost, 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackName: localhost and its subdomains, which resolvers answer
// with loopback (RFC 6761) without asking DNS.
func isLoopbackName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

func invalidURL(field, message string) *core.Error {
	return core.FieldError(core.EInvalidPushURL, field, message)
}
