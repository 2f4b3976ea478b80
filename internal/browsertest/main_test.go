package browsertest

import (
	"fmt"
	"os"
	"testing"

	"github.com/approvald/approvald/internal/authenticator/authtest"
)

// serverBin is approvald, built once for every test of the package.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "approvald-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, err = authtest.BuildServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
