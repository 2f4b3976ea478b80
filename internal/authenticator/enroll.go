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
)

// Enroll makes a new Ed25519 key pair and registers it with server (the
// base URL, with any path prefix) using a one-time enrollment code from the
// user's account page. pushURL is where the server will push approvals; ""
// makes a device that pulls. The returned State holds the private key and
// the TOTP secret: save it (State.Save), the server never shows them again.
func Enroll(ctx context.Context, server, enrollmentCode, name, pushURL string) (*State, error) {
	server, err := NormalizeServer(server)
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(struct {
		EnrollmentCode string `json:"enrollment_code"`
		Name           string `json:"name"`
		PublicKey      string `json:"public_key"`
		PushURL        string `json:"push_url,omitempty"`
	}{enrollmentCode, name, base64.RawURLEncoding.EncodeToString(pub), pushURL})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := newRequest(ctx, http.MethodPost, server, "/api/v1/devices", body)
	if err != nil {
		return nil, err
	}
	var answer struct {
		DeviceID        string `json:"device_id"`
		TOTPSecret      string `json:"totp_secret"`
		ServerPublicKey string `json:"server_public_key"`
	}
	if err := do(defaultHTTP, req, &answer); err != nil {
		return nil, err
	}
	serverKey, err := decodePublicKey(answer.ServerPublicKey)
	if err != nil {
		return nil, fmt.Errorf("the server's server_public_key is %w", err)
	}
	s := &State{
		Server:          server,
		DeviceID:        answer.DeviceID,
		PrivateKey:      priv,
		TOTPSecret:      answer.TOTPSecret,
		ServerPublicKey: serverKey,
		PushURL:         pushURL,
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("the server's enrollment answer is incomplete: %w", err)
	}
	return s, nil
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
