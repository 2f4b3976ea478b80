package browsertest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/signing"
	"github.com/approvald/approvald/internal/webpush/webpushtest"
)

// The web authenticator follows a push key rotation (docs/api.md, "The push
// key and its rotation") as the command-line authenticator does: it learns
// the new key from a next_key statement signed by its pin, confirms it with
// push_kid, verifies with the key a message's kid names, and drops the old
// key once the new one signs.

// keyChecked is what the page's checkFrame or checkWebPush made of a
// message, with the keys as kids ("" for none).
type keyChecked struct {
	ID      string `json:"id"`
	Pin     string `json:"pin"`
	Old     string `json:"old"`
	Changed bool   `json:"changed"`
}

// jsKeysResult turns the promise of a checkSigned result r into keyChecked's
// JSON (null when refused).
const jsKeysResult = `.then(async r => r && {id: r.push.approval_id, pin: await window.sign.keyID(r.serverKey),
	old: r.oldServerKey ? await window.sign.keyID(r.oldServerKey) : "", changed: r.changed})`

func TestWebAuthenticatorPushKeyModule(t *testing.T) {
	t.Parallel()
	e := startSite(t)
	b := openBrowser(t, e.URL)
	b.do(chromedp.Navigate(e.URL + "/authenticator/"))
	b.evalAsync(`Promise.all([import("./frame.js"), import("./sign.js")]).then(([f, s]) => {
		window.frame = f; window.sign = s; window.nonces = new Map(); return true; })`, new(bool))

	gen := func() (ed25519.PublicKey, ed25519.PrivateKey) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return pub, priv
	}
	oldPub, oldPriv := gen()
	newPub, newPriv := gen()
	otherPub, otherPriv := gen()
	b64 := base64.RawURLEncoding.EncodeToString
	oldKID, newKID, otherKID := signing.KeyID(oldPub), signing.KeyID(newPub), signing.KeyID(otherPub)

	var kid string
	b.evalAsync(fmt.Sprintf(`window.sign.keyID(window.sign.fromB64url(%q))`, b64(newPub)), &kid)
	if kid != newKID {
		t.Fatalf("the page's kid of a key is %q, internal/signing's %q", kid, newKID)
	}

	// The statements: the genuine one, and forgeries.
	genuine := signing.SignKeyStatement(oldPriv, newPub)
	byOther := signing.SignKeyStatement(otherPriv, newPub) // signed_by names another key
	claimsPin := byOther
	claimsPin.SignedBy = oldKID // names the pin, signed by another key
	selfAnnounced := signing.SignKeyStatement(otherPriv, otherPub)
	swapped := genuine // the pin's signature, another key put in
	swapped.PublicKey, swapped.KID = b64(otherPub), otherKID
	namesOther := genuine // the pin's signature, naming another signer
	namesOther.SignedBy = otherKID
	wrongKID := signing.KeyStatement{KID: otherKID, PublicKey: b64(newPub), SignedBy: oldKID}
	wrongKID.Signature = b64(ed25519.Sign(oldPriv, signing.KeyStatementBytes(wrongKID.KID, wrongKID.PublicKey)))

	learn := func(st signing.KeyStatement) string {
		var got string
		b.evalAsync(fmt.Sprintf(`window.frame.learnKey({serverKey: window.sign.fromB64url(%q), oldServerKey: null}, %s)
			.then(async k => k ? await window.sign.keyID(k.serverKey) + " " + await window.sign.keyID(k.oldServerKey) : "")`,
			b64(oldPub), mustJSON(t, st)), &got)
		return got
	}
	if got := learn(genuine); got != newKID+" "+oldKID {
		t.Errorf("the genuine statement gave %q, want the new pin and the old key kept", got)
	}
	for name, st := range map[string]signing.KeyStatement{
		"signed by another key":                      byOther,
		"signed by another key, naming the pin":      claimsPin,
		"announcing the key that signed it":          selfAnnounced,
		"with another key under the pin's signature": swapped,
		"naming another signer":                      namesOther,
		"whose kid is not its key's":                 wrongKID,
	} {
		if got := learn(st); got != "" {
			t.Errorf("a statement %s was learned: %q", name, got)
		}
	}

	const (
		deviceID = "dev_web"
		wsPath   = "/api/v1/devices/dev_web/ws"
		callback = "https://login.example.com/api/v1/callbacks/approval"
		endpoint = "https://push.example.net/wp/abc?x=1"
	)
	body := func(next *signing.KeyStatement) []byte {
		m := map[string]any{"approval_id": "apr_1", "device_id": deviceID, "callback_url": callback,
			"message": "Login request", "expires_at": time.Now().Add(time.Minute)}
		if next != nil {
			m["next_key"] = next
		}
		raw, _ := json.Marshal(m)
		return raw
	}
	// frame is an approval frame signed by key, naming kid ("": no kid).
	frame := func(key ed25519.PrivateKey, kid string, next *signing.KeyStatement) string {
		raw := body(next)
		h := signing.Sign(key, "WS", wsPath, "", raw, time.Now())
		f := map[string]string{"type": "approval", "body": string(raw), "timestamp": h.Timestamp, "nonce": h.Nonce, "signature": h.Signature}
		if kid != "" {
			f["kid"] = kid
		}
		return mustJSON(t, f)
	}
	opts := func(pin, old ed25519.PublicKey) string {
		oldJS := "null"
		if old != nil {
			oldJS = fmt.Sprintf("window.sign.fromB64url(%q)", b64(old))
		}
		return fmt.Sprintf(`{serverKey: window.sign.fromB64url(%q), oldServerKey: %s, deviceID: %q, wsPath: %q,
			callbackURL: %q, endpoint: %q, nonces: window.nonces, now: Date.now()}`, b64(pin), oldJS, deviceID, wsPath, callback, endpoint)
	}
	check := func(f string, pin, old ed25519.PublicKey) *keyChecked {
		var got *keyChecked
		b.evalAsync(fmt.Sprintf(`window.frame.checkFrame(%s, %s)`+jsKeysResult, f, opts(pin, old)), &got)
		return got
	}
	accepted := []struct {
		name     string
		frame    string
		pin, old ed25519.PublicKey
		want     keyChecked
	}{
		{"by the pin, announcing the new key", frame(oldPriv, oldKID, &genuine), oldPub, nil,
			keyChecked{"apr_1", newKID, oldKID, true}},
		{"by the pin, with a forged announcement", frame(oldPriv, oldKID, &byOther), oldPub, nil,
			keyChecked{"apr_1", oldKID, "", false}},
		{"by the key announced in it (the announcement missed)", frame(newPriv, newKID, &genuine), oldPub, nil,
			keyChecked{"apr_1", newKID, "", true}},
		{"by the old key during the rotation", frame(oldPriv, oldKID, nil), newPub, oldPub,
			keyChecked{"apr_1", newKID, oldKID, false}},
		{"by the old key, no kid", frame(oldPriv, "", nil), newPub, oldPub,
			keyChecked{"apr_1", newKID, oldKID, false}},
		{"by the new pin: the old key goes", frame(newPriv, newKID, nil), newPub, oldPub,
			keyChecked{"apr_1", newKID, "", true}},
	}
	for _, c := range accepted {
		got := check(c.frame, c.pin, c.old)
		if got == nil || *got != c.want {
			t.Errorf("a frame %s: %+v, want %+v", c.name, got, c.want)
		}
	}
	for name, f := range map[string]struct {
		frame    string
		pin, old ed25519.PublicKey
	}{
		"by the new key, unannounced":                {frame(newPriv, newKID, nil), oldPub, nil},
		"by the new key, unannounced, no kid":        {frame(newPriv, "", nil), oldPub, nil},
		"by the new key, forged announcement":        {frame(newPriv, newKID, &claimsPin), oldPub, nil},
		"by another key announcing itself":           {frame(otherPriv, otherKID, &selfAnnounced), oldPub, nil},
		"by another key under the pin's signature":   {frame(otherPriv, otherKID, &swapped), oldPub, nil},
		"by the old key, its kid naming the new one": {frame(oldPriv, newKID, nil), newPub, oldPub},
		"by the old key once dropped":                {frame(oldPriv, oldKID, nil), newPub, nil},
	} {
		if got := check(f.frame, f.pin, f.old); got != nil {
			t.Errorf("the page accepted a frame %s: %+v", name, got)
		}
	}

	// A Web Push names its key in X-Key-Id.
	webPush := func(key ed25519.PrivateKey, kid string, next *signing.KeyStatement) string {
		raw := body(next)
		h := signing.Sign(key, "POST", "/wp/abc?x=1", "", raw, time.Now())
		return mustJSON(t, map[string]any{"headers": map[string]string{"X-Key-Id": kid, "X-Timestamp": h.Timestamp,
			"X-Nonce": h.Nonce, "X-Signature": h.Signature}, "body": string(raw)})
	}
	checkPush := func(text string) *keyChecked {
		var got *keyChecked
		b.evalAsync(fmt.Sprintf(`window.frame.checkWebPush(%s, %s)`+jsKeysResult, mustJSON(t, text), opts(oldPub, nil)), &got)
		return got
	}
	if got := checkPush(webPush(newPriv, newKID, &genuine)); got == nil || *got != (keyChecked{"apr_1", newKID, "", true}) {
		t.Errorf("a Web Push by the announced key: %+v", got)
	}
	if got := checkPush(webPush(oldPriv, oldKID, &genuine)); got == nil || *got != (keyChecked{"apr_1", newKID, oldKID, true}) {
		t.Errorf("a Web Push by the pin, announcing the new key: %+v", got)
	}
	if got := checkPush(webPush(newPriv, oldKID, &genuine)); got != nil {
		t.Errorf("a Web Push whose X-Key-Id names another key than its signer's was accepted: %+v", got)
	}
}

