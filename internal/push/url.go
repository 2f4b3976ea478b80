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

// ValidatePushURL accepts an absolute https URL of at most MaxURLLength
// characters, with a host and without userinfo; http only to a loopback
// host, for development. An IP-literal host that the dialer would refuse is
// rejected here too, so the device learns at enrollment, not at login.
func ValidatePushURL(raw string) error {
	if raw == "" {
		return invalidURL("push_url must be an absolute https URL")
	}
	if len(raw) > MaxURLLength {
		return invalidURL("push_url must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return invalidURL("push_url must be an absolute https URL")
	}
	if u.User != nil {
		return invalidURL("push_url must not contain user information")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalidURL("push_url has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return invalidURL("push_url has an invalid port")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(host) {
			return invalidURL("push_url must use https (http only to a loopback host)")
		}
	default:
		return invalidURL("push_url must be an absolute https URL")
	}
	if addr, err := netip.ParseAddr(host); err == nil && checkAddress(addr) != nil {
		return invalidURL("push_url must point to a public address")
	}
	return nil
}

// isLoopbackHost: the name localhost, 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func invalidURL(message string) *core.Error {
	return core.FieldError(core.EInvalidPushURL, "push_url", message)
}
