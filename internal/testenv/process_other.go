//go:build !linux

package testenv

import "os/exec"

// setParentDeathSignal has nothing to set where there is no Pdeathsig.
func setParentDeathSignal(*exec.Cmd) {}