var rotatedPushLine = regexp.MustCompile(`new push key (\S+): announced to devices now, signed by (\S+),`)

// pushKeys are the kids of the push keys the web authenticator stores: its
// pin and the old key it keeps ("" for none).
func (b *browser) pushKeys() (pin, old string) {
	b.t.Helper()
	var k struct{ Pin, Old string }
	b.evalAsync(`Promise.all([import("./store.js"), import("./sign.js")]).then(async ([st, s]) => {
		const d = await st.loadDevice();
		return {pin: await s.keyID(d.serverKey), old: d.oldServerKey ? await s.keyID(d.oldServerKey) : ""};
	})`, &k)
	return k.Pin, k.Old
}

// apiRequests records the URLs of the page's requests to the API.
type apiRequests struct {
	mu   sync.Mutex
	urls []string
}

func (b *browser) watchAPI() *apiRequests {
	r := &apiRequests{}
	events := chromedp.Events(b.ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if strings.Contains(ev.Request.URL, "/api/v1/") {
				r.mu.Lock()
				r.urls = append(r.urls, ev.Request.Method+" "+ev.Request.URL)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// sent reports whether a request was sent whose method and URL contain each
// of parts.
func (r *apiRequests) sent(parts ...string) bool {
	return r.first(parts...) != ""
}

// first is the first request sent whose method and URL contain each of
// parts, "" when none was.
func (r *apiRequests) first(parts ...string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.urls {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(u, p)
		}
		if all {
			return u
		}
	}
	return ""
}

// rotatePushKey runs `approvald rotate-key --push` against e's database and
// returns the new key's kid and the one that signed its statement.
func rotatePushKey(t *testing.T, e *e2e.Server) (newKID, signedBy string) {
	t.Helper()
	cmd := exec.Command(e2e.Binary(t), "rotate-key", "--push")
	for k, v := range e.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rotate-key --push: %v\n%s", err, stderr.String())
	}
	m := rotatedPushLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("rotate-key --push said %q", out)
	}
	return m[1], m[2]
}

