package authenticator_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/authenticator/authtest"
	"github.com/approvald/approvald/internal/core"
)

// TestPushApproveWithMatchNumber is the whole OneTouch flow against a real
// server: enrollment, a login that pushes, the push verified by
// PushHandler, an approve with the browser's number, and the session.
func TestPushApproveWithMatchNumber(t *testing.T) {
	e := authtest.Start(t, approvaldBin)
	pushApproveFlow(t, e)
}

func pushApproveFlow(t *testing.T, e *authtest.Env) {
	u, code := e.NewUserEnrollmentCode()
	d := enrollPushDevice(t, e, code)
	if !strings.HasPrefix(d.State.DeviceID, "dev_") || d.State.Server != e.Server.URL {
		t.Fatalf("enrolled state = device %q server %q", d.State.DeviceID, d.State.Server)
	}

	l := e.Login(u)
	if l.Channel != "push" {
		t.Fatalf("login channel = %q, want push (the user has a device)", l.Channel)
	}
	if l.MatchNumber < 10 || l.MatchNumber > 99 {
		t.Fatalf("match_number = %d, want two digits", l.MatchNumber)
	}
	p := d.nextPush(t)
	if p.ApprovalID != l.ApprovalID || p.DeviceID != d.State.DeviceID || p.CallbackURL != e.Server.URL+"/api/v1/callbacks/approval" {
		t.Fatalf("push = %+v, want approval %s for device %s", p, l.ApprovalID, d.State.DeviceID)
	}
	if !p.ExpiresAt.Equal(l.ExpiresAt) || p.Details.IP == "" || p.Details.Time.IsZero() {
		t.Fatalf("push details = %+v, expires %v; login expires %v", p.Details, p.ExpiresAt, l.ExpiresAt)
	}

	match := l.MatchNumber
	status, err := d.Client.Decide(t.Context(), p.ApprovalID, true, &match, false)
	if err != nil || status != "approved" {
		t.Fatalf("Decide(approve, %d) = %q, %v", match, status, err)
	}
	if a := e.Approval(l); a.Status != "approved" {
		t.Fatalf("approval after approve = %+v", a)
	}
	if amr := amrOf(t, e.Session(l).AccessToken); !slices.Contains(amr, "push") {
		t.Fatalf("amr = %v, want push among them", amr)
	}

	// A decided approval stays decided; the server's code reaches the caller.
	_, err = d.Client.Decide(t.Context(), p.ApprovalID, false, nil, false)
	var apiErr *authenticator.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !core.IsCode(err, core.EAlreadyDecided) {
		t.Fatalf("second Decide = %v, want 409 already_decided", err)
	}
}

func TestWrongNumberDenies(t *testing.T) {
	e := authtest.Start(t, approvaldBin)
	u, code := e.NewUserEnrollmentCode()
	d := enrollPushDevice(t, e, code)
	l := e.Login(u)
	p := d.nextPush(t)

	wrong := 10 + (l.MatchNumber-10+1)%90 // another two-digit number
	status, err := d.Client.Decide(t.Context(), p.ApprovalID, true, &wrong, false)
	if err != nil || status != "denied" {
		t.Fatalf("Decide(approve, wrong number) = %q, %v; want denied", status, err)
	}
	if a := e.Approval(l); a.Status != "denied" || a.Reason != "number_mismatch" {
		t.Fatalf("approval = %+v, want denied number_mismatch", a)
	}
	// No second guess.
	right := l.MatchNumber
	if _, err := d.Client.Decide(t.Context(), p.ApprovalID, true, &right, false); !core.IsCode(err, core.EAlreadyDecided) {
		t.Fatalf("approve after a mismatch = %v, want already_decided", err)
	}
}

