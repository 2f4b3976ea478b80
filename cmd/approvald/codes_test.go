package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// Code guessing: every code takes its attempt before it is compared, so
// simultaneous guesses get no more comparisons than the limits allow.

// burst sends n copies of one POST at once and returns the answers.
func burst(t *testing.T, s *e2e.Server, n int, path string, body any, headers ...string) []*e2e.Response {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	h := e2e.Pairs(headers)
	answers := make([]*e2e.Response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(raw))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			<-start
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			r := &e2e.Response{Status: res.StatusCode, Header: res.Header}
			r.Raw, errs[i] = io.ReadAll(res.Body)
			if errs[i] == nil && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				errs[i] = json.Unmarshal(r.Raw, &r.Body)
			}
			answers[i] = r
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d of the burst: %v", i, err)
		}
	}
	return answers
}

// tally sorts a burst's answers: the attempts_left of each wrong-code
// answer (sorted), and how many answers had each status and error code.
func tally(t *testing.T, answers []*e2e.Response) (left []int, counts map[string]int) {
	t.Helper()
	counts = map[string]int{}
	for _, r := range answers {
		if r.Status == http.StatusBadRequest && r.ErrorCode() == "invalid_code" {
			n, ok := r.Body["attempts_left"].(float64)
			if !ok {
				t.Fatalf("invalid_code without attempts_left: %s", r.Raw)
			}
			left = append(left, int(n))
		}
		if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %s", r.Raw)
		}
		counts[http.StatusText(r.Status)+" "+r.ErrorCode()]++
	}
	slices.Sort(left)
	return left, counts
}

// countEvents logs u in and counts the entries of kind in u's security
// trail. With fewer than 10 wrong codes counted for u in the hour.
func countEvents(t *testing.T, s *e2e.Server, u e2e.User, kind string) int {
	t.Helper()
	if r := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}); r.Status == http.StatusTooManyRequests {
		t.Fatalf("login refused (%s): 10 or more wrong codes were counted for the user", r.Raw)
	}
	r := s.Get(t, "/api/v1/me/events", e2e.Bearer(s.LoginSMS(t, u).Str("access_token"))...)
	e2e.Expect(t, r, http.StatusOK)
	events, _ := r.Body["events"].([]any)
	n := 0
	for _, e := range events {
		if e.(map[string]any)["kind"] == kind {
			n++
		}
	}
	return n
}

// Forty wrong codes at once for one login: five are compared (the trail
// has five wrong codes), four answer with what is left, the fifth denies
// the login, and every other one is refused without a comparison: locked
// (no attempt left), already decided, or rate limited (the user's hourly
// count was taken by codes still being tried).
func TestWrongCodeBurstOnOneApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		l := s.StartLogin(t, u)
		ws := s.MustWS(t, l)
		ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "sms"})
		code := s.SMS.LastCode(t, u.Phone)
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}

		answers := burst(t, s, 40, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, e2e.Ticket(l.Ticket)...)
		left, counts := tally(t, answers)
		if !slices.Equal(left, []int{1, 2, 3, 4}) || counts["Locked locked"] == 0 {
			t.Fatalf("attempts_left %v, answers %v; want 1..4 once each and at least the 5th locked", left, counts)
		}
		for k := range counts {
			switch k {
			case "Bad Request invalid_code", "Locked locked", "Conflict already_decided", "Too Many Requests rate_limited":
			default:
				t.Fatalf("answers %v: %q is none of the expected", counts, k)
			}
		}
		ws.ExpectFrame(t, map[string]any{"status": "denied", "reason": "too_many_attempts"})
		e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusConflict, "already_decided")
		if n := countEvents(t, s, u, "code_failed"); n != 5 {
			t.Fatalf("%d wrong codes compared, want 5", n)
		}
	})
}

// Forty wrong codes at once for one signup verification: four answer with
// what is left, the rest are locked, and so is the verification.
func TestWrongCodeBurstOnOneVerification(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		phone := testenv.RandomPhone()
		r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
		e2e.Expect(t, r, http.StatusCreated)
		id := r.Str("verification_id")
		code := s.SMS.LastCode(t, phone)
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}

		answers := burst(t, s, 40, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": wrong})
		left, counts := tally(t, answers)
		if !slices.Equal(left, []int{1, 2, 3, 4}) || counts["Locked locked"] != 36 {
			t.Fatalf("attempts_left %v, answers %v; want 1..4 once each and 36 locked", left, counts)
		}
		e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": code}), http.StatusLocked, "locked")
	})
}

// The user's hourly count of wrong codes holds on /verify itself: a login
// started before it was spent gets no code compared, not even the right
// one.
func TestWrongCodesPerUserRefuseVerify(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_WRONG_CODES_PER_USER_PER_HOUR": "3"})
		u := s.SignUp(t)
		first := s.StartLogin(t, u)
		firstCode := s.SMS.LastCode(t, u.Phone)
		second := s.StartLogin(t, u)
		secondCode := s.SMS.LastCode(t, u.Phone)
		wrong := "000000"
		if firstCode == wrong {
			wrong = "000001"
		}
		for left := 4; left > 1; left-- {
			r := s.Post(t, "/api/v1/approvals/"+first.ID+"/verify", map[string]any{"code": wrong}, e2e.Ticket(first.Ticket)...)
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_code")
			if r.Body["attempts_left"] != float64(left) {
				t.Fatalf("attempts_left %v, want %d", r.Body["attempts_left"], left)
			}
		}
		for _, try := range []struct {
			l    e2e.Login
			code string
		}{{second, secondCode}, {first, firstCode}, {first, wrong}} {
			r := s.Post(t, "/api/v1/approvals/"+try.l.ID+"/verify", map[string]any{"code": try.code}, e2e.Ticket(try.l.Ticket)...)
			e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		g := s.Get(t, "/api/v1/approvals/"+second.ID, e2e.Ticket(second.Ticket)...)
		if g.Str("status") != "pending" {
			t.Fatalf("the login refused a code is %s", g.Raw)
		}
	})
}
