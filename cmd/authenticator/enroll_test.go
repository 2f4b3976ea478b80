package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/otp"
)

// fakeEnrollServer answers POST /api/v1/devices as approvald does, with
// answer's status, and writes down every request it gets.
type fakeEnrollServer struct {
	URL string

	mu         sync.Mutex
	requests   int
	publicKeys []string
	answer     int
}

func newFakeEnrollServer(t *testing.T) *fakeEnrollServer {
	f := &fakeEnrollServer{answer: http.StatusCreated}
	serverKey, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			PublicKey string `json:"public_key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.requests++
		f.publicKeys = append(f.publicKeys, body.PublicKey)
		status := f.answer
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status != http.StatusCreated {
			_, _ = w.Write([]byte(`{"error":{"code":"invalid_code","message":"the enrollment code is not valid","field":"enrollment_code"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"device_id": "dev_fake", "totp_secret": otp.EncodeSecret(otp.NewTOTPSecret()),
			"server_public_key": base64.RawURLEncoding.EncodeToString(serverKey),
		})
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeEnrollServer) seen() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, append([]string(nil), f.publicKeys...)
}

func (f *fakeEnrollServer) answerWith(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = status
}

// A state file that cannot be written fails enroll before anything reaches
// the server: no device is registered whose key would be lost.
func TestEnrollFailsBeforeRegisteringWhenTheStateCannotBeWritten(t *testing.T) {
	f := newFakeEnrollServer(t)
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, state := range map[string]string{
		"missing directory":     filepath.Join(dir, "missing", "device.json"),
		"a file where a dir is": filepath.Join(notADir, "device.json"),
	} {
		r := cli(t.Context(), "", "enroll", "--server", f.URL, "--code", "code-1", "--state", state)
		if r.err == nil || !strings.Contains(r.err.Error(), "nothing was sent") {
			t.Errorf("%s: enroll = %v, want a failure saying nothing was sent", name, r.err)
		}
	}
	// The default state file in a home directory that does not exist.
	t.Setenv("HOME", filepath.Join(dir, "no-such-home"))
	if r := cli(t.Context(), "", "enroll", "--server", f.URL, "--code", "code-1"); r.err == nil {
		t.Error("enroll into a missing home directory succeeded")
	}
	if n, _ := f.seen(); n != 0 {
		t.Fatalf("the server got %d requests; want none", n)
	}
}

// A registration that fails leaves the key on disk, pending; the next enroll
// registers that same key, and only then is the device usable.
func TestEnrollRetriesWithTheKeptKey(t *testing.T) {
	f := newFakeEnrollServer(t)
	state := filepath.Join(t.TempDir(), "device.json")

	f.answerWith(http.StatusBadRequest)
	r := cli(t.Context(), "", "enroll", "--server", f.URL, "--code", "mistyped", "--state", state)
	if r.err == nil || !strings.Contains(r.err.Error(), "run enroll again") {
		t.Fatalf("enroll with a refused code = %v, want a failure advising a retry", r.err)
	}
	info, err := os.Stat(state)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the pending state file: %v, %v; want one of mode 0600", info, err)
	}
	pending, err := authenticator.ReadState(state)
	if err != nil || !pending.Pending || pending.DeviceID != "" {
		t.Fatalf("the state after a refusal: %+v, %v; want a pending key", pending, err)
	}
	if _, err := authenticator.Load(state); !errors.Is(err, authenticator.ErrPending) {
		t.Fatalf("Load of a pending state = %v, want ErrPending", err)
	}
	if r := cli(t.Context(), "", "code", "--state", state); r.err == nil || !strings.Contains(r.err.Error(), "enroll again") {
		t.Fatalf("code with a pending state = %v, want advice to enroll again", r.err)
	}
	if r := cli(t.Context(), "", "enroll", "--server", "http://elsewhere.example", "--code", "x", "--state", state); r.err == nil ||
		!strings.Contains(r.err.Error(), "unfinished enrollment") {
		t.Fatalf("enroll with another server = %v, want a refusal naming the unfinished enrollment", r.err)
	}

	f.answerWith(http.StatusCreated)
	out := mustCLI(t, "", "enroll", "--server", f.URL, "--code", "right", "--state", state)
	if !strings.Contains(out, "Enrolled as device dev_fake") {
		t.Fatalf("the retry printed %q", out)
	}
	n, keys := f.seen()
	if n != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("requests %d with keys %q; want 2 with the same key", n, keys)
	}
	st, err := authenticator.Load(state)
	if err != nil || st.DeviceID != "dev_fake" || st.Pending {
		t.Fatalf("the state after the retry: %+v, %v", st, err)
	}
	if !st.PrivateKey.Equal(pending.PrivateKey) {
		t.Fatal("the registered key is not the one kept on disk")
	}
	if r := cli(t.Context(), "", "enroll", "--server", f.URL, "--code", "again", "--state", state); r.err == nil ||
		!strings.Contains(r.err.Error(), "already exists") {
		t.Fatalf("enroll over a registered device = %v, want a refusal", r.err)
	}
}
