package browsertest

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/approvald/approvald/internal/e2e"
)

// startProvider runs approvald with the applications' clients in
// CLIENTS_FILE and connects them to it.
func startProvider(t *testing.T, rps map[string]*relyingParty, env ...string) *e2e.Server {
	t.Helper()
	var entries []map[string]any
	for name, rp := range rps {
		envName := "RP_SECRET_" + strings.ToUpper(rp.id)
		entries = append(entries, rp.clientEntry(name, envName))
		env = append(env, envName+"="+rp.secret)
	}
	env = append(env, "CLIENTS_FILE="+clientsFile(t, entries...))
	e := startSite(t, env...)
	for _, rp := range rps {
		rp.connect(e.PublicURL)
	}
	return e
}

// approveOnPhone approves the login the page shows with the number it shows.
func (b *browser) approveOnPhone(phone *e2e.Device, app string) {
	b.t.Helper()
	b.waitStatus("pending")
	if app != "" {
		b.waitText("#approval-title", "Sign in to "+app)
	}
	n := b.matchNumber()
	push := phone.NextPush(b.t)
	if push.App != app {
		b.t.Errorf("the push names the application %q, want %q", push.App, app)
	}
	if status := phone.MustDecide(b.t, push.ApprovalID, true, n, false); status != "approved" {
		b.t.Fatalf("the approve callback answered %q", status)
	}
}

// TestOIDCAppSignsInWithPush: an application signs its user in through
// approvald with the code flow, in Chromium; the user approves a number-
// matched push. The application then refreshes, reads userinfo, revokes and
// logs out, all against what discovery told it.
func TestOIDCAppSignsInWithPush(t *testing.T) {
	t.Parallel()
	rp := newRelyingParty(t, "grafana")
	e := startProvider(t, map[string]*relyingParty{"Grafana": rp})
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.visit(rp.srv.URL + "/login?login_hint=" + url.QueryEscape(u.Phone))
	b.waitLoginPage()
	b.waitText("#login-title", "Sign in to Grafana")
	var prefilled string
	b.eval(`document.getElementById("login-id").value`, &prefilled)
	if prefilled != u.Phone {
		t.Errorf("the login form holds %q, want the login_hint %q", prefilled, u.Phone)
	}
	b.fill("#login-password", u.Password)
	b.click("#login-submit")
	b.approveOnPhone(phone, "Grafana")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("the application says %q", got)
	}

	login := rp.lastLogin()
	c := login.claims
	if c["sub"] != u.ID || c["phone_number"] != u.Phone || c["phone_number_verified"] != true || c["email"] != u.Email {
		t.Errorf("ID token claims %v; want sub %s, the verified phone and the email", c, u.ID)
	}
	amr, _ := c["amr"].([]any)
	if !slices.Equal(amr, []any{"pwd", "swk", "mfa"}) || c["acr"] != "urn:approvald:acr:2fa" {
		t.Errorf("amr %v, acr %v; want [pwd swk mfa] for a device-signed push, 2fa", c["amr"], c["acr"])
	}
	authTime, _ := c["auth_time"].(float64)
	if d := time.Since(time.Unix(int64(authTime), 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("auth_time %v is not the approval's time", c["auth_time"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(login.token))
	if err != nil || info.Subject != u.ID || info.Email != u.Email {
		t.Fatalf("userinfo %+v, %v", info, err)
	}

	// Refresh: a new refresh token and a new, valid ID token for the same user.
	old := *login.token
	expired := old
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := rp.conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == old.RefreshToken || fresh.AccessToken == old.AccessToken {
		t.Error("the refresh did not rotate the tokens")
	}
	if again, err := rp.verify(ctx, fresh); err != nil || again.idToken.Subject != u.ID {
		t.Fatalf("the refreshed ID token: %v", err)
	}

	// Revocation (RFC 7009) of the refresh token ends the grant: its
	// access token no longer reads userinfo.
	revoke(t, rp, fresh.RefreshToken)
	if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Error("userinfo still answers after the refresh token was revoked")
	}

	// A second sign-in rides on single sign-on: no login page, no push.
	logins := countIn(e.Logs.String(), `"path":"/web/login"`)
	b.visit(rp.srv.URL + "/login")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("the second sign-in: the application says %q", got)
	}
	if n := countIn(e.Logs.String(), `"path":"/web/login"`); n != logins {
		t.Errorf("the second sign-in logged in again (%d logins, want %d)", n, logins)
	}

	// RP-initiated logout ends the single sign-on: prompt=none is refused.
	b.visit(rp.srv.URL + "/logout")
	if got := b.waitApp(rp, "/logged-out"); got != "logged out, state bye1" {
		t.Errorf("after logout the application says %q", got)
	}
	b.visit(rp.srv.URL + "/login?prompt=none")
	if got := b.waitApp(rp, "/callback"); !strings.HasPrefix(got, "login_required") {
		t.Errorf("prompt=none after logout: %q, want login_required", got)
	}
}

// revoke posts a token to the revocation endpoint as the client.
func revoke(t *testing.T, rp *relyingParty, token string) {
	t.Helper()
	var meta struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if err := rp.provider.Claims(&meta); err != nil || meta.Revocation == "" {
		t.Fatalf("no revocation_endpoint: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, meta.Revocation,
		strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.id), url.QueryEscape(rp.secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revocation answered %d", res.StatusCode)
	}
}

// TestLoggingOutEndsTheApps: "Log out everywhere else" on the account page
// revokes the applications' refresh tokens (their sessions are the user's),
// and "Log out" ends single sign-on: forward auth and prompt=none refuse.
func TestLoggingOutEndsTheApps(t *testing.T) {
	t.Parallel()
	rp := newRelyingParty(t, "chat")
	e := startProvider(t, map[string]*relyingParty{"Chat": rp})
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, e.URL)

	b.visit(rp.srv.URL + "/login")
	b.waitLoginPage()
	b.submitLogin(u)
	b.approveOnPhone(phone, "Chat")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("the app says %q", got)
	}
	appToken := rp.lastLogin().token

	b.open("#/account")
	b.expectAccountWithSSO(u)
	b.click("#logout-others")
	b.waitText("#account-status", "other sessions are logged out")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	expired := *appToken
	expired.Expiry = time.Now().Add(-time.Minute)
	if _, err := rp.conf.TokenSource(ctx, &expired).Token(); err == nil {
		t.Error("the app's refresh token still works after log out everywhere else")
	}
	if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(appToken)); err == nil {
		t.Error("the app's access token still reads userinfo after log out everywhere else")
	}

	// This browser's single sign-on survived "everywhere else" ...
	b.visit(rp.srv.URL + "/login?prompt=none")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("prompt=none before logging out: %q", got)
	}
	// ... and ends with "Log out".
	b.open("#/account")
	b.expectAccountWithSSO(u)
	b.click("#logout")
	b.waitLoginPage()
	b.visit(rp.srv.URL + "/login?prompt=none")
	if got := b.waitApp(rp, "/callback"); !strings.HasPrefix(got, "login_required") {
		t.Errorf("prompt=none after logging out: %q, want login_required", got)
	}
}

// expectAccountWithSSO waits for the account page of u, its activity list
// filled in: that arrives last and moves the buttons below it, so a click
// before it could land where a button was.
func (b *browser) expectAccountWithSSO(u e2e.User) {
	b.t.Helper()
	b.waitView("account")
	b.waitText("#account-phone", u.Phone)
	b.waitJS(`document.querySelectorAll("#activity li").length > 0`, "the activity list")
}
