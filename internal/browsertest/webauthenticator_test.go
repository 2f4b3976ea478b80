package browsertest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/signing"
)

// The web authenticator (/authenticator/) in a second browser: it enrolls
// with a code, hears the login over the device websocket and decides it.
// Offline a browser cannot reach its vendor's push service, so Web Push is
// tested with the test push service and the page through the websocket.

// enrollWebAuthenticator opens the authenticator page in b, enrolls it with
// code and waits until its device websocket is open.
func (b *browser) enrollWebAuthenticator(code string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/authenticator/"))
	b.waitJS(`!document.getElementById("view-enroll").hidden`, "the enrollment form")
	b.fill("#enroll-code", code)
	b.click("#enroll-submit")
	b.waitJS(`!document.getElementById("view-device").hidden`, "the device view")
	b.waitJS(`/^\d{6}$/.test(document.getElementById("totp-code").textContent)`, "the TOTP code")
	b.waitJS(`document.getElementById("socket-state").dataset.state === "open"`, "the device websocket")
}

// webRequest waits for the authenticator to show a request and returns its
// selector.
func (b *browser) webRequest() string {
	b.t.Helper()
	b.waitJS(`document.querySelector("#requests .request") !== null`, "a login request in the authenticator")
	var id string
	b.eval(`document.querySelector("#requests .request").dataset.approvalId`, &id)
	return fmt.Sprintf(`#requests .request[data-approval-id=%q]`, id)
}

// webLogin starts a site, a user with a web authenticator in one browser,
// and that user's login in another, up to the pending approval.
func webLogin(t *testing.T) (e *e2e.Server, u e2e.User, phone, login *browser) {
	e = startSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	phone = openBrowser(t, e.URL)
	phone.enrollWebAuthenticator(code)
	login = openBrowser(t, e.URL)
	login.logIn(u)
	login.waitStatus("pending")
	return e, u, phone, login
}

func TestWebAuthenticatorApprove(t *testing.T) {
	t.Parallel()
	_, u, phone, login := webLogin(t)
	n := login.matchNumber()
	req := phone.webRequest()
	if got := phone.text(req + " h3"); got != "Log in to approvald" {
		t.Errorf("the request says %q", got)
	}
	// The login's browser, in words (the server's context summary).
	if got := phone.text(req + " .request-context"); !strings.Contains(got, "Linux") {
		t.Errorf("the request's context says %q, want the login's browser and OS", got)
	}
	phone.snapshot("-request")
	// A wrong-looking number is refused on the page, before any callback.
	phone.click(req + " .request-approve")
	phone.waitText(req+" .request-error", "two-digit number")
	phone.fill(req+" .request-number", strconv.Itoa(n))
	phone.click(req + " .request-approve")
	login.expectAccount(u)
	phone.waitJS(`document.querySelector("#requests .request") === null`, "the request to leave the authenticator")
	phone.waitText("#flash", "Approved")
	if got := login.text("#devices .device-name"); got == "" {
		t.Error("the account page lists no device")
	}
}

// The enroll link of the account page (/authenticator?code=…) fills in the
// code.
func TestWebAuthenticatorDeny(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	phone := openBrowser(t, e.URL)
	phone.do(chromedp.Navigate(e.URL + "/authenticator?code=" + url.QueryEscape(code)))
	phone.waitJS(fmt.Sprintf(`document.getElementById("enroll-code").value === %q`, code), "the code from the link")
	phone.click("#enroll-submit")
	phone.waitJS(`document.getElementById("socket-state").dataset.state === "open"`, "the device websocket")
	if strings.Contains(phone.location(), "code=") {
		t.Error("the enrollment code stays in the address after enrolling")
	}
	login := openBrowser(t, e.URL)
	login.logIn(u)
	login.waitStatus("pending")
	req := phone.webRequest()
	phone.click(req + " .request-deny")
	login.waitStatus("denied")
	phone.waitJS(`document.querySelector("#requests .request") === null`, "the request to leave the authenticator")
	phone.waitText("#flash", "Denied")
}

func TestWebAuthenticatorReport(t *testing.T) {
	t.Parallel()
	e, u, phone, login := webLogin(t)
	req := phone.webRequest()
	phone.click(req + " .request-report")
	login.waitStatus("denied")
	phone.waitText("#flash", "reported")
	// The report paused pushes: the next login falls back to a code.
	if l := e.StartLogin(t, u); l.Channel != "sms" {
		t.Errorf("the login after a report is on %q, want sms", l.Channel)
	}
}

