package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/testenv"
)

func TestSignUpAndVerify(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	b := openBrowser(t, e.URL)
	phone := testenv.RandomPhone() // +1…, typed as a national number with the country picker
	national := strings.TrimPrefix(phone, "+1")

	b.open("")
	b.waitView("login")
	b.click("#to-signup")
	b.waitView("signup")

	// The API's validation error is shown beside its field.
	b.fill("#signup-name", "Ada Lovelace")
	b.do(chromedp.SetValue(chromedp.CSS("#signup-country"), "US"))
	b.fill("#signup-phone", "12")
	b.fill("#signup-password", "correct horse battery")
	b.click("#signup-submit")
	b.waitJS(`document.getElementById("signup-phone").getAttribute("aria-invalid") === "true"`, "the phone marked invalid")
	if msg := b.text("#signup-phone-error"); msg == "" {
		t.Error("no message beside the invalid phone")
	}
	b.snapshot("-invalid")

	b.fill("#signup-phone", national)
	b.fill("#signup-email", "ada@example.com")
	b.click("#signup-submit")
	b.waitView("verify")
	if got := b.text("#verify-phone"); strings.ReplaceAll(got, " ", "") != phone {
		t.Errorf("the code went to %q, want %s", got, phone)
	}
	// The resend button waits out the 30 s cooldown, counting down.
	b.waitText("#resend", "s)")
	var resend struct {
		Disabled bool
		Label    string
	}
	b.eval(`({Disabled: document.getElementById("resend").disabled, Label: document.getElementById("resend").textContent})`, &resend)
	if !resend.Disabled || !strings.Contains(resend.Label, "(2") && !strings.Contains(resend.Label, "(30") {
		t.Errorf("resend button %+v, want disabled with about 30 s to go", resend)
	}

	b.fill("#verify-code", "000000")
	b.click("#verify-submit")
	b.waitText("#verify-code-error", "4 attempts left")
	b.snapshot("-verify")
	b.fill("#verify-code", e.SMS.NextCode(t, phone))
	b.click("#verify-submit")
	b.waitView("done")

	// The new account logs in (a verified phone; two-factor by SMS, no device yet).
	b.click("#done-login")
	b.waitView("login")
	var prefilled string
	b.eval(`document.getElementById("login-id").value`, &prefilled)
	if prefilled != phone {
		t.Errorf("login form prefilled with %q, want %s", prefilled, phone)
	}
	status := e.Post(t, "/api/v1/login", map[string]string{"phone": phone, "password": "correct horse battery"}).Status
	if status != http.StatusAccepted {
		t.Errorf("login of the new account = %d, want 202", status)
	}
}
