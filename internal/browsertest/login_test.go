package browsertest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
)

// logIn fills the login form with u's phone and password and submits it.
func (b *browser) logIn(u e2e.User) {
	b.t.Helper()
	b.open("#/login")
	b.waitView("login")
	b.submitLogin(u)
}

// submitLogin fills the login form on the page with u's phone and password
// and submits it.
func (b *browser) submitLogin(u e2e.User) {
	b.t.Helper()
	b.fill("#login-id", u.Phone)
	b.fill("#login-password", u.Password)
	b.click("#login-submit")
}

// logInWithSMS logs in a user without an authenticator app: the password,
// then the code texted at once.
func (b *browser) logInWithSMS(e *e2e.Server, u e2e.User) {
	b.t.Helper()
	b.logIn(u)
	b.waitStatus("fallback")
	b.fill("#code", e.SMS.NextCode(b.t, u.Phone))
	b.click("#code-submit")
	b.expectAccount(u)
}

// matchNumber reads the number the page shows for the user to type.
func (b *browser) matchNumber() int {
	b.t.Helper()
	b.waitJS(`/^\d\d$/.test(document.getElementById("match-number").textContent)`, "the match number")
	n, err := strconv.Atoi(b.text("#match-number"))
	if err != nil || n < 10 || n > 99 {
		b.t.Fatalf("match number %q", b.text("#match-number"))
	}
	return n
}

// expectAccount checks that the login ended on the account page of u, with
// the session kept as designed: the refresh token only in an HttpOnly,
// SameSite=Strict cookie, nothing in web storage.
func (b *browser) expectAccount(u e2e.User) {
	b.t.Helper()
	b.waitView("account")
	b.waitText("#account-phone", u.Phone)
	var open bool
	b.eval(`document.getElementById("approval-modal").open`, &open)
	if open {
		b.t.Error("the approval modal is still open on the account page")
	}
	var storage, visibleCookies string
	b.eval(`JSON.stringify([localStorage, sessionStorage])`, &storage)
	b.eval(`document.cookie`, &visibleCookies)
	if storage != "[{},{}]" || visibleCookies != "" {
		b.t.Errorf("web storage %s and script-visible cookies %q, want none", storage, visibleCookies)
	}
	// Two cookies, both HttpOnly: the refresh token (SameSite=Strict) and
	// the single sign-on cookie (Lax, so an application's redirect back
	// carries it).
	cookies := b.cookies()
	if len(cookies) != 2 {
		b.t.Fatalf("cookies %+v, want the refresh and the single sign-on cookie", cookies)
	}
	for _, c := range cookies {
		switch c.Name {
		case "approvald_refresh":
			if !c.HTTPOnly || string(c.SameSite) != "Strict" || c.Path != "/" || len(c.Value) < 40 {
				b.t.Errorf("refresh cookie: HttpOnly %v, SameSite %q, Path %q, %d characters",
					c.HTTPOnly, c.SameSite, c.Path, len(c.Value))
			}
		case "approvald_sso":
			if !c.HTTPOnly || string(c.SameSite) != "Lax" || c.Path != "/" || !strings.HasPrefix(c.Value, "v1.ses_") {
				b.t.Errorf("single sign-on cookie: HttpOnly %v, SameSite %q, Path %q", c.HTTPOnly, c.SameSite, c.Path)
			}
		default:
			b.t.Errorf("unexpected cookie %s", c.Name)
		}
	}
}

func TestPushApprove(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("pending")
	if got := b.text("#approval-devices"); got != phone.Name {
		t.Errorf("the modal asks to approve on %q, want %q", got, phone.Name)
	}
	n := b.matchNumber()
	b.snapshot("-pending")
	push := phone.NextPush(t)
	if status := phone.MustDecide(t, push.ApprovalID, true, n, false); status != "approved" {
		t.Fatalf("the approve callback answered %q", status)
	}
	b.expectAccount(u)
	if got := b.text("#devices .device-name"); got != phone.Name {
		t.Errorf("device list shows %q, want %q", got, phone.Name)
	}

	// A reload keeps the session: the page renews its access token from the cookie.
	b.open("#/account")
	b.expectAccount(u)
}

