package session

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a verified access token says.
type Claims struct {
	UserID    string
	SessionID string
	AMR       []string  // e.g. ["pwd", "push"]
	AuthTime  time.Time // when the user last proved a factor
	IssuedAt  time.Time
	ExpiresAt time.Time
	TokenID   string // jti
}

// accessClaims is the JWT payload of an access token (RFC 9068 style).
type accessClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  audience         `json:"aud"`
	SessionID string           `json:"sid"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	ID        string           `json:"jti"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	AMR       []string         `json:"amr"`
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// Validate requires the claims the library does not know about; the parser
// calls it after the registered-claim checks.
func (c *accessClaims) Validate() error {
	switch {
	case c.Subject == "":
		return errors.New("sub is missing")
	case c.SessionID == "":
		return errors.New("sid is missing")
	case c.IssuedAt == nil:
		return errors.New("iat is missing")
	case c.AuthTime == nil:
		return errors.New("auth_time is missing")
	}
	return nil
}

func (c *accessClaims) public() *Claims {
	return &Claims{
		UserID:    c.Subject,
		SessionID: c.SessionID,
		AMR:       c.AMR,
		AuthTime:  c.AuthTime.Time,
		IssuedAt:  c.IssuedAt.Time,
		ExpiresAt: c.ExpiresAt.Time,
		TokenID:   c.ID,
	}
}

// audience is written as a single string when there is one (the contract
// shows "aud": "approvald"; the library's ClaimStrings would write an array
// unless a global is flipped) and read in either form.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(data []byte) error {
	var strs jwt.ClaimStrings
	if err := strs.UnmarshalJSON(data); err != nil {
		return err
	}
	*a = audience(strs)
	return nil
}
