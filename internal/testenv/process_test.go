package testenv

import (
	"os/exec"
	"strconv"
	"testing"
)

// TestStartOnFreePortRetries: a program that found its port taken (as
// nginx and Go say it) is started again on another port; one that failed
// for another reason is not.
func TestStartOnFreePortRetries(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	var ports []int
	addr := startOnFreePort(t, "sh", func(port int) *exec.Cmd {
		ports = append(ports, port)
		switch len(ports) {
		case 1:
			return exec.Command("sh", "-c", "echo 'bind() to 127.0.0.1:"+strconv.Itoa(port)+" failed (98: Address already in use)' >&2; exit 1")
		case 2:
			return exec.Command("sh", "-c", "echo 'listen tcp 127.0.0.1:"+strconv.Itoa(port)+": bind: address already in use' >&2; exit 1")
		}
		return exec.Command("sleep", "60")
	}, func(string) bool { return len(ports) == 3 })
	if len(ports) != 3 || addr != "127.0.0.1:"+strconv.Itoa(ports[2]) {
		t.Errorf("started on %v and returned %s, want three starts and the last port", ports, addr)
	}

	if lostPort("bind() to 127.0.0.1:1 failed (98: Address already in use)", "127.0.0.1:2") {
		t.Errorf("another port taken counts as losing ours")
	}
	if lostPort("[emerg] unknown directive \"bogus\"", "127.0.0.1:2") {
		t.Errorf("a configuration error counts as losing the port")
	}
}