func TestPushDeny(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("pending")
	push := phone.NextPush(t)
	if status := phone.MustDecide(t, push.ApprovalID, false, 0, false); status != "denied" {
		t.Fatalf("the deny callback answered %q", status)
	}
	b.waitStatus("denied")
	b.waitText("#approval-status", "denied on your authenticator app")
	if got := b.text("#restart-button"); got != "Start over" {
		t.Errorf("the way out says %q", got)
	}
	var focused string
	b.eval(`document.activeElement.id`, &focused)
	if focused != "restart-button" {
		t.Errorf("focus is on %q, want the Start over button", focused)
	}
	if len(b.cookies()) != 0 {
		t.Error("a denied login left a cookie")
	}
	b.snapshot("-denied")
	b.click("#restart-button")
	b.waitJS(`!document.getElementById("approval-modal").open`, "the modal to close")
	b.waitView("login")
}

func TestPushFailsFallsBackToSMS(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, phone := userWithPhone(t, e)
	phone.FailPushes(true)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("fallback")
	b.waitText("#approval-status", "could not reach your authenticator app")
	if got := b.text("#sms-button"); !strings.HasPrefix(got, "Text me a new code") {
		t.Errorf("SMS button says %q after the code was texted", got)
	}
	b.fill("#code", "000000") // wrong first: the API's answer is shown
	b.click("#code-submit")
	b.waitText("#code-error", "4 attempts left")
	b.snapshot("-wrong-code")
	b.fill("#code", e.SMS.NextCode(t, u.Phone))
	b.click("#code-submit")
	b.expectAccount(u)
}

func TestTOTPCode(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("pending")
	b.click("#totp-button")
	b.waitJS(`!document.getElementById("code-form").hidden`, "the code form")
	code, err := phone.Client.Code(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("#code", code)
	b.click("#code-submit")
	b.expectAccount(u)
}

func TestSMSOnRequest(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, _ := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("pending")
	b.click("#sms-button")
	b.waitStatus("fallback")
	b.waitText("#approval-status", "We texted a code")
	b.waitJS(`document.getElementById("sms-button").disabled`, "the SMS button to wait out its cooldown")
	b.fill("#code", e.SMS.NextCode(t, u.Phone))
	b.click("#code-submit")
	b.expectAccount(u)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := startSite(t, "APPROVAL_TTL=3s")
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	b.waitStatus("pending")
	phone.NextPush(t) // delivered, never answered
	b.waitStatus("expired")
	b.waitText("#approval-status", "expired")
	b.snapshot("-expired")
	b.click("#restart-button")
	b.waitView("login")
}

func TestPushTimeoutThenPhoneApproves(t *testing.T) {
	t.Parallel()
	e := startSite(t, "PUSH_TIMEOUT=1s")
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)
	texts := len(e.SMS.Messages(u.Phone))

	b.logIn(u)
	b.waitStatus("pending")
	n := b.matchNumber()
	push := phone.NextPush(t) // delivered; the user is slow
	b.waitStatus("fallback")
	b.waitText("#approval-status", "did not answer")
	b.waitText("#approval-status", "with the number "+strconv.Itoa(n))
	if got := b.text("#sms-button"); got != "Text me a code" {
		t.Errorf("SMS button says %q before any code was texted", got)
	}
	if got := len(e.SMS.Messages(u.Phone)); got != texts {
		t.Errorf("%d new messages to the phone; push_timeout must not text a code by itself", got-texts)
	}
	b.snapshot("-timeout")
	phone.MustDecide(t, push.ApprovalID, true, n, false) // still allowed after the timeout
	b.expectAccount(u)
}