// A device without a push_url pulls: Pending lists the login, Decide
// answers it, and TOTP codes from Code pass /verify.
func TestPullModeAndTOTP(t *testing.T) {
	e := authtest.Start(t, approvaldBin)
	u, code := e.NewUserEnrollmentCode()
	st, err := authenticator.Enroll(t.Context(), e.Server.URL+"/", code, "pulling phone", "")
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if st.Server != e.Server.URL || st.PushURL != "" {
		t.Fatalf("state server %q push %q", st.Server, st.PushURL)
	}
	c := authenticator.NewClient(st)

	if list, err := c.Pending(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("Pending before any login = %v, %v; want none", list, err)
	}
	l := e.Login(u)
	if l.Channel != "push" {
		t.Fatalf("login channel = %q, want push", l.Channel)
	}
	list, err := c.Pending(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("Pending = %v, %v; want the login", list, err)
	}
	if p := list[0]; p.ApprovalID != l.ApprovalID || p.DeviceID != st.DeviceID || p.CallbackURL != st.CallbackURL() {
		t.Fatalf("pending = %+v", p)
	}
	if status, err := c.Decide(t.Context(), l.ApprovalID, false, nil, false); err != nil || status != "denied" {
		t.Fatalf("Decide(deny) = %q, %v", status, err)
	}
	if a := e.Approval(l); a.Status != "denied" || a.Reason != "user_denied" {
		t.Fatalf("approval = %+v, want denied user_denied", a)
	}
	if list, err := c.Pending(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("Pending after the decision = %v, %v; want none", list, err)
	}

	l = e.Login(u)
	totp, err := c.Code(time.Now())
	if err != nil || len(totp) != 6 {
		t.Fatalf("Code = %q, %v", totp, err)
	}
	e.Verify(l, totp, http.StatusOK)
	if amr := amrOf(t, e.Session(l).AccessToken); !slices.Contains(amr, "otp") {
		t.Fatalf("amr = %v, want otp among them", amr)
	}
}

// "Not me" denies and pauses pushes: the next login uses SMS.
func TestReportPausesPushes(t *testing.T) {
	e := authtest.Start(t, approvaldBin)
	u, code := e.NewUserEnrollmentCode()
	d := enrollPushDevice(t, e, code)
	l := e.Login(u)
	p := d.nextPush(t)
	if status, err := d.Client.Decide(t.Context(), p.ApprovalID, false, nil, true); err != nil || status != "denied" {
		t.Fatalf("Decide(deny, report) = %q, %v", status, err)
	}
	if a := e.Approval(l); a.Status != "denied" || a.Reason != "reported" {
		t.Fatalf("approval = %+v, want denied reported", a)
	}
	next := e.Login(u)
	if a := e.Approval(next); next.Channel != "sms" || a.Reason != "push_limited" {
		t.Fatalf("login after a report: channel %q, approval %+v; want sms push_limited", next.Channel, a)
	}
}

func TestErrorsCarryTheServersCode(t *testing.T) {
	e := authtest.Start(t, approvaldBin)

	_, err := authenticator.Enroll(t.Context(), e.Server.URL, "not-a-code-AAAAAAAAAAAA", "phone", "")
	var apiErr *authenticator.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !core.IsCode(err, core.EInvalidCode) {
		t.Fatalf("Enroll with a bad code = %v, want 400 invalid_code", err)
	}
	if !strings.Contains(err.Error(), "invalid_code") {
		t.Fatalf("error %q does not name the server's code", err)
	}

	_, code := e.NewUserEnrollmentCode()
	_, err = authenticator.Enroll(t.Context(), e.Server.URL, code, "phone", "http://192.0.2.1/push")
	if !core.IsCode(err, core.EInvalidPushURL) {
		t.Fatalf("Enroll with a non-loopback http push URL = %v, want invalid_push_url", err)
	}
	st, err := authenticator.Enroll(t.Context(), e.Server.URL, code, "phone", "")
	if err != nil {
		t.Fatalf("Enroll after a refused push URL: %v", err) // a refused request must not spend the code
	}
	c := authenticator.NewClient(st)
	if _, err := c.Decide(t.Context(), "apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", false, nil, false); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("Decide(unknown approval) = %v, want not_found", err)
	}

	// Another key under this device's id: the server refuses the signature.
	forged := *st
	other, err := authenticator.Enroll(t.Context(), e.Server.URL, e.EnrollmentCode(e.LoginWithSMS(e.SignUp())), "other", "")
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
