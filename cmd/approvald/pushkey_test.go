package main

import (
	"context"
	"maps"
	"regexp"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
)

var rotatedPushLine = regexp.MustCompile(`new push key (\S+): announced to devices now, signed by (\S+),`)

// TestRotatePushKey: `approvald rotate-key --push` beside a running
// instance. Pushes stay signed by the old key, which a device enrolled
// before verifies, and announce the new key under it; the push device
// learns it from a push, the pulling one from its pull answer; each says so
// on its next signed request, and once both have, pushes are signed by the
// new key, which the device verifies with its new pin.
func TestRotatePushKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := e2e.LiftedLimits()
		maps.Copy(env, map[string]string{"KEY_RELOAD_INTERVAL": "100ms", "PUSH_KEY_GRACE": "1h", "LIMIT_PUSHES_PER_USER": "1000"})
		s := startServer(t, b, env)
		u, phone := s.UserWithDevice(t, true)
		_, puller := s.UserWithDevice(t, false)
		oldKID := phone.State.ServerKeyID()

		// login pushes one login to the phone, which verifies it, and approves it.
		login := func() {
			t.Helper()
			l := s.StartLogin(t, u)
			if p := phone.NextPush(t); p.ApprovalID != l.ID {
				t.Fatalf("push for %s, want %s", p.ApprovalID, l.ID)
			}
			phone.MustDecide(t, l.ID, true, l.Number, false)
		}
		login()
		if phone.LastKeyID() != oldKID {
			t.Fatalf("the push was signed by %q, the device pins %s", phone.LastKeyID(), oldKID)
		}

		var out, errOut e2e.Buffer
		if err := run(context.Background(), []string{"approvald", "rotate-key", "--push"}, func(k string) string { return s.Env[k] }, &out, &errOut); err != nil {
			t.Fatalf("rotate-key --push: %v\n%s", err, errOut.String())
		}
		m := rotatedPushLine.FindStringSubmatch(out.String())
		if m == nil || m[2] != oldKID || m[1] == oldKID {
			t.Fatalf("rotate-key --push said %q", out.String())
		}
		newKID := m[1]
		if err := run(context.Background(), []string{"approvald", "rotate-key", "--push"}, func(k string) string { return s.Env[k] }, &out, &errOut); err == nil {
			t.Fatal("a second push key rotation under way was accepted")
		}

		// The instance reads the new key within a reload; until every
		// device confirmed it, the old key signs, and the phone, which still
		// pins it, verifies; a push then teaches it the new key.
		deadline := time.Now().Add(10 * time.Second)
		for phone.State.ServerKeyID() != newKID {
			if time.Now().After(deadline) {
				t.Fatal("the phone did not learn the new push key in 10 s")
			}
			login()
			if phone.LastKeyID() != oldKID {
				t.Fatalf("a push was signed by %s before every device confirmed the new key", phone.LastKeyID())
			}
		}
		login() // its callback names the new pin: confirmed
		if phone.LastKeyID() != oldKID {
			t.Fatal("the new key signs while the pulling device has not confirmed it")
		}

		// A device enrolled now pins the key that signs, and learns the new
		// one from the registration answer; its first pull confirms it.
		_, late := s.UserWithDevice(t, false)
		if late.State.ServerKeyID() != newKID || late.State.PreviousServerKey == nil {
			t.Fatalf("a device enrolled during the rotation pins %s (previous key kept: %v), want %s", late.State.ServerKeyID(), late.State.PreviousServerKey != nil, newKID)
		}
		if _, err := late.Client.Pending(t.Context()); err != nil {
			t.Fatal(err)
		}

		// The pulling device learns it from its pull answer, and confirms
		// with the next pull.
		if _, err := puller.Client.Pending(t.Context()); err != nil {
			t.Fatal(err)
		}
		if puller.State.ServerKeyID() != newKID {
			t.Fatalf("the pulling device pins %s after a pull, want %s", puller.State.ServerKeyID(), newKID)
		}
		if _, err := puller.Client.Pending(t.Context()); err != nil {
			t.Fatal(err)
		}

		// Every device confirmed: the new key signs within four reloads,
		// and the phone verifies it with its new pin, dropping the old one.
		for phone.LastKeyID() != newKID {
			if time.Now().After(deadline) {
				t.Fatalf("pushes are still signed by %s after 10 s", phone.LastKeyID())
			}
			time.Sleep(100 * time.Millisecond)
			login()
		}
		if phone.State.PreviousServerKey != nil {
			t.Fatal("the phone still accepts the old key after the new one signed")
		}
		login()
		if phone.LastKeyID() != newKID {
			t.Fatal("the old key signs again")
		}
	})
}
