package browsertest

import (
	"testing"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/testenv"
)

// setPasswordless picks mode in the account page's passwordless select.
func (b *browser) setPasswordless(mode string) {
	b.t.Helper()
	var done bool
	b.eval(`(() => { const s = document.getElementById("passwordless"); s.value = "`+mode+`";
		s.dispatchEvent(new Event("change")); return true; })()`, &done)
	b.waitJS(`document.getElementById("account-status").textContent.includes("Passwordless sign-in is")`, "the passwordless notice")
}

// continueWithout submits the login form with phone and no password.
func (b *browser) continueWithout(phone string) {
	b.t.Helper()
	b.click("#logout")
	b.waitView("login")
	b.fill("#login-id", phone)
	b.fill("#login-password", "")
	b.click("#login-submit")
}

// wantPasswordlessModal checks the view every passwordless login gets.
func (b *browser) wantPasswordlessModal() {
	b.t.Helper()
	b.waitText("#approval-title", "Check your phone")
	b.waitJS(`!document.getElementById("approval-password-form").hidden`, "the password beside the approval")
	b.waitJS(`document.getElementById("totp-button").hidden`, "no authenticator code offered")
}

func TestPasswordlessPushInTheBrowser(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.logIn(u)
	n := b.matchNumber()
	phone.MustDecide(t, phone.NextPush(t).ApprovalID, true, n, false)
	b.expectAccount(u)
	b.waitJS(`document.querySelector('#passwordless option[value="sms"]').hidden`, "no SMS choice without PASSWORDLESS_SMS")
	b.setPasswordless("push")

	// Continue without a password: the phone is asked, and says so.
	b.continueWithout(u.Phone)
	b.wantPasswordlessModal()
	b.waitJS(`document.getElementById("sms-button").hidden`, "no SMS for a passwordless push")
	n = b.matchNumber()
	push := phone.NextPush(t)
	if !push.Passwordless || push.Message != approval.PasswordlessMessage {
		t.Fatalf("push %+v; want it to say no password was given", push)
	}
	b.snapshot("-passwordless")
	phone.MustDecide(t, push.ApprovalID, true, n, false)
	b.expectAccount(u)

	// An unknown number gets the same view; the password beside it is the
	// other way in (here: u's own, after the placeholder of another number).
	b.continueWithout(testenv.RandomPhone())
	b.wantPasswordlessModal()
	b.matchNumber()
	b.click("#restart-button")
	b.fill("#login-id", u.Phone)
	b.click("#login-submit")
	b.wantPasswordlessModal()
	phone.NextPush(t) // the passwordless push, left unanswered
	b.fill("#approval-password", u.Password)
	b.click("#approval-password-submit")
	b.waitText("#approval-title", "Approve this login")
	n = b.matchNumber()
	push = phone.NextPush(t)
	if push.Passwordless {
		t.Fatal("a password login's push says passwordless")
	}
	phone.MustDecide(t, push.ApprovalID, true, n, false)
	b.expectAccount(u)
}

func TestPasswordlessSMSInTheBrowser(t *testing.T) {
	t.Parallel()
	e := startSite(t, "PASSWORDLESS_SMS=true")
	u := e.SignUp(t)
	b := openBrowser(t, e.URL)
	b.logInWithSMS(e, u)
	b.waitJS(`!document.querySelector('#passwordless option[value="sms"]').hidden`, "the SMS choice with PASSWORDLESS_SMS")
	b.setPasswordless("sms")

	b.continueWithout(u.Phone)
	b.wantPasswordlessModal()
	b.waitStatus("fallback") // the code form
	b.fill("#code", e.SMS.NextCode(t, u.Phone))
	b.click("#code-submit")
	b.expectAccount(u)
}
