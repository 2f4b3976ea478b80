package testenv

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill the program when the test binary
// dies without its Cleanup (a panic, go test's -timeout): nginx and
// oauth2-proxy would otherwise go on listening after the run.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
