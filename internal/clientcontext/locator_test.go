package clientcontext_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/clientcontext/geotest"
)

func TestLocation(t *testing.T) {
	l, err := clientcontext.OpenLocator(geotest.CityDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct{ ip, want string }{
		{geotest.BerlinIP, "Berlin, Germany"},
		{"::ffff:" + geotest.BerlinIP, "Berlin, Germany"},
		{geotest.IPv6Berlin, "Berlin, Germany"},
		{geotest.CountryIP, "France"},
		{geotest.UnknownIP, ""},
		{"10.1.2.3", ""}, // private: never looked up, though the database has it
		{"127.0.0.1", ""},
		{"::1", ""},
		{"192.168.1.1", ""},
		{"fe80::1", ""},
		{"", ""},
		{"not an ip", ""},
	} {
		if got := l.Location(c.ip); got != c.want {
			t.Errorf("Location(%q) = %q; want %q", c.ip, got, c.want)
		}
	}
}

func TestSummaryWithLocation(t *testing.T) {
	l, err := clientcontext.OpenLocator(geotest.CityDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := clientcontext.Of(l, geotest.BerlinIP, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Grafana")
	want := clientcontext.Context{Browser: "Firefox", OS: "Linux", Location: "Berlin, Germany", Summary: "near Berlin, Germany · Firefox on Linux · Grafana"}
	if c == nil || *c != want {
		t.Fatalf("Of = %+v; want %+v", c, want)
	}
}

func TestOpenLocatorRefusesWhatIsNotADatabase(t *testing.T) {
	if _, err := clientcontext.OpenLocator(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Fatal("a missing file opened")
	}
	junk := filepath.Join(t.TempDir(), "junk.mmdb")
	if err := os.WriteFile(junk, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := clientcontext.OpenLocator(junk); err == nil {
		t.Fatal("a file that is not a MaxMind database opened")
	}
	var nilLocator *clientcontext.Locator
	if nilLocator.Location(geotest.BerlinIP) != "" || nilLocator.Close() != nil {
		t.Fatal("a nil Locator knows a place or fails to close")
	}
}
