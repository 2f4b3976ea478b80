package keyring

import (
	"encoding/base64"
	"encoding/json"
)

// jwk is one Ed25519 public key in RFC 8037 form; the field order is the
// order clients see.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
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
	now := r.clock.Now()
	active := r.active(now)
	set := jwkSet{Keys: []jwk{toJWK(active)}}
	for _, k := range *r.keys.Load() {
		if k != active && k.verifiesAt(now) {
			set.Keys = append(set.Keys, toJWK(k))
		}
	}
	body, err := json.Marshal(set)
	if err != nil {
		// Only strings are marshalled; this cannot happen.
		panic("keyring: marshal jwks: " + err.Error())
	}
	return body
}

func toJWK(k *ringKey) jwk {
	return jwk{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(k.public),
		Kid: k.kid,
		Alg: "EdDSA",
		Use: "sig",
	}
}
