package webpush

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// VAPIDTokenLife is how long a VAPID token is valid: RFC 8292 §2 allows at
// most 24 hours; push services cache tokens, so half of that.
const VAPIDTokenLife = 12 * time.Hour

// PublicKey is the VAPID key's public half as devices subscribe with it
// (applicationServerKey) and as the k parameter carries it: the base64url
// of its uncompressed point.
func PublicKey(key *ecdsa.PrivateKey) (string, error) {
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		return "", err
	}
	if pub.Curve() != ecdh.P256() {
		return "", errors.New("webpush: the VAPID key is not P-256")
	}
	return base64.RawURLEncoding.EncodeToString(pub.Bytes()), nil
}

// Origin is the audience of a VAPID token for an endpoint: its scheme and
// host (with the port if any), as RFC 8292 §2 says.
func Origin(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("webpush: endpoint is not an absolute URL")
	}
	return u.Scheme + "://" + u.Host, nil
}

// vapidToken is the ES256 JWT of RFC 8292 §2 for audience aud.
func vapidToken(key *ecdsa.PrivateKey, aud, sub string, now time.Time) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub,omitempty"`
	}{aud, now.Add(VAPIDTokenLife).Unix(), sub})
	if err != nil {
		return "", err
	}
	signed := header + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64) // JWS: r and s, 32 bytes each
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
