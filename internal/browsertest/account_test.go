package browsertest

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

func TestAccountPage(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u := e.SignUp(t)
	elsewhere := e.LoginSMS(t, u) // another session, to be logged out from the page
	b := openBrowser(t, e.URL)

	// No device yet: the login falls back to SMS at once, and says why.
	b.logIn(u)
	b.waitStatus("fallback")
	b.waitText("#approval-status", "no authenticator app")
	var totpShown bool
	b.eval(`!document.getElementById("totp-button").hidden`, &totpShown)
	if totpShown {
		t.Error("a user without a device is offered an authenticator code")
	}
	b.fill("#code", e.SMS.NextCode(t, u.Phone))
	b.click("#code-submit")
	b.expectAccount(u)
	if name := b.text("#account-name"); name != "Ada" {
		t.Errorf("name %q", name)
	}
	var twoFactor bool
	b.eval(`document.getElementById("two-factor").checked`, &twoFactor)
	if !twoFactor {
		t.Error("two-factor shows off for a new account")
	}
	b.waitJS(`!document.getElementById("devices-empty").hidden`, "the empty device list")
	// Recent activity shows the login that just happened.
	b.waitJS(`document.querySelector('#activity li[data-kind="approved"]') !== null`, "the approved login in recent activity")
	if act := b.text("#activity"); !strings.Contains(act, "Login approved by sms") {
		t.Errorf("recent activity %q", act)
	}

	// Add a device: the code as text and as a QR code; the list updates itself.
	b.click("#add-device")
	b.waitJS(`document.getElementById("enrollment-code").textContent.length >= 22`, "the enrollment code")
	code := b.text("#enrollment-code")
	var qr string
	b.eval(`document.getElementById("enrollment-qr").src`, &qr)
	pngData, ok := strings.CutPrefix(qr, "data:image/png;base64,")
	raw, err := base64.StdEncoding.DecodeString(pngData)
	if !ok || err != nil {
		t.Fatalf("QR image src %.40q…", qr)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("QR code is not a usable PNG: %v", err)
	}
	if cmd := b.text("#enrollment-command"); !strings.Contains(cmd, "--server "+e.URL) {
		t.Errorf("enrollment command %q does not name the server", cmd)
	}
	b.snapshot("-enrollment")
	phone := enrollPhone(t, e, code)
	b.waitText("#account-status", "Added "+phone.Name)
	b.waitText("#devices .device-name", phone.Name)
	var panelOpen bool
	b.eval(`!document.getElementById("enrollment").hidden`, &panelOpen)
	if panelOpen {
		t.Error("the enrollment panel stays open after the device was added")
	}

	// Two-factor off and on again.
	b.click("#two-factor")
	b.waitText("#account-status", "Two-factor login is off")
	b.click("#two-factor")
	b.waitText("#account-status", "Two-factor login is on")

	// Log out everywhere else: the other session's refresh token dies.
	b.click("#logout-others")
	b.waitText("#account-status", "other sessions are logged out")
	if status := e.Post(t, "/api/v1/token/refresh", map[string]string{"refresh_token": elsewhere.Str("refresh_token")}).Status; status != http.StatusUnauthorized {
		t.Errorf("the other session still refreshes: %d", status)
	}

	// Change the password: a wrong current one is refused beside its field.
	b.fill("#current-password", "not my password")
	b.fill("#new-password", "a brand new passphrase")
	b.click("#password-submit")
	b.waitText("#current-password-error", "not your current password")
	b.fill("#current-password", u.Password)
	b.fill("#new-password", "a brand new passphrase")
	b.click("#password-submit")
	b.waitText("#account-status", "password was changed")
	if status := e.Post(t, "/api/v1/login", map[string]string{"phone": u.Phone, "password": "a brand new passphrase"}).Status; status != http.StatusAccepted {
		t.Errorf("login with the new password = %d, want 202", status)
	}

	// Remove the device, confirming once.
	b.click(`#devices button[data-device]`)
	b.waitText(`#devices button[data-device]`, "Really remove?")
	b.click(`#devices button[data-device]`)
	b.waitText("#account-status", "Removed "+phone.Name)
	b.waitJS(`!document.getElementById("devices-empty").hidden`, "the empty device list")
	b.snapshot("-removed")

	// Log out: back to the login page, and a reload finds no session.
	b.click("#logout")
	b.waitView("login")
	b.waitText("#flash", "You are logged out")
	if c := b.cookies(); len(c) != 0 {
		t.Errorf("cookies after logout: %+v", c)
	}
	b.open("#/account")
	b.waitView("login")
}
