package browsertest

import (
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// TestMain lets e2e build approvald once for every test of the package and
// remove it after.
func TestMain(m *testing.M) { e2e.Main(m) }