// approveLogin logs u in and approves the login on the web authenticator
// in b; the server must see it approved.
func (b *browser) approveLogin(e *e2e.Server, u e2e.User) {
	t := b.t
	t.Helper()
	l := e.StartLogin(t, u)
	if l.Channel != "push" {
		t.Fatalf("the login went on %q, want push", l.Channel)
	}
	req := fmt.Sprintf(`#requests .request[data-approval-id=%q]`, l.ID)
	b.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null`, req), "the login "+l.ID+" in the authenticator")
	b.fill(req+" .request-number", strconv.Itoa(l.Number))
	b.click(req + " .request-approve")
	e2e.Eventually(t, "the login "+l.ID+" approved", func() bool { return e.Approval(t, l).Str("status") == "approved" })
}

// startRotationSite starts approvald with fast key reloads, so a rotation
// takes a few logins, and a limit of pushes per user those logins do not
// reach.
func startRotationSite(t *testing.T) *e2e.Server {
	return startSite(t, "KEY_RELOAD_INTERVAL=100ms", "PUSH_KEY_GRACE=1h", "LIMIT_PUSHES_PER_USER=1000")
}

// TestWebAuthenticatorFollowsPushKeyRotation: after `rotate-key --push` the
// page, whose websocket opened before it, learns the new key from a login's
// frame, confirms it (the callback and a pull name it), which being the
// only device makes the new key sign; the page verifies the frames signed
// by the new key, dropping the old one, and its logins are approved.
func TestWebAuthenticatorFollowsPushKeyRotation(t *testing.T) {
	t.Parallel()
	e := startRotationSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	phone := openBrowser(t, e.URL)
	api := phone.watchAPI()
	phone.enrollWebAuthenticator(code)
	oldKID, kept := phone.pushKeys()
	if kept != "" {
		t.Fatalf("a device enrolled before any rotation keeps an old key %s", kept)
	}

	approve := func() { phone.approveLogin(e, u) }
	approve()

	newKID, signedBy := rotatePushKey(t, e)
	if signedBy != oldKID || newKID == oldKID {
		t.Fatalf("rotated to %s signed by %s; the page pins %s", newKID, signedBy, oldKID)
	}

	// Within a reload the server announces the new key on the frames,
	// signed by the old key, which keeps signing: the page learns it.
	deadline := time.Now().Add(waitLimit)
	for {
		approve()
		pin, old := phone.pushKeys()
		if pin == newKID {
			if old != oldKID {
				t.Fatalf("the page learned %s and keeps %q as the old key, want %s", newKID, old, oldKID)
			}
			break
		}
		if pin != oldKID || time.Now().After(deadline) {
			t.Fatalf("the page pins %s, want %s within %v", pin, newKID, waitLimit)
		}
	}
	// It confirmed: its requests name the new pin, and the server, having
	// every device's word, lets the new key sign soon.
	e2e.Eventually(t, "the server to see every device confirm", func() bool {
		return strings.Contains(e.Logs.String(), "every device confirmed the new push key")
	})
	if !api.sent("POST ", "/api/v1/callbacks/approval?push_kid="+newKID) {
		t.Error("no callback named the new push key")
	}
	if !api.sent("GET ", "/approvals?push_kid="+newKID) {
		t.Error("no pull named the new push key")
	}

	// The new key signs within four reloads: the page verifies its frames
	// with the new pin and drops the old key.
	for {
		approve()
		if _, old := phone.pushKeys(); old == "" {
			break
		}
		if time.Now().After(deadline.Add(waitLimit)) {
			t.Fatal("the page still keeps the old key: no frame signed by the new key came, or it was not verified")
		}
	}
	approve() // signed by the new key, verified with the pin alone
	if pin, old := phone.pushKeys(); pin != newKID || old != "" {
		t.Errorf("after the rotation the page pins %s and keeps %q", pin, old)
	}
}

// TestWebAuthenticatorEnrolledDuringPushKeyRotation: a page enrolled while
// a new push key waits for devices pins it from the registration answer
// (keeping the key that signs now) and confirms it with the pull it makes
// on connecting, without a login; once the new key signs, its logins are
// verified with it.
func TestWebAuthenticatorEnrolledDuringPushKeyRotation(t *testing.T) {
	t.Parallel()
	e := startRotationSite(t)
	// A command-line device (of another user), enrolled before the
	// rotation (with no device, the new key would sign at once), shows when
	// the server has read the new key: a pull's answer announces it. It
	// has not confirmed it then (its next pull would), so the old key
	// keeps signing.
	_, probe := e.UserWithDevice(t, false)
	newKID, oldKID := rotatePushKey(t, e)
	e2e.Eventually(t, "the server to announce the new push key", func() bool {
		if _, err := probe.Client.Pending(t.Context()); err != nil {
			t.Fatal(err)
		}
		return probe.State.ServerKeyID() == newKID
	})

	u, code := e.UserAndEnrollmentCode(t)
	phone := openBrowser(t, e.URL)
	api := phone.watchAPI()
	phone.enrollWebAuthenticator(code)
	if pin, old := phone.pushKeys(); pin != newKID || old != oldKID {
		t.Fatalf("enrolled during the rotation, the page pins %s and keeps %q; want %s and %s", pin, old, newKID, oldKID)
	}
	e2e.Eventually(t, "a pull of the page naming the new push key", func() bool {
		return api.sent("GET ", "/approvals?push_kid="+newKID)
	})
	// Its first: the page learned the key from the registration answer.
	if first := api.first("GET ", "/approvals?"); !strings.HasSuffix(first, "push_kid="+newKID) {
		t.Errorf("the page's first pull was %q, naming another key than %s", first, newKID)
	}
	// The probe confirms: the server logs that every device has, which
	// it would not had the page's pull not counted.
	if _, err := probe.Client.Pending(t.Context()); err != nil {
		t.Fatal(err)
	}
	e2e.Eventually(t, "the server to see every device confirm", func() bool {
		return strings.Contains(e.Logs.String(), "every device confirmed the new push key")
	})
	deadline := time.Now().Add(waitLimit)
	for {
		phone.approveLogin(e, u)
		if _, old := phone.pushKeys(); old == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page still keeps the old key: no frame signed by the new key came, or it was not verified")
		}
	}
}

// TestWebAuthenticatorWorkerFollowsPushKeyRotation: with the page closed,
// the service worker alone follows a rotation from Web Pushes: it learns
// the key a push announces, confirms it with a pull (the server then has
// every device's word), and verifies the pushes the new key signs (X-Key-Id
// names it), dropping the old key.
func TestWebAuthenticatorWorkerFollowsPushKeyRotation(t *testing.T) {
	t.Parallel()
	svc := webpushtest.New(t)
	e := startRotationSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	origin := strings.TrimSuffix(e.URL, "/")
	phone, reg, worker := enrollWithNotifications(t, e, code)
	sub := svc.Subscribe(t)
	var w authenticator.WebPushSubscription
	w.Endpoint, w.Keys.P256dh, w.Keys.Auth = sub.Endpoint, sub.P256dh, sub.Auth
	phone.evalAsync(fmt.Sprintf(`Promise.all([import("./store.js"), import("./push.js")]).then(([s, p]) =>
		s.loadDevice().then(d => p.sendSubscription(d, %s))).then(() => true)`, mustJSON(t, w)), new(bool))
	oldKID, _ := phone.pushKeys()
	// The page goes (its websocket with it); a file of its scope stays
	// open, to read IndexedDB and the worker's notifications.
	phone.do(chromedp.Navigate(e.URL + "/authenticator/authenticator.css"))

	pushes := 0
	// push logs u in and hands the Web Push to the worker, which must show
	// the login (a verified push).
	push := func() {
		t.Helper()
		l := e.StartLogin(t, u)
		pushes++
		m := svc.Next(t, pushes, 15*time.Second)
		if m.Err != nil {
			t.Fatalf("the push service refused approvald's push: %v", m.Err)
		}
		phone.deliverPush(origin, reg, m.Plaintext)
		worker.wait("approval-" + l.ID)
	}
	push()
	newKID, _ := rotatePushKey(t, e)
	deadline := time.Now().Add(waitLimit)
	for {
		push()
		pin, old := phone.pushKeys()
		if pin == newKID {
			if old != oldKID {
				t.Fatalf("the worker learned %s and keeps %q as the old key, want %s", newKID, old, oldKID)
			}
			break
		}
		if pin != oldKID || time.Now().After(deadline) {
			t.Fatalf("the worker pins %s, want %s within %v", pin, newKID, waitLimit)
		}
	}
	// No page, no answer: the worker's pull alone confirmed.
	e2e.Eventually(t, "the server to see every device confirm", func() bool {
		return strings.Contains(e.Logs.String(), "every device confirmed the new push key")
	})
	for {
		push()
		if _, old := phone.pushKeys(); old == "" {
			break
		}
		if time.Now().After(deadline.Add(waitLimit)) {
			t.Fatal("the worker still keeps the old key: no push signed by the new key came, or it was not verified")
		}
	}
	push() // signed by the new key, verified with the pin alone
}
