package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// startPasskeySite runs approvald at http://localhost:PORT: an IP address
// cannot be a WebAuthn RP ID, so passkeys need a host name.
func startPasskeySite(t *testing.T) *e2e.Server {
	t.Helper()
	port := testenv.FreePort(t)
	e := startSite(t, fmt.Sprintf("ADDR=127.0.0.1:%d", port), fmt.Sprintf("PUBLIC_URL=http://localhost:%d", port))
	if e.PublicURL != fmt.Sprintf("http://localhost:%d", port) {
		t.Fatalf("approvald announced %s", e.PublicURL)
	}
	return e
}

// virtualAuthenticator adds a platform authenticator that holds resident
// keys and verifies its user (a CTAP2 authenticator with the DevTools
// WebAuthn domain): the browser's requests are answered by it at once.
func (b *browser) virtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
				HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

func (b *browser) removeAuthenticator(id webauthn.AuthenticatorID) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
		return err
	}))
}

// credentials are the credentials the virtual authenticator holds.
func (b *browser) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	var out []*webauthn.Credential
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		out = res.Credentials
		return err
	}))
	return out
}

// withoutAutofill makes the pages see a browser without conditional
// mediation: Chromium's virtual authenticator answers an autofill request
// at once, as a user picking the passkey would, which would log in before
// the button is pressed.
func (b *browser) withoutAutofill() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;`,
		})
		return err
	}))
}

// addPasskey adds a passkey named name on the account page.
func (b *browser) addPasskey(name string) {
	b.t.Helper()
	b.waitJS(`!document.getElementById("passkeys-section").hidden`, "the passkeys section")
	b.waitJS(`!document.getElementById("passkeys-empty").hidden`, "the empty passkey list")
	b.fill("#passkey-name", name)
	b.click("#add-passkey")
	b.waitText("#account-status", "Added the passkey "+name)
	b.waitText("#passkeys .passkey-name", name)
}

func (b *browser) logOut() {
	b.t.Helper()
	b.click("#logout")
	b.waitView("login")
	b.waitText("#flash", "You are logged out")
}

func TestPasskeyRegisterLoginRemove(t *testing.T) {
	t.Parallel()
	e := startPasskeySite(t)
	u := e.SignUp(t)
	b := openBrowser(t, e.PublicURL)
	b.withoutAutofill()
	auth := b.virtualAuthenticator()

	// Log in with the password and a texted code; add a passkey on the account page.
	b.logInWithSMS(e, u)
	b.addPasskey("Virtual key")
	creds := b.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one resident credential for localhost", creds)
	}
	if msgs := e.SMS.WaitMessages(t, u.Phone, 3); !strings.Contains(msgs[len(msgs)-1], "passkey \"Virtual key\" was added") {
		t.Errorf("texts %q, want the passkey notice last", msgs)
	}
	b.snapshot("-added")

	// Log out, and in again with the button alone: no password, no approval.
	b.logOut()
	b.waitJS(`!document.getElementById("passkey-login").hidden`, "the passkey button")
	var autocomplete string
	b.eval(`document.getElementById("login-id").getAttribute("autocomplete")`, &autocomplete)
	if autocomplete != "username webauthn" {
		t.Errorf("the identifier's autocomplete is %q", autocomplete)
	}
	b.click("#passkey-login")
	b.expectAccount(u)
	b.waitJS(`document.querySelector('#activity li[data-kind="passkey_login"]') !== null`, "the passkey login in recent activity")
	b.waitText("#passkeys .meta", "last used")

	// Remove it (a passkey login is a fresh login): the same authenticator is refused then.
	b.click(`#passkeys button[data-passkey]`)
	b.waitText(`#passkeys button[data-passkey]`, "Really remove?")
	b.click(`#passkeys button[data-passkey]`)
	b.waitText("#account-status", "Removed the passkey Virtual key")
	b.waitJS(`!document.getElementById("passkeys-empty").hidden`, "the empty passkey list")
	b.logOut()
	b.click("#passkey-login")
	b.waitText("#login-error", "That passkey was not accepted")
	b.waitView("login")
	if c := b.cookies(); len(c) != 0 {
		t.Errorf("cookies after a refused passkey: %+v", c)
	}

	// Another authenticator, which holds no credential of this site, logs no one in.
	b.removeAuthenticator(auth)
	other := b.virtualAuthenticator()
	b.click("#passkey-login")
	b.waitText("#login-error", "No passkey was used")
	if len(b.credentials(other)) != 0 {
		t.Error("the second authenticator made a credential")
	}
	b.waitView("login")
	if c := b.cookies(); len(c) != 0 {
		t.Errorf("cookies after the second authenticator: %+v", c)
	}
}

