package push

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// errRefusedAddress is the dial error for a destination the Policy does not
// allow. It is final: a push to it is not retried.
var errRefusedAddress = errors.New("push: destination address is not public")

// refusedPrefixes are the IPv4 ranges that are not public unicast (RFC 6890
// and friends).
var refusedPrefixes = mustPrefixes(
	"0.0.0.0/8",       // "this network", incl. the unspecified address (which reaches this host)
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // carrier-grade NAT (RFC 6598)
	"127.0.0.0/8",     // loopback: the server's own services (allowed only by Policy.AllowLoopback)
	"169.254.0.0/16",  // link-local, incl. cloud metadata 169.254.169.254
	"172.16.0.0/12",   // private (RFC 1918)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private (RFC 1918)
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, incl. broadcast 255.255.255.255
)

var (
	// globalUnicast6 is the only IPv6 block with public unicast addresses;
	// everything outside it (loopback, unspecified, ULA fc00::/7,
	// link-local fe80::/10, multicast, discard, IPv4-compatible …) is
	// refused.
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	// refusedGlobal6 are the non-public parts of 2000::/3.
	refusedGlobal6 = mustPrefixes(
		"2001::/23",     // IETF protocol assignments, incl. Teredo
		"2001:db8::/32", // documentation
		"2002::/16",     // 6to4: embeds an IPv4 address of any kind
		"3fff::/20",     // documentation (RFC 9637)
	)
	// nat64 embeds an IPv4 address in its last 32 bits (RFC 6052); DNS64
	// networks address every IPv4-only host through it.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// checkAddress returns errRefusedAddress unless p lets a push reach addr.
func (p Policy) checkAddress(addr netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	addr = addr.WithZone("").Unmap()
	if p.AllowLoopback && addr.IsLoopback() {
		return nil
	}
	return checkPublic(addr)
}

// checkPublic returns errRefusedAddress unless addr is public unicast.
func checkPublic(addr netip.Addr) error {
	addr = addr.WithZone("").Unmap()
	if !addr.IsValid() {
		return errRefusedAddress
	}
	if addr.Is4() {
		for _, p := range refusedPrefixes {
			if p.Contains(addr) {
				return errRefusedAddress
			}
		}
		return nil
	}
	if nat64.Contains(addr) {
		// Its loopback is the translator's, never this server's: refused
		// even in development, with the rest of the non-public IPv4.
		b := addr.As16()
		return checkPublic(netip.AddrFrom4([4]byte(b[12:])))
	}
	if !globalUnicast6.Contains(addr) {
		return errRefusedAddress
	}
	for _, p := range refusedGlobal6 {
		if p.Contains(addr) {
			return errRefusedAddress
		}
	}
	return nil
}

// dialControl runs after DNS resolution and socket creation but before
// connect(2), for every address the dialer tries, so neither DNS rebinding
// nor a name with several addresses can reach one that p refuses.
func dialControl(p Policy) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("push: refusing network %q", network)
		}
		if p.AllowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return errRefusedAddress
		}
		return p.checkAddress(ap.Addr())
	}
}

func mustPrefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}
