package oidcprovider

import (
	"context"
	"crypto"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/keyring"
)

// Keys are the provider's ID-token keys (keyring purpose oidc, RS256).
type Keys interface {
	Signer() (kid, alg string, key crypto.Signer)
	VerificationKeys() []keyring.VerificationKey
}

type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	kid, alg, key := s.keys.Signer()
	return signingKey{kid: kid, alg: jose.SignatureAlgorithm(alg), key: key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	_, alg, _ := s.keys.Signer()
	return []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}, nil
}

// KeySet is the JWKS: every key that verifies now, a rotated-in one before
// it signs and a retired one for its grace period.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	vks := s.keys.VerificationKeys()
	out := make([]op.Key, 0, len(vks))
	for _, k := range vks {
		out = append(out, publicKey{kid: k.KID, alg: jose.SignatureAlgorithm(k.Alg), key: k.Public})
	}
	return out, nil
}
