package clientip

import (
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48", " 192.0.2.9 "})
	if err != nil {
		t.Fatal(err)
	}
	r := New(trusted)
	cases := []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"no header: the peer", "10.1.2.3", nil, "10.1.2.3"},
		{"untrusted peer: header ignored", "203.0.113.7", []string{"198.51.100.1"}, "203.0.113.7"},
		{"untrusted peer: garbage ignored", "203.0.113.7", []string{"Ada's home"}, "203.0.113.7"},
		{"one proxy appends the client", "127.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"forged entries left of the appended one", "127.0.0.1", []string{"198.51.100.1, 198.51.100.2, 203.0.113.7"}, "203.0.113.7"},
		{"forged text left of the appended one", "127.0.0.1", []string{"Ada's home, 203.0.113.7"}, "203.0.113.7"},
		{"chain of trusted proxies is passed over", "127.0.0.1", []string{"198.51.100.1, 203.0.113.7, 10.0.0.2, 10.9.9.9"}, "203.0.113.7"},
		{"several headers read as one list", "127.0.0.1", []string{"198.51.100.1", "203.0.113.7", "10.0.0.2"}, "203.0.113.7"},
		{"several headers, last one's last entry first", "127.0.0.1", []string{"198.51.100.1, 203.0.113.7", "10.0.0.2, 10.0.0.3"}, "203.0.113.7"},
		{"spaces and tabs", "127.0.0.1", []string{" 198.51.100.1 ,\t203.0.113.7\t "}, "203.0.113.7"},
		{"no spaces", "127.0.0.1", []string{"198.51.100.1,203.0.113.7"}, "203.0.113.7"},
		{"empty elements skipped", "127.0.0.1", []string{",, 203.0.113.7 ,,", ""}, "203.0.113.7"},
		{"IPv4 with port", "127.0.0.1", []string{"203.0.113.7:5123"}, "203.0.113.7"},
		{"IPv6", "127.0.0.1", []string{"2001:db8:1:2::7"}, "2001:db8:1:2::7"},
		{"IPv6 in brackets", "127.0.0.1", []string{"[2001:db8:1:2::7]"}, "2001:db8:1:2::7"},
		{"IPv6 in brackets with port", "127.0.0.1", []string{"[2001:db8:1:2::7]:443"}, "2001:db8:1:2::7"},
		{"IPv6 with zone", "127.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"IPv6 with zone, brackets and port", "127.0.0.1", []string{"[fe80::1%eth0]:80"}, "fe80::1"},
		{"IPv6 non-canonical form", "127.0.0.1", []string{"2001:DB8:0:0:0:0:0:7"}, "2001:db8::7"},
		{"IPv4-mapped IPv6 unmapped", "127.0.0.1", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"trusted IPv6 proxy passed over", "127.0.0.1", []string{"203.0.113.7, 2001:db8:ffff:1::1"}, "203.0.113.7"},
		{"IPv6 peer trusted", "2001:db8:ffff::5", []string{"203.0.113.7"}, "203.0.113.7"},
		{"IPv4-mapped peer trusted", "::ffff:127.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"garbage at the right: the peer", "127.0.0.1", []string{"203.0.113.7, Ada's home"}, "127.0.0.1"},
		{"unknown at the right: the peer", "127.0.0.1", []string{"unknown"}, "127.0.0.1"},
		{"garbage behind a trusted hop: the peer", "127.0.0.1", []string{"203.0.113.7, bogus, 10.0.0.2"}, "127.0.0.1"},
		{"garbage left of the client is never read", "127.0.0.1", []string{"bogus, 203.0.113.7"}, "203.0.113.7"},
		{"host name is no address", "127.0.0.1", []string{"client.example.com"}, "127.0.0.1"},
		{"IPv4 in brackets is no address", "127.0.0.1", []string{"[203.0.113.7]"}, "127.0.0.1"},
		{"address with a prefix is no address", "127.0.0.1", []string{"203.0.113.0/24"}, "127.0.0.1"},
		{"all trusted: the leftmost", "127.0.0.1", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"all trusted, one header each", "10.0.0.1", []string{"10.0.0.5", "127.0.0.1"}, "10.0.0.5"},
		{"only empty elements: the peer", "127.0.0.1", []string{" , "}, "127.0.0.1"},
		{"peer in a trusted CIDR", "10.200.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.Client(netip.MustParseAddr(c.peer), c.xff)
			if got.String() != c.want {
				t.Fatalf("Client(%s, %q) = %s, want %s", c.peer, c.xff, got, c.want)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	for _, r := range []*Resolver{nil, New(nil)} {
		got := r.Client(netip.MustParseAddr("127.0.0.1"), []string{"203.0.113.7"})
		if got.String() != "127.0.0.1" {
			t.Fatalf("without trusted proxies: %s, want the peer", got)
		}
	}
	if got := New(nil).Client(netip.Addr{}, []string{"203.0.113.7"}); got.IsValid() {
		t.Fatalf("unknown peer: %s, want no address", got)
	}
}

func TestParsePrefixes(t *testing.T) {
	good := map[string]string{
		"127.0.0.1":           "127.0.0.1/32",
		"10.1.2.3/8":          "10.0.0.0/8",
		"::1":                 "::1/128",
		"2001:db8::/32":       "2001:db8::/32",
		"::ffff:10.0.0.1":     "10.0.0.1/32",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
	}
	for in, want := range good {
		p, err := ParsePrefixes([]string{in})
		if err != nil || len(p) != 1 || p[0].String() != want {
			t.Errorf("ParsePrefixes(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "localhost", "10.0.0.0/33", "10.0.0.1:80", "fe80::1%eth0", "10.0.0.0/8/8"} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

// FuzzClient: whatever the header, the answer is a parsed address, unmapped
// and without a zone.
func FuzzClient(f *testing.F) {
	f.Add("198.51.100.1, 203.0.113.7", "10.0.0.1")
	f.Add("[2001:db8::1]:80,garbage", "127.0.0.1")
	r := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")})
	f.Fuzz(func(t *testing.T, xff, peer string) {
		p, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		got := r.Client(p, []string{xff})
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("Client(%s, %q) = %v", p, xff, got)
		}
	})
}
