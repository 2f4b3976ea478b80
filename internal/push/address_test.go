package push

import (
	"errors"
	"net/netip"
	"testing"
)

// loopbacks are the addresses that only development (Policy.AllowLoopback)
// may reach.
var loopbacks = []string{"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"}

func TestCheckAddress(t *testing.T) {
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "11.0.0.0", "100.63.255.255", "100.128.0.0",
		"169.253.255.255", "172.15.255.255", "172.32.0.0", "192.169.0.0", "223.255.255.255",
		"126.255.255.255", "128.0.0.0", // either side of loopback
		"::ffff:8.8.8.8", "64:ff9b::808:808", // public IPv4 behind mapping and NAT64
		"2606:4700:4700::1111", "2a00:1450:4001::1", "2001:4860:4860::8888",
	}
	refused := []string{
		"0.0.0.0", "0.1.2.3", // unspecified, "this network"
		"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", // RFC 1918
		"100.64.0.1", "100.127.255.255", // CGNAT
		"169.254.169.254", "169.254.0.1", // link-local, cloud metadata
		"192.0.0.1", "192.0.2.1", "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1", "192.88.99.1",
		"224.0.0.1", "239.255.255.250", // multicast
		"240.0.0.1", "255.255.255.255", // reserved, broadcast
		"::",                                       // unspecified
		"fc00::1", "fd12:3456::1", "fd00:ec2::254", // ULA, incl. the IPv6 cloud metadata address
		"fe80::1", "fe80::1%eth0", "febf::1", // link-local
		"fec0::1",            // site-local (deprecated)
		"ff02::1", "ff0e::1", // multicast
		"100::1", "::a00:1", "5f00::1", // discard, IPv4-compatible, SRv6
		"::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
		"64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1", // NAT64 to non-public
		"2001::1", "2001:db8::1", "2002:a00:1::1", "3fff::1", // Teredo, documentation, 6to4
	}
	production, development, private := Policy{}, Policy{AllowLoopback: true}, Policy{AllowPrivate: true}
	check := func(p Policy, s string, ok bool) {
		t.Helper()
		err := p.checkAddress(netip.MustParseAddr(s))
		if ok && err != nil {
			t.Errorf("%+v.checkAddress(%s) = %v, want allowed", p, s, err)
		}
		if !ok && !errors.Is(err, errRefusedAddress) {
			t.Errorf("%+v.checkAddress(%s) = %v, want refused", p, s, err)
		}
	}
	for _, s := range allowed {
		check(production, s, true)
		check(development, s, true)
		check(private, s, true)
	}
	for _, s := range loopbacks {
		check(production, s, false)
		check(development, s, true)
		check(private, s, true)
	}
	for _, s := range refused {
		check(production, s, false)
		check(development, s, false) // loopback only, not the rest
		check(private, s, true)
	}
	if err := (Policy{}).checkAddress(netip.Addr{}); !errors.Is(err, errRefusedAddress) {
		t.Errorf("checkAddress(zero) = %v, want refused", err)
	}
}

func TestDialControl(t *testing.T) {
	guard, dev, lax := dialControl(Policy{}), dialControl(Policy{AllowLoopback: true}), dialControl(Policy{AllowPrivate: true})
	cases := []struct {
		network, address      string
		guardOK, devOK, laxOK bool
	}{
		{"tcp4", "8.8.8.8:443", true, true, true},
		{"tcp4", "127.0.0.1:8080", false, true, true},
		{"tcp4", "127.0.0.53:53", false, true, true},
		{"tcp6", "[::1]:8080", false, true, true},
		{"tcp6", "[::ffff:127.0.0.1]:8080", false, true, true},
		{"tcp4", "0.0.0.0:8080", false, false, true}, // reaches this host, but is not loopback
		{"tcp6", "[::]:8080", false, false, true},
		{"tcp4", "10.0.0.1:443", false, false, true},
		{"tcp6", "[fe80::1%eth0]:443", false, false, true},
		{"tcp4", "169.254.169.254:80", false, false, true},
		{"tcp4", "not-an-address", false, false, true},
		{"udp4", "8.8.8.8:53", false, false, false},
	}
	for _, c := range cases {
		if err := guard(c.network, c.address, nil); (err == nil) != c.guardOK {
			t.Errorf("production(%s %s) = %v, want ok=%v", c.network, c.address, err, c.guardOK)
		}
		if err := dev(c.network, c.address, nil); (err == nil) != c.devOK {
			t.Errorf("AllowLoopback(%s %s) = %v, want ok=%v", c.network, c.address, err, c.devOK)
		}
		if err := lax(c.network, c.address, nil); (err == nil) != c.laxOK {
			t.Errorf("AllowPrivate(%s %s) = %v, want ok=%v", c.network, c.address, err, c.laxOK)
		}
	}
}
