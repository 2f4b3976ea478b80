// Package authenticator is the device side of approvald's push protocol
// (the device endpoints of the HTTP API): enrolling a key pair,
// verifying the server's signed pushes, answering them with signed
// callbacks, listing pending approvals (pull mode) and making TOTP codes.
// The CLI authenticator, the load harness and the browser tests all use it.
package authenticator

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/signing"
)

// State is everything a device keeps: its identity on one server, its
// private key and its TOTP secret. It is a secret as a whole.
type State struct {
	Server          string             // the server's base URL, without a trailing slash
	DeviceID        string             // dev_…
	PrivateKey      ed25519.PrivateKey // signs the device's requests
	TOTPSecret      string             // base32, as the server returned it
	ServerPublicKey ed25519.PublicKey  // verifies the server's pushes (the pin)
	// PreviousServerKey is the pin before the server rotated its push key
	// (LearnServerKey): it verifies pushes until the new key signs one.
	PreviousServerKey ed25519.PublicKey
	PushURL           string // "" for a device that pulls
	// ListenAddr is where the CLI serves PushURL (set by enroll --listen);
	// not part of the protocol.
	ListenAddr string
	// Pending is a key made and kept but not registered yet (NewPending):
	// it has no device id, TOTP secret or server key, and Load refuses it.
	Pending bool
}

// ErrPending is Load's answer for a state whose registration did not
// finish.
var ErrPending = errors.New("the device's enrollment did not finish: enroll again")

// stateFile is State on disk: keys in unpadded base64url, like the wire.
type stateFile struct {
	Server          string `json:"server"`
	DeviceID        string `json:"device_id"`
	PrivateKey      string `json:"private_key"` // the 32-byte seed
	TOTPSecret      string `json:"totp_secret"`
	ServerPublicKey string `json:"server_public_key"`
	// PreviousServerKey is absent but during a push key rotation.
	PreviousServerKey string `json:"previous_server_public_key,omitempty"`
	PushURL           string `json:"push_url,omitempty"`
	ListenAddr        string `json:"listen_addr,omitempty"`
	// Pending marks a key not registered yet; absent in a registered
	// device's file (and in files written before it existed).
	Pending bool `json:"pending,omitempty"`
}

// CallbackURL is where this device's server takes decisions; a push must
// name exactly this URL.
func (s *State) CallbackURL() string {
	return s.Server + "/api/v1/callbacks/approval"
}

// Save writes s to path as JSON readable only by its owner. It writes a
// temporary file beside path and renames it, so a crash never leaves a
// half-written key file. A pending state is saved too: its key must be on
// disk before the server knows it.
func (s *State) Save(path string) error {
	check := s.check
	if s.Pending {
		check = s.checkPending
	}
	if err := check(); err != nil {
		return err
	}
	sf := stateFile{
		Server:     s.Server,
		DeviceID:   s.DeviceID,
		PrivateKey: base64.RawURLEncoding.EncodeToString(s.PrivateKey.Seed()),
		TOTPSecret: s.TOTPSecret,
		PushURL:    s.PushURL,
		ListenAddr: s.ListenAddr,
		Pending:    s.Pending,
	}
	pin, previous := s.serverKeys()
	if pin != nil {
		sf.ServerPublicKey = base64.RawURLEncoding.EncodeToString(pin)
	}
	if previous != nil {
		sf.PreviousServerKey = base64.RawURLEncoding.EncodeToString(previous)
	}
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	// CreateTemp makes the file 0600 from the start: the key is never
	// readable by others, not even for a moment.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving the authenticator state: %w", err)
	}
	return nil
}

// Load reads a registered device's State written by Save: a pending one
// is ErrPending. It refuses a file that group or others may read or write:
// a key anyone else could have copied is not a second factor.
func Load(path string) (*State, error) {
	s, err := ReadState(path)
	if err != nil {
		return nil, err
	}
	if s.Pending {
		return nil, fmt.Errorf("%s: %w", path, ErrPending)
	}
	return s, nil
}

// ReadState is Load, which also returns a pending state.
func ReadState(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the authenticator state: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the authenticator state: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by others (mode %04o); run chmod 600 %s, or enroll again if someone may have copied it", path, perm, path)
	}
	var sf stateFile
	dec := json.NewDecoder(f)
	if err := dec.Decode(&sf); err != nil {
		return nil, fmt.Errorf("%s is not an authenticator state file: %w", path, err)
	}
	seed, err := signing.DecodeB64(sf.PrivateKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: private_key is not a base64url Ed25519 seed", path)
	}
	s := &State{
		Server:     sf.Server,
		DeviceID:   sf.DeviceID,
		PrivateKey: ed25519.NewKeyFromSeed(seed),
		TOTPSecret: sf.TOTPSecret,
		PushURL:    sf.PushURL,
		ListenAddr: sf.ListenAddr,
		Pending:    sf.Pending,
	}
	if s.Pending {
		if err := s.checkPending(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	}
	if s.ServerPublicKey, err = decodePublicKey(sf.ServerPublicKey); err != nil {
		return nil, fmt.Errorf("%s: server_public_key: %w", path, err)
	}
	if sf.PreviousServerKey != "" {
		if s.PreviousServerKey, err = decodePublicKey(sf.PreviousServerKey); err != nil {
			return nil, fmt.Errorf("%s: previous_server_public_key: %w", path, err)
		}
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// checkPending reports what a pending state cannot lack, or what it must
// not have yet.
func (s *State) checkPending() error {
	switch {
	case s.Server == "" || strings.HasSuffix(s.Server, "/"):
		return errors.New("the state's server URL is empty or ends in a slash")
	case len(s.PrivateKey) != ed25519.PrivateKeySize:
		return errors.New("the state's private key is not an Ed25519 key")
	case s.DeviceID != "" || s.TOTPSecret != "":
		return errors.New("a pending state has a device id or TOTP secret")
	}
	return nil
}

// check reports the first field of s that a working device cannot lack.
func (s *State) check() error {
	switch {
	case s.Server == "" || strings.HasSuffix(s.Server, "/"):
		return errors.New("the state's server URL is empty or ends in a slash")
	case s.DeviceID == "":
		return errors.New("the state has no device id")
	case len(s.PrivateKey) != ed25519.PrivateKeySize:
		return errors.New("the state's private key is not an Ed25519 key")
	case len(s.pinned()) != ed25519.PublicKeySize:
		return errors.New("the state's server public key is not an Ed25519 key")
	}
	if _, err := otp.DecodeSecret(s.TOTPSecret); err != nil {
		return errors.New("the state's TOTP secret is not base32")
	}
	return nil
}

func decodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := signing.DecodeB64(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not the base64url of a 32-byte Ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}
