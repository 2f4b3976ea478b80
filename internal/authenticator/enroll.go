package authenticator

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/approvald/approvald/internal/signing"
)

// Enroll makes a new Ed25519 key pair and registers it with server (the
// base URL, with any path prefix) using a one-time enrollment code from the
// user's account page. pushURL is where the server will push approvals; ""
// makes a device that pulls. The returned State holds the private key and
// the TOTP secret: save it (State.Save), the server never shows them again.
// A program that keeps the state in a file should save NewPending's state
// before Register instead, so that no device is ever registered whose key
// could not be kept.
func Enroll(ctx context.Context, server, enrollmentCode, name, pushURL string) (*State, error) {
	s, err := NewPending(server, pushURL)
	if err != nil {
		return nil, err
	}
	if err := s.Register(ctx, enrollmentCode, name); err != nil {
		return nil, err
	}
	return s, nil
}

// NewPending makes a new Ed25519 key pair for server and returns it as a
// State that is not registered yet (Pending): the first half of Enroll.
func NewPending(server, pushURL string) (*State, error) {
	server, err := NormalizeServer(server)
	if err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &State{Server: server, PrivateKey: priv, PushURL: pushURL, Pending: true}, nil
}

// Register registers the pending state's key with its server using a
// one-time enrollment code, and fills in what the server answers: the
// device id, the TOTP secret and the server's public key. On an error s is
// unchanged and still pending; its key may be registered with another code
// unless the server said key_taken (an earlier attempt registered it).
func (s *State) Register(ctx context.Context, enrollmentCode, name string) error {
	if !s.Pending {
		return errors.New("this device is registered already")
	}
	if err := s.checkPending(); err != nil {
		return err
	}
	pub := s.PrivateKey.Public().(ed25519.PublicKey)
	body, err := json.Marshal(struct {
		EnrollmentCode string `json:"enrollment_code"`
		Name           string `json:"name"`
		PublicKey      string `json:"public_key"`
		PushURL        string `json:"push_url,omitempty"`
	}{enrollmentCode, name, base64.RawURLEncoding.EncodeToString(pub), s.PushURL})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := newRequest(ctx, http.MethodPost, s.Server, "/api/v1/devices", body)
	if err != nil {
		return err
	}
	var answer struct {
		DeviceID        string `json:"device_id"`
		TOTPSecret      string `json:"totp_secret"`
		ServerPublicKey string `json:"server_public_key"`
		// During a push key rotation, the key that replaces it, signed by it.
		NextKey *signing.KeyStatement `json:"next_key"`
	}
	if err := do(defaultHTTP, req, &answer); err != nil {
		return err
	}
	serverKey, err := decodePublicKey(answer.ServerPublicKey)
	if err != nil {
		return fmt.Errorf("the server's server_public_key is %w", err)
	}
	registered := *s
	registered.DeviceID, registered.TOTPSecret, registered.ServerPublicKey = answer.DeviceID, answer.TOTPSecret, serverKey
	registered.Pending = false
	if err := registered.check(); err != nil {
		return fmt.Errorf("the server's enrollment answer is incomplete: %w", err)
	}
	if answer.NextKey != nil {
		if _, err := registered.LearnServerKey(*answer.NextKey); err != nil {
			return fmt.Errorf("the server's enrollment answer: %w", err)
		}
	}
	*s = registered
	return nil
}

// NormalizeServer checks that server is an absolute http(s) base URL and
// drops a trailing slash, so Server + "/api/v1/…" is the URL the server
// itself uses (its PUBLIC_URL) in callback_url.
func NormalizeServer(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("the server must be an absolute http(s) URL such as https://login.example.com")
	}
	return strings.TrimSuffix(server, "/"), nil
}