// The code the page shows is internal/otp's for the same secret and time.
func TestWebAuthenticatorTOTPModule(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	b := openBrowser(t, e.URL)
	b.do(chromedp.Navigate(e.URL + "/authenticator/"))
	secret := otp.NewTOTPSecret()
	enc := otp.EncodeSecret(secret)
	for _, at := range []time.Time{time.Unix(59, 0), time.Unix(1111111109, 0), time.Unix(2000000000, 0), time.Now()} {
		b.eval(fmt.Sprintf(`window.__code = undefined; import("./totp.js").then(m => m.totp(%q, %d)).then(c => { window.__code = c; }, e => { window.__code = "error " + e; }); true`,
			enc, at.UnixMilli()), new(bool))
		b.waitJS(`window.__code !== undefined`, "the page's TOTP code")
		var got string
		b.eval(`window.__code`, &got)
		if want := otp.TOTPCode(secret, at); got != want {
			t.Errorf("at %v the page's code is %q, internal/otp's %q", at.UTC(), got, want)
		}
	}
}

func (b *browser) location() string {
	b.t.Helper()
	var href string
	b.eval(`location.href`, &href)
	return href
}

// The service worker keeps the app shell: with approvald down, the page
// still opens and shows the device's current code.
func TestWebAuthenticatorOffline(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	_, code := e.UserAndEnrollmentCode(t)
	phone := openBrowser(t, e.URL)
	phone.enrollWebAuthenticator(code)
	phone.waitJS(`navigator.serviceWorker.controller !== null`, "the service worker to control the page")
	phone.eval(`caches.open("approvald-authenticator-v1").then(c => c.keys()).then(k => { window.__cached = k.length; }); true`, new(bool))
	phone.waitJS(`window.__cached >= 10`, "the app shell in the cache")
	if err := e.Stop(); err != nil {
		t.Logf("stopping approvald: %v", err)
	}
	phone.do(chromedp.Reload())
	phone.waitJS(`!document.getElementById("view-device").hidden`, "the device view, offline")
	phone.waitJS(`/^\d{6}$/.test(document.getElementById("totp-code").textContent)`, "the TOTP code, offline")
	phone.eval(`import("./store.js").then(m => m.loadDevice()).then(d => { window.__secret = d.totpSecret; }); true`, new(bool))
	phone.waitJS(`typeof window.__secret === "string"`, "the stored secret")
	var secretB32, shown string
	phone.eval(`window.__secret`, &secretB32)
	phone.eval(`document.getElementById("totp-code").textContent`, &shown)
	secret, err := otp.DecodeSecret(secretB32)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if shown != otp.TOTPCode(secret, now) && shown != otp.TOTPCode(secret, now.Add(-otp.TOTPPeriod)) {
		t.Errorf("offline the page shows %q, internal/otp says %q", shown, otp.TOTPCode(secret, now))
	}
	if got := phone.text("#socket-state"); !strings.Contains(got, "offline") {
		t.Errorf("the socket state says %q with approvald down", got)
	}
}

// The page reconnects its device websocket when the connection is cut, and
// stops for good when the device is removed from the account.
func TestWebAuthenticatorReconnectsAndIsRemoved(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, false)
	e := startSite(t, "PUBLIC_URL="+proxy.URL())
	go proxy.serve(e.Addr)
	e.URL = proxy.URL()
	u := e.SignUp(t)
	token := e.LoginSMS(t, u).Str("access_token")
	phone := openBrowser(t, proxy.URL())
	tr := phone.watchTraffic()
	phone.enrollWebAuthenticator(e.EnrollmentCode(t, token))
	e2e.Eventually(t, "the device websocket", func() bool { return tr.handshakes.Load() == 1 })

	proxy.dropAll()
	e2e.Eventually(t, "the device websocket to reconnect", func() bool { return tr.handshakes.Load() == 2 })
	phone.waitJS(`document.getElementById("socket-state").dataset.state === "open"`, "the device websocket, again")

	var id string
	phone.eval(`document.getElementById("device-id").textContent`, &id)
	r := e.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + id, Headers: e2e.Pairs(e2e.Bearer(token))})
	e2e.Expect(t, r, 204)
	phone.waitJS(`!document.getElementById("view-removed").hidden`, "the removed view")
	time.Sleep(2 * time.Second) // it must not reconnect
	if got := tr.handshakes.Load(); got != 2 {
		t.Errorf("%d websocket handshakes; a removed device must not reconnect", got)
	}
}

