package main

import (
	"net/http"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// The reproduced burst: 40 wrong passwords for one account sent at once. No
// more are verified than sequential tries would be (10); the rest get the
// 429 a locked account gets, with the same body.
func TestPasswordBurstIsLimited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_LOGIN_DELAY_AFTER": "1000"})
		u := s.SignUp(t)
		answers := map[int][]*e2e.Response{}
		for _, r := range burst(t, s, 40, "/api/v1/login", map[string]any{"phone": u.Phone, "password": "wrong password"}) {
			answers[r.Status] = append(answers[r.Status], r)
		}
		if len(answers[http.StatusUnauthorized]) != 10 || len(answers[http.StatusTooManyRequests]) != 30 {
			t.Fatalf("%d answered 401 and %d 429 (of 40); want 10 and 30", len(answers[http.StatusUnauthorized]), len(answers[http.StatusTooManyRequests]))
		}
		locked := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
		e2e.Expect(t, locked, http.StatusTooManyRequests, "rate_limited")
		for _, r := range answers[http.StatusTooManyRequests] {
			if r.ErrorCode() != "rate_limited" || r.Body["error"].(map[string]any)["message"] != locked.Body["error"].(map[string]any)["message"] {
				t.Fatalf("a refused burst login answered %s; a locked account %s", r.Raw, locked.Raw)
			}
		}
	})
}
