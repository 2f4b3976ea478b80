package browsertest

import (
	"testing"
)

// TestReauthBanner: a session without a second factor (logged in with the
// password alone, two-factor since turned on) cannot add a device; the
// page says so and leads to a fresh login, after which it can.
func TestReauthBanner(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u := e.SignUp(t)
	b := openBrowser(t, e.URL)

	// Log in with the SMS code, turn two-factor off, log out.
	b.logInWithSMS(e, u)
	b.click("#two-factor")
	b.waitText("#account-status", "Two-factor login is off")
	b.click("#logout")
	b.waitView("login")

	// The password alone logs in now; two-factor goes back on.
	b.logIn(u)
	b.expectAccount(u)
	b.click("#two-factor")
	b.waitText("#account-status", "Two-factor login is on")
	var bannerShown bool
	b.eval(`!document.getElementById("reauth").hidden`, &bannerShown)
	if bannerShown {
		t.Fatal("the reauth banner shows before any refused change")
	}

	// Adding a device needs a second factor this session never proved.
	b.click("#add-device")
	b.waitJS(`!document.getElementById("reauth").hidden`, "the reauth banner")
	var codeShown bool
	b.eval(`document.getElementById("enrollment-code").textContent.length > 0`, &codeShown)
	if codeShown {
		t.Fatal("an enrollment code was shown to a session that must log in again")
	}
	b.snapshot("-reauth")

	// "Log in again" leads to the login page, the phone filled in.
	b.click("#reauth-login")
	b.waitView("login")
	b.waitText("#flash", "Log in again to make that change")
	var phone string
	b.eval(`document.getElementById("login-id").value`, &phone)
	if phone != u.Phone {
		t.Errorf("login page phone %q; want %q", phone, u.Phone)
	}
	b.logInWithSMS(e, u)
	b.click("#add-device")
	b.waitJS(`document.getElementById("enrollment-code").textContent.length >= 22`, "the enrollment code")
	b.eval(`!document.getElementById("reauth").hidden`, &bannerShown)
	if bannerShown {
		t.Error("the reauth banner stays after a fresh login")
	}
}
