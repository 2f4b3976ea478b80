package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clientcontext/geotest"
	"github.com/approvald/approvald/internal/e2e"
)

const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// With GEOIP_DB, a login from Berlin in Firefox on Linux is told to the
// device as such, in the signed push and in the pull listing, and the
// security trail shows the same context. One backend: nothing here
// depends on the storage.
func TestPushContextFromGeoIPDB(t *testing.T) {
	t.Parallel()
	s := startServer(t, e2e.SQLite, map[string]string{"GEOIP_DB": geotest.CityDB(t), "TRUSTED_PROXIES": "127.0.0.1"})
	u := s.SignUp(t)
	at := s.LoginSMS(t, u).Str("access_token")
	dev := s.EnrollDevice(t, at, true) // it pushes, and may pull too

	fromBerlin := []string{"X-Forwarded-For", geotest.BerlinIP, "User-Agent", firefoxOnLinux}
	l := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}, fromBerlin...)
	e2e.Expect(t, l, http.StatusAccepted)

	const want = "near Berlin, Germany · Firefox on Linux"
	if p := dev.NextPush(t); p.ApprovalID != l.Str("approval_id") || p.Context == nil || p.Context.Summary != want {
		t.Fatalf("signed push %+v (context %+v); want the summary %q", p, p.Context, want)
	}
	pending, err := dev.Client.Pending(t.Context())
	if err != nil || len(pending) != 1 || pending[0].Context == nil {
		t.Fatalf("pending: %+v %v", pending, err)
	}
	if c := *pending[0].Context; c.Browser != "Firefox" || c.OS != "Linux" || c.Location != "Berlin, Germany" || c.Summary != want {
		t.Fatalf("push context %+v; want Firefox, Linux, Berlin, Germany and %q", c, want)
	}

	r := s.Get(t, "/api/v1/me/events", e2e.Bearer(at)...)
	e2e.Expect(t, r, http.StatusOK)
	var events struct {
		Events []struct {
			Kind    string            `json:"kind"`
			IP      string            `json:"ip"`
			Context map[string]string `json:"context"`
		} `json:"events"`
	}
	r.Decode(t, &events)
	found := false
	for _, e := range events.Events {
		switch {
		case e.Kind == "login_started" && e.IP == geotest.BerlinIP:
			found = true
			if e.Context["summary"] != want || e.Context["location"] != "Berlin, Germany" {
				t.Fatalf("login_started context %v; want %q", e.Context, want)
			}
		case e.IP == "127.0.0.1" && e.Context["location"] != "":
			t.Fatalf("event %s from loopback has a location: %v", e.Kind, e.Context)
		}
	}
	if !found {
		t.Fatalf("no login_started from %s in %s", geotest.BerlinIP, r.Raw)
	}
}

// A GEOIP_DB that is not a MaxMind database stops serve before it
// listens, naming the setting.
func TestBadGeoIPDBStopsStartUp(t *testing.T) {
	t.Parallel()
	junk := filepath.Join(t.TempDir(), "junk.mmdb")
	if err := os.WriteFile(junk, []byte("not a MaxMind database"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), "missing.mmdb"), junk} {
		env := map[string]string{"ADDR": "127.0.0.1:0", "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "a.db"), "GEOIP_DB": path}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"approvald"}, func(k string) string { return env[k] }, &out, &errOut)
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), "GEOIP_DB: ") || !strings.Contains(err.Error(), path) {
			t.Fatalf("serve with GEOIP_DB=%s: %v; want an error naming GEOIP_DB and the path", path, err)
		}
		if strings.Contains(out.String(), "listening") {
			t.Fatalf("serve listened: %s", out.String())
		}
	}
}
