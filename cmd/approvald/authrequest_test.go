package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// A login that names an authorization request the provider does not know
// (made up, or expired), on either login endpoint, is 400 invalid_request
// on that field, before the password is checked (a wrong one would be
// 401), and starts nothing.
func TestLoginWithUnknownAuthRequestIsRefused(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	for _, c := range []struct {
		path    string
		headers []string
	}{
		{"/api/v1/login", nil},
		{"/web/login", []string{"X-Approvald-Web", "1"}},
	} {
		for _, password := range []string{u.Password, "wrong password"} {
			r := s.Post(t, c.path, map[string]any{"phone": u.Phone, "password": password, "auth_request": "ar_1"}, c.headers...)
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
			e := r.Body["error"].(map[string]any)
			if e["field"] != "auth_request" || !strings.Contains(e["message"].(string), "unknown or has expired") {
				t.Fatalf("%s: %s; want the refusal of auth_request", c.path, r.Raw)
			}
		}
	}
	// Without it the same login goes on as ever.
	e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}), http.StatusAccepted)
}
