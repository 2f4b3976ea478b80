package webpush

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"net/url"
)

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
