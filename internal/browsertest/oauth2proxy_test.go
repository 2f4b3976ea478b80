package browsertest

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/testenv"
)

// TestOAuth2ProxyInFrontOfAnApp: oauth2-proxy (v7.15.6, nobody here wrote
// it), configured with approvald as its OpenID provider by issuer URL alone,
// guards an app; in Chromium the user signs in with a push and reaches the
// app as the email oauth2-proxy read from approvald's ID token.
func TestOAuth2ProxyInFrontOfAnApp(t *testing.T) {
	t.Parallel()
	testenv.OAuth2ProxyPath(t) // fail or skip before starting anything else
	port := testenv.FreePort(t)
	proxyURL := "http://127.0.0.1:" + strconv.Itoa(port)
	secret := randomSecret(t)
	e := startSite(t, "CLIENTS_FILE="+clientsFile(t, map[string]any{
		"client_id": "dashboard", "name": "Dashboard", "client_secret_env": "DASHBOARD_SECRET",
		"redirect_uris": []string{proxyURL + "/oauth2/callback"},
	}), "DASHBOARD_SECRET="+secret)
	u, phone := userWithPhone(t, e)
	app := protectedApp(t, "X-Forwarded-Email")
	testenv.StartOAuth2ProxyOn(t, port,
		"--provider=oidc",
		"--oidc-issuer-url="+e.PublicURL,
		"--client-id=dashboard",
		"--client-secret="+secret,
		"--redirect-url="+proxyURL+"/oauth2/callback",
		"--upstream="+app.URL,
		"--email-domain=*",
		"--scope=openid email profile",
		"--code-challenge-method=S256",
		"--skip-provider-button=true",
		// approvald does not verify email addresses, and says so
		// (email_verified false); this app accepts that.
		"--insecure-oidc-allow-unverified-email=true",
	)
	b := openBrowser(t, e.URL)

	b.visit(proxyURL + "/dashboard")
	b.waitLoginPage()
	b.waitText("#login-title", "Sign in to Dashboard")
	b.submitLogin(u)
	b.approveOnPhone(phone, "Dashboard")
	b.do(chromedp.WaitVisible(chromedp.CSS("#user")))
	var at string
	b.eval(`location.href`, &at)
	if got := b.text("#user"); at != proxyURL+"/dashboard" || got != "hello "+u.Email+" at /dashboard" {
		t.Fatalf("after the login the browser is at %s showing %q; want the app at /dashboard for %s", at, got, u.Email)
	}
}
