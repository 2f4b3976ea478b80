package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The approvald binary of a test binary: built on first use into a
// directory that Main removes when the tests end.
var built struct {
	dir  string // set by Main before the tests run
	once sync.Once
	path string
	err  error
}

// Main runs a package's tests; call it from TestMain in every package that
// starts approvald as a process:
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
//
// Binary builds approvald at most once, when a test first needs it, into a
// temporary directory that Main removes after the tests; then Main exits
// with their status.
func Main(m interface{ Run() int }) {
	os.Exit(runMain(m))
}

func runMain(m interface{ Run() int }) int {
	dir, err := os.MkdirTemp("", "approvald-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	built.dir = dir
	return m.Run()
}

// Binary returns the path of cmd/approvald built from this module, building
// it on first use (see Main).
func Binary(tb TB) string {
	tb.Helper()
	if built.dir == "" {
		tb.Fatalf("e2e: approvald is built once per test binary into a directory e2e.Main removes: call e2e.Main from the package's TestMain")
	}
	built.once.Do(func() { built.path, built.err = buildApprovald(built.dir) })
	if built.err != nil {
		tb.Fatalf("e2e: %v", built.err)
	}
	return built.path
}

// buildApprovald compiles cmd/approvald of the module the test runs in
// into dir.
func buildApprovald(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build approvald: %w", err)
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the approvald module")
	}
	bin := filepath.Join(dir, "approvald")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/approvald")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/approvald: %w\n%s", err, out)
	}
	return bin, nil
}
