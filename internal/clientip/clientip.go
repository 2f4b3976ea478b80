// Package clientip tells the address of the client of a request that may
// have come through reverse proxies: the peer's own address, or, when the
// peer is a trusted proxy, the address the proxies recorded in
// X-Forwarded-For.
//
// Only the right end of X-Forwarded-For can be believed: each proxy
// appends the address it was connected from, so the entries left of the
// last one written by a trusted proxy are whatever the client chose to
// send. The header is therefore read right to left, passing over trusted
// proxies, and the first other address is the client.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Resolver finds the client address behind a set of trusted proxies. The
// zero Resolver trusts no one: every client is its peer.
type Resolver struct {
	trusted []netip.Prefix
}

// New is a resolver that believes X-Forwarded-For from peers in trusted.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// ParsePrefixes reads proxy addresses, each an IP (a single address) or a
// CIDR such as 10.0.0.0/8.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("%q is not an IP or CIDR", s)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not an IP or CIDR", s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// Trusts reports whether a is a trusted proxy.
func (r *Resolver) Trusts(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the client's address of a request from peer (the TCP remote
// address) carrying forwardedFor, the X-Forwarded-For header values in the
// order received. When peer is not a trusted proxy the header is not
// looked at. Otherwise the header's entries are read right to left,
// passing over trusted proxies, and the first other address is the
// client; when every entry is a trusted proxy, the leftmost is (as nginx's
// real_ip_recursive has it). An entry that is no address (a name,
// "unknown", garbage) ends the search at peer: nothing left of it can be
// vouched for. The result is unmapped (an IPv4 client is never
// ::ffff:a.b.c.d) and without a zone.
func (r *Resolver) Client(peer netip.Addr, forwardedFor []string) netip.Addr {
	peer = peer.Unmap().WithZone("")
	if !r.Trusts(peer) {
		return peer
	}
	farthest := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		v := forwardedFor[i]
		for v != "" {
			entry := v
			if k := strings.LastIndexByte(v, ','); k >= 0 {
				entry, v = v[k+1:], v[:k]
			} else {
				v = ""
			}
			entry = strings.Trim(entry, " \t")
			if entry == "" {
				continue // an empty list element ("a,,b"), which HTTP allows
			}
			a, ok := parseEntry(entry)
			if !ok {
				return peer
			}
			if !r.Trusts(a) {
				return a
			}
			farthest = a
		}
	}
	return farthest
}

// parseEntry reads one X-Forwarded-For entry: an address, possibly with a
// port, IPv6 possibly in brackets and with a zone.
func parseEntry(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
