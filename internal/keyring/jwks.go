package keyring

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// jwk is one public key: Ed25519 in RFC 8037 form (crv, x), RSA in RFC 7518
// form (n, e), ECDSA P-256 in RFC 7518 form (crv, x, y). The field order is the order clients see.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// JWKS returns the body of /.well-known/jwks.json: every key that verifies
// now (a rotated-in key before it signs), the active one first.
func (r *Ring) JWKS() []byte {
	set := jwkSet{Keys: []jwk{}}
	for _, k := range r.verifying(r.clock.Now()) {
		set.Keys = append(set.Keys, toJWK(k))
	}
	body, err := json.Marshal(set)
	if err != nil {
		// Only strings are marshalled; this cannot happen.
		panic("keyring: marshal jwks: " + err.Error())
	}
	return body
}

func toJWK(k *ringKey) jwk {
	b64 := base64.RawURLEncoding.EncodeToString
	j := jwk{Kid: k.kid, Alg: k.alg, Use: "sig"}
	switch pub := k.public.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	case *ecdsa.PublicKey:
		// x and y are 32 octets each, zero-padded (RFC 7518 §6.2.1.2): the
		// uncompressed point 0x04 || x || y.
		if point, err := pub.Bytes(); err == nil && len(point) == 65 {
			j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(point[1:33]), b64(point[33:])
		}
	case *rsa.PublicKey:
		// Unsigned big-endian, no leading zero octets (RFC 7518 §6.3.1).
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return j
}
