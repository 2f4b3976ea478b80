package oidcprovider

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"net/url"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
)

// Keys are the provider's ID-token keys of one algorithm: a keyring of
// purpose oidc (RS256), oidc-es256 (ES256) or oidc-eddsa (EdDSA). Its
// Signer's alg says which.
type Keys interface {
	Signer() (kid, alg string, key crypto.Signer)
	VerificationKeys() []keyring.VerificationKey
}

// keyRings are the provider's rings by JWS algorithm, RS256 always among
// them; algs is their order in discovery and the JWKS, RS256 first.
type keyRings struct {
	byAlg map[string]Keys
	algs  []string
}

// newKeyRings checks rings: one per algorithm, each of an algorithm a
// client may ask for (core.IDTokenAlgs), RS256 among them.
func newKeyRings(rings []Keys) (keyRings, error) {
	kr := keyRings{byAlg: map[string]Keys{}}
	for _, r := range rings {
		if r == nil {
			return kr, fmt.Errorf("oidcprovider: a nil key ring")
		}
		_, alg, _ := r.Signer()
		if _, dup := kr.byAlg[alg]; dup {
			return kr, fmt.Errorf("oidcprovider: two key rings sign %s", alg)
		}
		kr.byAlg[alg] = r
	}
	for _, alg := range core.IDTokenAlgs {
		if kr.byAlg[alg] != nil {
			kr.algs = append(kr.algs, alg)
		}
	}
	if len(kr.algs) != len(kr.byAlg) {
		return kr, fmt.Errorf("oidcprovider: a key ring signs an algorithm no client may ask for (want %v)", core.IDTokenAlgs)
	}
	if kr.byAlg[core.IDTokenRS256] == nil {
		return kr, fmt.Errorf("oidcprovider: no RS256 key ring: RS256 is every client's default")
	}
	return kr, nil
}

type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }

// Key is the private key itself (*rsa.PrivateKey, *ecdsa.PrivateKey or
// ed25519.PrivateKey), which go-jose takes by its type: an ES256 JWS holds
// r || s, not the ASN.1 that crypto.Signer would give.
func (k signingKey) Key() any   { return k.key }
func (k signingKey) ID() string { return k.kid }

type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

// tokenClientKey is the context key of the client a token request comes
// from (withTokenClient).
type tokenClientKey struct{}

// withTokenClient puts the id of the client a request to the token
// endpoint names into its context, for SigningKey: op asks for the key
// without saying whose token it signs. The id is the one op goes by: the
// Basic user name (URL-decoded, RFC 6749 §2.3.1) when there is one, else
// the form's client_id. op authenticates that client before it signs
// anything; r.ParseForm here leaves r.Form for op to read.
func withTokenClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oidc/token" {
			next.ServeHTTP(w, r)
			return
		}
		var id string
		if user, _, ok := r.BasicAuth(); ok {
			id, _ = url.QueryUnescape(user)
		} else if r.ParseForm() == nil && len(r.Form["client_id"]) == 1 {
			id = r.Form.Get("client_id")
		}
		if id != "" {
			r = r.WithContext(context.WithValue(r.Context(), tokenClientKey{}, id))
		}
		next.ServeHTTP(w, r)
	})
}

// SigningKey is the key of the algorithm the requesting client asked its ID
// tokens to be signed with (id_token_signed_response_alg), RS256 when the
// request names none. op derives at_hash and c_hash from its algorithm.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := core.IDTokenRS256
	if id, _ := ctx.Value(tokenClientKey{}).(string); id != "" {
		c, err := s.clients.client(ctx, id)
		if err != nil {
			return nil, err
		}
		alg = c.SigningAlg()
	}
	ring := s.keys.byAlg[alg]
	if ring == nil {
		return nil, fmt.Errorf("oidcprovider: no %s key ring for the client's ID tokens", alg)
	}
	kid, signedWith, key := ring.Signer()
	return signingKey{kid: kid, alg: jose.SignatureAlgorithm(signedWith), key: key}, nil
}

// SignatureAlgorithms are the ID-token algorithms offered
// (id_token_signing_alg_values_supported), RS256 first.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	out := make([]jose.SignatureAlgorithm, 0, len(s.keys.algs))
	for _, alg := range s.keys.algs {
		out = append(out, jose.SignatureAlgorithm(alg))
	}
	return out, nil
}

// KeySet is the JWKS: every key of every ring that verifies now, a
// rotated-in one before it signs and a retired one for its grace period.
// It also verifies an id_token_hint, of whichever algorithm.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, alg := range s.keys.algs {
		for _, k := range s.keys.byAlg[alg].VerificationKeys() {
			out = append(out, publicKey{kid: k.KID, alg: jose.SignatureAlgorithm(k.Alg), key: k.Public})
		}
	}
	return out, nil
}
