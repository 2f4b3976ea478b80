package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/golang-jwt/jwt/v5"
)

func TestIssueAndAuthenticateRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	authTime := f.clock.Now().Add(-5 * time.Second)
	userID := core.NewID(core.PrefixUser)
	pair, err := f.svc.Issue(ctx, userID, []string{"pwd", "push"}, authTime)
	if err != nil {
		t.Fatal(err)
	}
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 600 {
		t.Errorf("pair type %q, expires_in %d; want Bearer, 600", pair.TokenType, pair.ExpiresIn)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(pair.RefreshToken); err != nil || len(raw) != 32 {
		t.Errorf("refresh token is not 32 bytes of base64url (%d bytes, %v)", len(raw), err)
	}

	claims, err := f.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if claims.UserID != userID || !core.HasPrefix(claims.SessionID, core.PrefixSession) {
		t.Errorf("claims = %+v", claims)
	}
	if !slices.Equal(claims.AMR, []string{"pwd", "push"}) || !claims.AuthTime.Equal(authTime) {
		t.Errorf("amr %v auth_time %v; want [pwd push] %v", claims.AMR, claims.AuthTime, authTime)
	}
	if !claims.ExpiresAt.Equal(f.clock.Now().Add(10 * time.Minute)) {
		t.Errorf("exp = %v, want now + 10m", claims.ExpiresAt)
	}
	s, err := f.store.Session(ctx, claims.SessionID)
	if err != nil || s.UserID != userID || !s.ExpiresAt.Equal(f.clock.Now().Add(90*24*time.Hour)) {
		t.Errorf("stored session %+v (%v), want the user's, ending in 90 days", s, err)
	}
}

func TestAccessTokenWireFormat(t *testing.T) {
	f := newFixture(t)
	userID, pair := f.issue(t, "pwd", "sms")
	header, payload := decodeSegments(t, pair.AccessToken)
	kid, _ := f.keys.Active()
	if header["alg"] != "EdDSA" || header["typ"] != "at+jwt" || header["kid"] != kid {
		t.Errorf("header = %v", header)
	}
	now := float64(f.clock.Now().Unix())
	want := map[string]any{
		"iss": testIssuer, "aud": "approvald", "sub": userID,
		"iat": now, "exp": now + 600, "auth_time": now, "amr": []any{"pwd", "sms"},
	}
	for k, v := range want {
		got, _ := json.Marshal(payload[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("claim %s = %s, want %s", k, got, exp)
		}
	}
	for _, k := range []string{"sid", "jti"} {
		if s, _ := payload[k].(string); s == "" {
			t.Errorf("claim %s missing", k)
		}
	}
	_, other := f.issue(t, "pwd")
	_, otherPayload := decodeSegments(t, other.AccessToken)
	if otherPayload["jti"] == payload["jti"] {
		t.Error("two tokens share a jti")
	}
}

func TestAuthenticateRejects(t *testing.T) {
	f := newFixture(t)
	userID, pair := f.issue(t, "pwd", "push")
	genuine := decodeClaims(t, pair.AccessToken)
	kid, key := f.keys.Active()
	pub := key.Public().(ed25519.PublicKey)
	header := map[string]any{"kid": kid, "typ": "at+jwt"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for ck, cv := range genuine {
			c[ck] = cv
		}
		c[k] = v
		return c
	}
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)

	cases := map[string]string{
		"alg none":                        forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, header, genuine),
		"HS256 keyed with the public key": forge(t, jwt.SigningMethodHS256, []byte(pub), header, genuine),
		"tampered payload":                tamper(t, pair.AccessToken, "sub", core.NewID(core.PrefixUser)),
		"unknown kid":                     forge(t, jwt.SigningMethodEdDSA, strangerKey, map[string]any{"kid": "unknown", "typ": "at+jwt"}, genuine),
		"stranger's key with our kid":     forge(t, jwt.SigningMethodEdDSA, strangerKey, header, genuine),
		"missing kid":                     forge(t, jwt.SigningMethodEdDSA, key, map[string]any{"typ": "at+jwt"}, genuine),
		"wrong iss":                       forge(t, jwt.SigningMethodEdDSA, key, header, with("iss", "https://evil.example.com")),
		"wrong aud":                       forge(t, jwt.SigningMethodEdDSA, key, header, with("aud", "someone-else")),
		"missing exp":                     forge(t, jwt.SigningMethodEdDSA, key, header, with("exp", nil)),
		"missing sid":                     forge(t, jwt.SigningMethodEdDSA, key, header, with("sid", nil)),
		"unknown sid":                     forge(t, jwt.SigningMethodEdDSA, key, header, with("sid", core.NewID(core.PrefixSession))),
		"sub of another user":             forge(t, jwt.SigningMethodEdDSA, key, header, with("sub", core.NewID(core.PrefixUser))),
		"iat in the future":               forge(t, jwt.SigningMethodEdDSA, key, header, with("iat", f.clock.Now().Add(time.Hour).Unix())),
		"wrong typ":                       forge(t, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid, "typ": "JWT"}, genuine),
		"missing typ":                     forge(t, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, genuine),
		"empty":                           "",
		"garbage":                         "not.a.jwt",
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Authenticate(context.Background(), token)
			wantCode(t, err, core.EUnauthorized)
		})
	}

	// The forging helper itself makes acceptable tokens, so each case above
	// fails for its own reason.
	good := forge(t, jwt.SigningMethodEdDSA, key, header, genuine)
	if claims, err := f.svc.Authenticate(context.Background(), good); err != nil || claims.UserID != userID {
		t.Fatalf("a token forged with the real key and genuine claims: %v", err)
	}
}

