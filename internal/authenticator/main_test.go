package authenticator_test

import (
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// TestMain lets e2e build approvald once for the package and remove it
// after. The protocol flows themselves (push, pull, wrong number, report,
// TOTP) are cmd/approvald's tests, which drive this package's client
// through e2e.Device on both backends; the tests here are about what only
// the client does: its errors, and a server under a path prefix.
func TestMain(m *testing.M) { e2e.Main(m) }
