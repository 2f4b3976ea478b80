package authenticator_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
)

func TestErrorsCarryTheServersCode(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})

	_, err := authenticator.Enroll(t.Context(), s.URL, "not-a-code-AAAAAAAAAAAA", "phone", "")
	var apiErr *authenticator.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !core.IsCode(err, core.EInvalidCode) {
		t.Fatalf("Enroll with a bad code = %v, want 400 invalid_code", err)
	}
	if !strings.Contains(err.Error(), "invalid_code") {
		t.Fatalf("error %q does not name the server's code", err)
	}

	_, code := s.UserAndEnrollmentCode(t)
	_, err = authenticator.Enroll(t.Context(), s.URL, code, "phone", "http://192.0.2.1/push")
	if !core.IsCode(err, core.EInvalidPushURL) {
		t.Fatalf("Enroll with a non-loopback http push URL = %v, want invalid_push_url", err)
	}
	st, err := authenticator.Enroll(t.Context(), s.URL, code, "phone", "")
	if err != nil {
		t.Fatalf("Enroll after a refused push URL: %v", err) // a refused request must not spend the code
	}
	c := authenticator.NewClient(st)
	if _, err := c.Decide(t.Context(), "apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", false, nil, false); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("Decide(unknown approval) = %v, want not_found", err)
	}

	// Another key under this device's id: the server refuses the signature.
	forged := *st
	_, otherCode := s.UserAndEnrollmentCode(t)
	other, err := authenticator.Enroll(t.Context(), s.URL, otherCode, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	forged.PrivateKey = other.PrivateKey
	if _, err := authenticator.NewClient(&forged).Pending(t.Context()); !core.IsCode(err, core.EInvalidSignature) {
		t.Fatalf("Pending signed with another key = %v, want invalid_signature", err)
	}

	// A server that is not there is unavailable, quickly.
	gone := *st
	gone.Server = "http://127.0.0.1:1"
	if _, err := authenticator.NewClient(&gone).Pending(t.Context()); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Pending against a closed port = %v, want unavailable", err)
	}
}

// amrOf reads the amr claim of an access token (the signature is the
// server's business; this only looks at what it says).
func amrOf(t *testing.T, jwt string) []string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	return claims.AMR
}