// Autofill (conditional mediation): the login page asks the browser for a
// passkey as soon as it shows, and the virtual authenticator answers as a
// user picking the passkey from the identifier field's suggestions would.
func TestPasskeyAutofill(t *testing.T) {
	t.Parallel()
	e := startPasskeySite(t)
	u := e.SignUp(t)
	b := openBrowser(t, e.PublicURL)
	b.virtualAuthenticator()
	// The autofill request of the login page finds no passkey yet, and says nothing.
	b.open("#/login")
	b.waitView("login")
	b.waitJS(`performance.getEntriesByType("resource").some(r => r.name.endsWith("/api/v1/login/passkey/options"))`, "the autofill request")
	var loginError string
	b.eval(`document.getElementById("login-error").textContent`, &loginError)
	if loginError != "" {
		t.Errorf("the login page says %q before anything was done", loginError)
	}
	b.logInWithSMS(e, u)
	b.addPasskey("Autofill key")

	// Logged out, and in again from the login page without a click.
	b.click("#logout")
	b.waitJS(`document.querySelector('#activity li[data-kind="passkey_login"]') !== null &&
		document.querySelector('#activity li[data-kind="session_revoked"]') !== null`, "the logout and the passkey login in recent activity")
	b.expectAccount(u)
}

// The pages do not offer passkeys where the server has them off: approvald
// on 127.0.0.1, an IP address.
func TestPasskeysHiddenOnAnIPAddress(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	if r := e.Post(t, "/api/v1/login/passkey/options", nil); r.Status != http.StatusNotFound || r.ErrorCode() != "passkeys_unavailable" {
		t.Errorf("passkey options on an IP address: %d %s", r.Status, r.Raw)
	}
	u := e.SignUp(t)
	b := openBrowser(t, e.URL)
	b.virtualAuthenticator()
	b.open("#/login")
	b.waitView("login")
	var shown bool
	b.eval(`!document.getElementById("passkey-login").hidden`, &shown)
	if shown {
		t.Error("the passkey button shows with passkeys off")
	}
	b.logInWithSMS(e, u)
	b.eval(`!document.getElementById("passkeys-section").hidden`, &shown)
	if shown {
		t.Error("the account page offers passkeys with passkeys off")
	}
}

// A passkey login on the pages is the OpenID provider's login too: an
// application sends its user to approvald, who signs in with the button.
func TestPasskeySignsInToAnOIDCApp(t *testing.T) {
	t.Parallel()
	rp := newRelyingParty(t, "grafana")
	port := testenv.FreePort(t)
	e := startProvider(t, map[string]*relyingParty{"Grafana": rp},
		fmt.Sprintf("ADDR=127.0.0.1:%d", port), fmt.Sprintf("PUBLIC_URL=http://localhost:%d", port))
	u := e.SignUp(t)
	b := openBrowser(t, e.PublicURL)
	b.withoutAutofill()
	b.virtualAuthenticator()
	b.logInWithSMS(e, u)
	b.addPasskey("Virtual key")
	b.logOut()

	b.visit(rp.srv.URL + "/login")
	b.waitLoginPage()
	b.waitText("#login-title", "Sign in to Grafana")
	b.click("#passkey-login")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("the application says %q", got)
	}
	c := rp.lastLogin().claims
	amr, _ := c["amr"].([]any)
	if c["sub"] != u.ID || !slices.Equal(amr, []any{"hwk", "user", "mfa"}) || c["acr"] != "urn:approvald:acr:2fa" {
		t.Errorf("ID token claims %v; want sub %s, amr [hwk user mfa], acr 2fa", c, u.ID)
	}
}

// A browser without WebAuthn never sees the passkey options, though the
// server has them on.
func TestPasskeysHiddenWithoutWebAuthn(t *testing.T) {
	t.Parallel()
	e := startPasskeySite(t)
	u := e.SignUp(t)
	b := openBrowser(t, e.PublicURL)
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `delete window.PublicKeyCredential;`,
		})
		return err
	}))
	b.open("#/login")
	b.waitView("login")
	var shown bool
	b.eval(`!document.getElementById("passkey-login").hidden`, &shown)
	if shown {
		t.Error("the passkey button shows in a browser without WebAuthn")
	}
	b.logInWithSMS(e, u)
	b.eval(`!document.getElementById("passkeys-section").hidden`, &shown)
	if shown {
		t.Error("the account page offers passkeys in a browser without WebAuthn")
	}
}
