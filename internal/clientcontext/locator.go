package clientcontext

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Locator names the place of an address from a MaxMind-format city
// database (GeoIP2/GeoLite2 City, or any with the same fields). Open it once
// at start and Close it at shutdown; a nil Locator knows no place.
type Locator struct {
	db *maxminddb.Reader
}

// OpenLocator opens the database at path (memory-mapped) and checks that
// it is one.
func OpenLocator(path string) (*Locator, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the MaxMind database: %w", err)
	}
	return &Locator{db: db}, nil
}

// Close releases the database; a nil Locator has nothing to release.
func (l *Locator) Close() error {
	if l == nil {
		return nil
	}
	return l.db.Close()
}

// place is the part of a city record that is shown.
type place struct {
	City struct {
		Names struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		Names struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"country"`
}

// Location is "City, Country" in English, or the country alone, for ip;
// "" when l is nil, ip is not an address, is private, loopback or
// otherwise not public, or the database does not know it.
func (l *Locator) Location(ip string) string {
	if l == nil {
		return ""
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return ""
	}
	var p place
	if err := l.db.Lookup(addr).Decode(&p); err != nil {
		return ""
	}
	city, country := p.City.Names.En, p.Country.Names.En
	switch {
	case city != "" && country != "":
		return city + ", " + country
	case country != "":
		return country
	default:
		return city
	}
}
