package browsertest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/testenv"
)

// TestFirefoxSignUpLoginPush takes one newcomer through the pages in Firefox
// ESR: sign-up with the texted code, a first login by SMS (no device yet),
// adding a device from the account page, log out, and a login approved by
// push with the number read from the page, heard over the websocket.
func TestFirefoxSignUpLoginPush(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	f := openFirefox(t, e.URL)
	phone := testenv.RandomPhone() // +1…, typed as a national number with the country picker
	const password = "correct horse battery"

	// Sign up and verify the phone.
	f.open("")
	f.waitView("login")
	f.click("#to-signup")
	f.waitView("signup")
	f.fill("#signup-name", "Ada Lovelace")
	f.fill("#signup-country", "US")
	f.fill("#signup-phone", strings.TrimPrefix(phone, "+1"))
	f.fill("#signup-password", password)
	f.click("#signup-submit")
	f.waitView("verify")
	if got := f.text("#verify-phone"); strings.ReplaceAll(got, " ", "") != phone {
		t.Errorf("the code went to %q, want %s", got, phone)
	}
	f.fill("#verify-code", e.SMS.NextCode(t, phone))
	f.click("#verify-submit")
	f.waitView("done")

	// First login: no device, so the code form comes at once.
	f.click("#done-login")
	f.waitView("login")
	var prefilled string
	f.eval(`document.getElementById("login-id").value`, &prefilled)
	if prefilled != phone {
		t.Errorf("login form prefilled with %q, want %s", prefilled, phone)
	}
	f.fill("#login-password", password)
	f.click("#login-submit")
	f.waitStatus("fallback")
	f.waitText("#approval-status", "no authenticator app")
	f.fill("#code", e.SMS.NextCode(t, phone))
	f.click("#code-submit")
	f.expectAccount(phone)
	if got := f.watched().Statuses; !slices.Equal(got, []string{"fallback", "approved"}) {
		t.Errorf("approval modal went through %q, want fallback, approved", got)
	}

	// Add a device from the account page: the test authenticator enrolls with the code shown.
	f.click("#add-device")
	f.waitJS(`document.getElementById("enrollment-code").textContent.length >= 22`, "the enrollment code")
	device := enrollPhone(t, e, f.text("#enrollment-code"))
	f.waitText("#devices .device-name", device.Name)

	f.click("#logout")
	f.waitView("login")
	f.waitText("#flash", "You are logged out")

	// Second login: a push, approved with the number the page shows.
	before := f.watched()
	f.fill("#login-id", phone)
	f.fill("#login-password", password)
	f.click("#login-submit")
	f.waitStatus("pending")
	if got := f.text("#approval-devices"); got != device.Name {
		t.Errorf("the modal asks to approve on %q, want %q", got, device.Name)
	}
	f.waitJS(`/^\d\d$/.test(document.getElementById("match-number").textContent)`, "the match number")
	n, err := strconv.Atoi(f.text("#match-number"))
	if err != nil {
		t.Fatal(err)
	}
	f.snapshot("-pending")
	push := device.NextPush(t)
	if status := device.MustDecide(t, push.ApprovalID, true, n, false); status != "approved" {
		t.Fatalf("the approve callback answered %q", status)
	}
	f.expectAccount(phone)

	after := f.watched()
	if got := after.Statuses[len(before.Statuses):]; !slices.Equal(got, []string{"pending", "approved"}) {
		t.Errorf("approval modal went through %q, want pending, approved", got)
	}
	var heard []string
	for _, raw := range after.Frames[len(before.Frames):] {
		var frame struct{ Type, Status string }
		if json.Unmarshal([]byte(raw), &frame) == nil && frame.Type == "status" {
			heard = append(heard, frame.Status)
		}
	}
	if !slices.Contains(heard, "approved") {
		t.Errorf("the page's websocket heard statuses %q, want approved among them", heard)
	}
}

// expectAccount checks that the login ended on the account page of phone,
// with the session kept as designed: the refresh token only in an HttpOnly,
// SameSite=Strict cookie, the single sign-on cookie HttpOnly and Lax,
// nothing in web storage.
func (f *firefox) expectAccount(phone string) {
	f.t.Helper()
	f.waitView("account")
	f.waitText("#account-phone", phone)
	var state struct {
		ModalOpen bool
		Storage   string
		Cookie    string
	}
	f.eval(`({ModalOpen: document.getElementById("approval-modal").open,
		Storage: JSON.stringify([localStorage, sessionStorage]), Cookie: document.cookie})`, &state)
	if state.ModalOpen {
		f.t.Error("the approval modal is still open on the account page")
	}
	if state.Storage != "[{},{}]" || state.Cookie != "" {
		f.t.Errorf("web storage %s and script-visible cookies %q, want none", state.Storage, state.Cookie)
	}
	cookies := f.cookies()
	if len(cookies) != 2 {
		f.t.Fatalf("cookies %+v, want the refresh and the single sign-on cookie", cookies)
	}
	for _, c := range cookies {
		switch c.Name {
		case "approvald_refresh":
			if !c.HTTPOnly || c.SameSite != "strict" || c.Path != "/" || len(c.Value.Value) < 40 {
				f.t.Errorf("refresh cookie: HttpOnly %v, SameSite %q, Path %q, %d characters",
					c.HTTPOnly, c.SameSite, c.Path, len(c.Value.Value))
			}
		case "approvald_sso":
			if !c.HTTPOnly || c.SameSite != "lax" || c.Path != "/" {
				f.t.Errorf("single sign-on cookie: HttpOnly %v, SameSite %q, Path %q", c.HTTPOnly, c.SameSite, c.Path)
			}
		default:
			f.t.Errorf("unexpected cookie %s", c.Name)
		}
	}
}