func TestAuthenticateRejectsAnotherIssuersToken(t *testing.T) {
	f := newFixture(t)
	other, err := NewService(Config{Issuer: "https://other.example.com"}, f.keys, f.store, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := other.Issue(context.Background(), core.NewID(core.PrefixUser), []string{"pwd"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(context.Background(), pair.AccessToken)
	wantCode(t, err, core.EUnauthorized)
}

func TestAuthenticateRejectsExpiredToken(t *testing.T) {
	f := newFixture(t)
	_, pair := f.issue(t, "pwd")
	f.clock.Advance(10*time.Minute - time.Second)
	if _, err := f.svc.Authenticate(context.Background(), pair.AccessToken); err != nil {
		t.Fatalf("a second before exp: %v", err)
	}
	f.clock.Advance(time.Second)
	_, err := f.svc.Authenticate(context.Background(), pair.AccessToken)
	wantCode(t, err, core.EUnauthorized)
}

func TestAuthenticateRejectsRevokedSessionAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, pair := f.issue(t, "pwd")
	claims, err := f.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, claims.SessionID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, pair.AccessToken)
	wantCode(t, err, core.EUnauthorized)
}

func TestAuthenticateAcceptsRecentlyRetiredKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, pair := f.issue(t, "pwd")
	// Rotate the key (signing at once) and start a new instance with it.
	kid, _ := f.keys.Active()
	if _, err := keyring.RotateKey(ctx, f.keyDB, core.KeyJWT, f.clock.Now(), 0); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Load(ctx, f.keyDB, core.KeyJWT, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	if newKID, _ := ring.Active(); newKID == kid {
		t.Fatal("the retired key is still active")
	}
	svc, err := NewService(Config{Issuer: testIssuer}, ring, f.store, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("a token of the just-retired key: %v", err)
	}
}

// forge signs claims with header fields added, as an attacker (or a buggy
// issuer) might.
func forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	delete(token.Header, "typ")
	for k, v := range header {
		token.Header[k] = v
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatalf("forge %s: %v", method.Alg(), err)
	}
	return signed
}

// tamper replaces one claim of a signed token and keeps its signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload := decodeClaims(t, token)
	payload[claim] = value
	body, _ := json.Marshal(payload)
	parts[1] = base64.RawURLEncoding.EncodeToString(body)
	return strings.Join(parts, ".")
}

func decodeClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	_, payload := decodeSegments(t, token)
	return payload
}

func decodeSegments(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}
