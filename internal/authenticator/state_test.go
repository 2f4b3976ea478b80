package authenticator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	f := newPushFixture(t)
	f.state.PushURL, f.state.ListenAddr = "http://127.0.0.1:9300/push", "127.0.0.1:9300"
	path := filepath.Join(t.TempDir(), "state.json")
	if err := f.state.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("state file mode = %04o, want 0600", perm)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Server != f.state.Server || got.DeviceID != f.state.DeviceID || !got.PrivateKey.Equal(f.state.PrivateKey) ||
		got.TOTPSecret != f.state.TOTPSecret || !got.ServerPublicKey.Equal(f.state.ServerPublicKey) ||
		got.PushURL != f.state.PushURL || got.ListenAddr != f.state.ListenAddr {
		t.Fatalf("Load = %+v, want %+v", got, f.state)
	}
	// The same TOTP code from both: the secret survived byte for byte.
	now := time.Now()
	a, _ := NewClient(f.state).Code(now)
	b, _ := NewClient(got).Code(now)
	if a != b {
		t.Fatal("TOTP codes differ after a round trip")
	}
}

func TestSaveReplacesAtomically(t *testing.T) {
	f := newPushFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.state.Save(path); err != nil {
		t.Fatalf("Save over an existing file: %v", err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("replaced file mode = %04o, want 0600", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after Save, want only the state file", len(entries))
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("Load after replace: %v", err)
	}
	// A failed save leaves the old file alone.
	broken := *f.state
	broken.DeviceID = ""
	if err := broken.Save(path); err == nil {
		t.Fatal("Save of a state without a device id succeeded")
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("the old state was damaged by a failed save: %v", err)
	}
}

func TestLoadRefusesFilesOthersCanRead(t *testing.T) {
	f := newPushFixture(t)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := f.state.Save(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o606} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("Load of a %04o file = %v, want a refusal that says how to fix it", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("Load of a 0400 file: %v", err)
	}
}

func TestLoadRefusesBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":      "hello",
		"empty object":  "{}",
		"short seed":    `{"server":"https://x","device_id":"dev_1","private_key":"AAAA","totp_secret":"GEZDGNBV","server_public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		"no server key": `{"server":"https://x","device_id":"dev_1","private_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","totp_secret":"GEZDGNBV"}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://login.example.com":      "https://login.example.com",
		"https://login.example.com/":     "https://login.example.com",
		"http://127.0.0.1:8080/auth/":    "http://127.0.0.1:8080/auth",
		"https://login.example.com/auth": "https://login.example.com/auth",
	} {
		if got, err := NormalizeServer(in); err != nil || got != want {
			t.Errorf("NormalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "login.example.com", "ftp://x", "https://u:p@x", "https://x/?a=1", "https://x/#f"} {
		if _, err := NormalizeServer(in); err == nil {
			t.Errorf("NormalizeServer(%q) accepted", in)
		}
	}
}
