package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the JWT header typ of access tokens (RFC 9068), so no
// other JWT signed with the same key passes as one.
const AccessTokenType = "at+jwt"

// maxIssuedAtSkew tolerates an iat slightly ahead of this instance's clock:
// another instance may have issued the token, and iat is truncated to the
// second on a clock that may run a little fast.
const maxIssuedAtSkew = 30 * time.Second

// tokenIDBytes is the randomness of a jti.
const tokenIDBytes = 16

// signAccessToken returns the signed access token of session s.
func (svc *Service) signAccessToken(s *core.Session, now time.Time) (string, error) {
	claims := &accessClaims{
		Issuer:    svc.cfg.Issuer,
		Subject:   s.UserID,
		Audience:  audience{svc.cfg.Audience},
		SessionID: s.ID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(svc.cfg.AccessTTL)),
		ID:        core.NewSecret(tokenIDBytes),
		AuthTime:  jwt.NewNumericDate(s.AuthTime),
		AMR:       s.AMR,
	}
	kid, key := svc.keys.Active()
	token := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	token.Header["kid"] = kid
	token.Header["typ"] = AccessTokenType
	signed, err := token.SignedString(key)
	if err != nil {
		return "", &core.Error{Code: core.EInternal, Message: "internal error", Err: fmt.Errorf("sign access token: %w", err)}
	}
	return signed, nil
}

// verifyAccessToken checks the signature and the claims of an access token,
// not yet its session.
func (svc *Service) verifyAccessToken(bearer string) (*accessClaims, error) {
	claims := &accessClaims{}
	if _, err := svc.parser.ParseWithClaims(bearer, claims, svc.verificationKey); err != nil {
		return nil, err
	}
	if claims.IssuedAt.After(svc.clock.Now().Add(maxIssuedAtSkew)) {
		return nil, jwt.ErrTokenUsedBeforeIssued
	}
	return claims, nil
}

// verificationKey is the parser's Keyfunc: the header must name an access
// token and a key of the keyring that still verifies.
func (svc *Service) verificationKey(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != AccessTokenType {
		return nil, errors.New("typ is not " + AccessTokenType)
	}
	kid, _ := t.Header["kid"].(string)
	key, ok := svc.keys.Public(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

func newParser(cfg Config, clock core.Clock) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(clock.Now),
	)
}