// evalAsync evaluates a JavaScript expression whose value may be a promise
// and decodes its JSON value into out.
func (b *browser) evalAsync(expr string, out any) {
	b.t.Helper()
	b.eval(`window.__async = undefined; Promise.resolve().then(() => `+expr+`).then(
		v => { window.__async = JSON.stringify({v}); }, e => { window.__async = JSON.stringify({error: String(e)}); }); true`, new(bool))
	b.waitJS(`window.__async !== undefined`, "the promise of "+expr)
	var raw string
	b.eval(`window.__async`, &raw)
	var res struct {
		V     json.RawMessage
		Error string
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil || res.Error != "" {
		b.t.Fatalf("%s: %v %s", expr, err, res.Error)
	}
	if err := json.Unmarshal(res.V, out); err != nil {
		b.t.Fatalf("%s: decoding %s: %v", expr, res.V, err)
	}
}

// The page's signing module and internal/signing agree both ways: the page
// verifies what the server signs (and nothing else) and the server verifies
// what the page signs.
func TestWebAuthenticatorSigningModule(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	b := openBrowser(t, e.URL)
	b.do(chromedp.Navigate(e.URL + "/authenticator/"))
	b.evalAsync(`import("./sign.js").then(m => { window.sign = m; return true; })`, new(bool))

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"approval_id":"apr_x","message":"Grüße · ✓"}`
	path := "/prefix/api/v1/devices/dev_x/ws"
	h := signing.Sign(priv, "WS", path, "", []byte(body), time.Now())
	verify := func(method, p, body string, key ed25519.PublicKey) bool {
		var ok bool
		b.evalAsync(fmt.Sprintf(`window.sign.verifyServer(window.sign.fromB64url(%q), %q, %q, %q, %q, %q, %q)`,
			base64.RawURLEncoding.EncodeToString(key), method, p, h.Timestamp, h.Nonce, body, h.Signature), &ok)
		return ok
	}
	if !verify("WS", path, body, pub) {
		t.Error("the page refused a frame the server signed")
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	for name, ok := range map[string]bool{
		"another body":   verify("WS", path, body+" ", pub),
		"another method": verify("POST", path, body, pub),
		"another path":   verify("WS", "/api/v1/devices/dev_y/ws", body, pub),
		"another key":    verify("WS", path, body, other),
	} {
		if ok {
			t.Errorf("the page accepted a frame with %s", name)
		}
	}

	var signed struct {
		Pub     string            `json:"pub"`
		Headers map[string]string `json:"headers"`
	}
	b.evalAsync(fmt.Sprintf(`crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign", "verify"]).then(async k => ({
		pub: window.sign.b64url(await crypto.subtle.exportKey("raw", k.publicKey)),
		headers: await window.sign.signHeaders(k.privateKey, "POST", "/api/v1/callbacks/approval", "dev_x", %q),
	}))`, body), &signed)
	devicePub, err := signing.DecodeB64(signed.Pub)
	if err != nil {
		t.Fatal(err)
	}
	hh, err := signing.ParseHeaders(func(name string) string { return signed.Headers[name] })
	if err != nil {
		t.Fatalf("the page's signature headers %v: %v", signed.Headers, err)
	}
	if err := signing.Verify(devicePub, "POST", "/api/v1/callbacks/approval", hh, []byte(body)); err != nil {
		t.Errorf("the server refuses the page's signature: %v", err)
	}
	if err := signing.CheckTimestamp(hh.Timestamp, time.Now(), signing.MaxSkew); err != nil {
		t.Errorf("the page's timestamp: %v", err)
	}
}

// Firefox ESR as the web authenticator (its WebCrypto makes the Ed25519
// key), Chromium as the login.
func TestFirefoxWebAuthenticatorApprove(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	phone := openFirefox(t, e.URL)
	phone.open("authenticator/")
	phone.waitJS(`!document.getElementById("view-enroll").hidden`, "the enrollment form")
	phone.fill("#enroll-code", code)
	phone.click("#enroll-submit")
	phone.waitJS(`/^\d{6}$/.test(document.getElementById("totp-code").textContent)`, "the TOTP code")
	phone.waitJS(`document.getElementById("socket-state").dataset.state === "open"`, "the device websocket")

	login := openBrowser(t, e.URL)
	login.logIn(u)
	login.waitStatus("pending")
	n := login.matchNumber()
	phone.waitJS(`document.querySelector("#requests .request") !== null`, "a login request in the authenticator")
	phone.fill("#requests .request .request-number", strconv.Itoa(n))
	phone.click("#requests .request .request-approve")
	login.expectAccount(u)
	phone.waitText("#flash", "Approved")
}

// The page checks each approval frame as the CLI checks a push: signature,
// clock, addressee, callback and nonce.
func TestWebAuthenticatorFrameChecks(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	b := openBrowser(t, e.URL)
	b.do(chromedp.Navigate(e.URL + "/authenticator/"))
	b.evalAsync(`import("./frame.js").then(m => { window.frame = m; window.nonces = new Map(); return true; })`, new(bool))

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const (
		deviceID = "dev_web"
		wsPath   = "/api/v1/devices/dev_web/ws"
		callback = "https://login.example.com/api/v1/callbacks/approval"
	)
	frame := func(key ed25519.PrivateKey, path, device, callbackURL string, at time.Time) string {
		body, _ := json.Marshal(map[string]any{"approval_id": "apr_1", "device_id": device, "callback_url": callbackURL,
			"message": "Login request", "expires_at": at.Add(time.Minute)})
		h := signing.Sign(key, "WS", path, "", body, at)
		f, _ := json.Marshal(map[string]string{"type": "approval", "body": string(body), "timestamp": h.Timestamp,
			"nonce": h.Nonce, "signature": h.Signature})
		return string(f)
	}
	keyBytes := make([]int, len(pub)) // a JSON array, not base64
	for i, c := range pub {
		keyBytes[i] = int(c)
	}
	check := func(f string) string {
		var id string
		b.evalAsync(fmt.Sprintf(`window.frame.checkFrame(%s, {serverKey: new Uint8Array(%s), deviceID: %q, wsPath: %q,
			callbackURL: %q, nonces: window.nonces, now: Date.now()}).then(r => r ? r.push.approval_id : "")`,
			f, mustJSON(t, keyBytes), deviceID, wsPath, callback), &id)
		return id
	}
	now := time.Now()
	good := frame(priv, wsPath, deviceID, callback, now)
	if got := check(good); got != "apr_1" {
		t.Fatalf("the page refused a good frame (%q)", got)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, f := range map[string]string{
		"replayed":           good,
		"another key":        frame(otherKey, wsPath, deviceID, callback, now),
		"another path":       frame(priv, "/api/v1/devices/dev_other/ws", deviceID, callback, now),
		"another device":     frame(priv, wsPath, "dev_other", callback, now),
		"another callback":   frame(priv, wsPath, deviceID, "https://evil.example/api/v1/callbacks/approval", now),
		"ten minutes old":    frame(priv, wsPath, deviceID, callback, now.Add(-10*time.Minute)),
		"ten minutes future": frame(priv, wsPath, deviceID, callback, now.Add(10*time.Minute)),
	} {
		if got := check(f); got != "" {
			t.Errorf("the page accepted a frame %s", name)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// On the phone itself: the account page's link opens the web authenticator
// with the enrollment code, and one tap adds the device.
func TestWebAuthenticatorFromTheAccountPage(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	u := e.SignUp(t)
	b := openBrowser(t, e.URL)
	b.logInWithSMS(e, u)
	b.click("#add-device")
	b.waitJS(`document.getElementById("enrollment-code").textContent.length >= 22`, "the enrollment code")
	code := b.text("#enrollment-code")
	var href string
	b.eval(`document.getElementById("enrollment-web").href`, &href)
	if want := e.URL + "/authenticator/?code=" + url.QueryEscape(code); href != want {
		t.Fatalf("the link goes to %q, want %q", href, want)
	}
	b.do(chromedp.Navigate(href))
	b.waitJS(fmt.Sprintf(`document.getElementById("enroll-code").value === %q`, code), "the code from the link")
	b.click("#enroll-submit")
	b.waitJS(`document.getElementById("socket-state").dataset.state === "open"`, "the device websocket")
	if got := b.text("#device-name"); !strings.HasPrefix(got, "Web authenticator on ") {
		t.Errorf("the device is named %q", got)
	}
}
