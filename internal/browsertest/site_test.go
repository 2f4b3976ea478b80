package browsertest

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// startSite runs approvald (the binary e2e builds for the package) on a
// fresh PostgreSQL database and the shared Redis, with SMS going to a local
// inbox; env ("NAME=value") adds or overrides variables.
func startSite(t *testing.T, env ...string) *e2e.Server {
	t.Helper()
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return e2e.Start(t, e2e.Options{Backend: e2e.Postgres, Env: m})
}

// phoneName is the test phone's name, with an apostrophe the pages must
// escape.
const phoneName = "Ada's phone"

// enrollPhone registers a push device for the user with an enrollment code.
func enrollPhone(t *testing.T, e *e2e.Server, code string) *e2e.Device {
	t.Helper()
	return e.Enroll(t, code, e2e.DeviceOptions{Name: phoneName, Push: true})
}

// userWithPhone signs up a user and enrolls a push device for it.
func userWithPhone(t *testing.T, e *e2e.Server) (e2e.User, *e2e.Device) {
	t.Helper()
	u, code := e.UserAndEnrollmentCode(t)
	return u, enrollPhone(t, e, code)
}
