// Package geotest writes a tiny MaxMind-format city database for tests, in
// the GeoIP2 City layout: MaxMind's own test databases are not in the
// reader's module.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// The addresses the database knows (documentation-free public ranges, so
// that the locator does not skip them as private).
const (
	BerlinIP    = "81.2.69.142"   // Berlin, Germany
	CountryIP   = "2.125.160.216" // France, no city
	IPv6Berlin  = "2001:480::1"   // Berlin, Germany
	UnknownIP   = "8.8.8.8"       // not in the database
	BerlinPlace = "Berlin, Germany"
)

// CityDB writes the database into t's temporary folder and returns its path.
func CityDB(t testing.TB) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + "-de")}}
	}
	berlin := mmdbtype.Map{"city": names("Berlin"), "country": names("Germany")}
	for _, n := range []struct {
		cidr string
		rec  mmdbtype.Map
	}{
		{"81.2.69.0/24", berlin},
		{"2.125.160.0/24", mmdbtype.Map{"country": names("France")}},
		{"2001:480::/32", berlin},
		// A private range that a careless database might carry: the
		// locator must not look it up.
		{"10.0.0.0/8", berlin},
	} {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(ipnet, n.rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
