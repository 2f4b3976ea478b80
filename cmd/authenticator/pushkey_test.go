package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
)

// TestPendingLearnsTheRotatedPushKey: after `approvald rotate-key --push`,
// the CLI's pull answer announces the new key under the pinned one; the CLI
// pins it, keeps the old one beside it, says so and saves both.
func TestPendingLearnsTheRotatedPushKey(t *testing.T) {
	s := e2e.Start(t, e2e.Options{Env: map[string]string{"KEY_RELOAD_INTERVAL": "100ms"}})
	_, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--state", state)
	before, err := authenticator.Load(state)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(e2e.Binary(t), "rotate-key", "--push")
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rotate-key --push: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`new push key (\S+):`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("rotate-key --push said %q", out)
	}
	newKID := string(m[1])

	deadline := time.Now().Add(10 * time.Second)
	for {
		r := cli(t.Context(), "", "pending", "--state", state)
		if r.err != nil {
			t.Fatalf("pending: %v\n%s", r.err, r.stderr)
		}
		if strings.Contains(r.stderr, "The server's push key is now "+newKID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending did not learn the new push key in 10 s; stderr %q", r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after, err := authenticator.Load(state)
	if err != nil {
		t.Fatal(err)
	}
	if after.ServerKeyID() != newKID || !after.PreviousServerKey.Equal(before.ServerPublicKey) {
		t.Fatalf("saved pin %s (previous %x), want %s and the old key", after.ServerKeyID(), after.PreviousServerKey, newKID)
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file after the update: %v, %v", info, err)
	}
}
