package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/webpush/webpushtest"
)

// Web Push in the web authenticator's service worker. Headless Chromium
// cannot reach a vendor's push service, so PushManager.subscribe fails
// offline; instead the device's subscription is one of the test push
// service (webpushtest), handed to the server by the page's own module
// (push.js, signed with the device's key in IndexedDB, as the worker does
// on pushsubscriptionchange), and what approvald sent there, decrypted, is
// delivered to the worker through the DevTools protocol
// (ServiceWorker.deliverPushMessage), as a push service would.

// serviceWorkers follows the page's service worker registrations.
type serviceWorkers struct {
	mu   sync.Mutex
	regs map[string]serviceworker.RegistrationID // scope URL → id
	seen chan struct{}
}

// watchServiceWorkers turns on the ServiceWorker domain of b's tab and
// keeps its registrations.
func (b *browser) watchServiceWorkers() *serviceWorkers {
	b.t.Helper()
	w := &serviceWorkers{regs: map[string]serviceworker.RegistrationID{}, seen: make(chan struct{}, 1)}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		switch e := ev.(type) {
		case *serviceworker.EventWorkerErrorReported:
			b.t.Logf("service worker error: %+v", e.ErrorMessage)
		}
		u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated)
		if !ok {
			return
		}
		w.mu.Lock()
		for _, r := range u.Registrations {
			if r.IsDeleted {
				delete(w.regs, r.ScopeURL)
			} else {
				w.regs[r.ScopeURL] = r.RegistrationID
			}
		}
		w.mu.Unlock()
		select {
		case w.seen <- struct{}{}:
		default:
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{})
		return err
	}))
	return w
}

// registration waits for the registration of scope.
func (w *serviceWorkers) registration(t *testing.T, scope string) serviceworker.RegistrationID {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		w.mu.Lock()
		id, ok := w.regs[scope]
		w.mu.Unlock()
		if ok {
			return id
		}
		select {
		case <-w.seen:
		case <-deadline:
			t.Fatalf("no service worker registration for %s", scope)
		}
	}
}

// grantNotifications lets b's pages at origin show notifications.
func (b *browser) grantNotifications(origin string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin,
		})
		return err
	}))
}

// deliverPush hands data to the service worker as its push service would.
func (b *browser) deliverPush(origin string, reg serviceworker.RegistrationID, data []byte) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
			Origin: origin, RegistrationID: reg, Data: string(data),
		})
		return err
	}))
}

type shownNotification struct {
	Title, Body, Tag string
	Data             map[string]any
}

// displayed are the notifications the browser displays now (headless
// Chromium may drop one at once: see shownRecorder).
func (b *browser) displayed() []shownNotification {
	b.t.Helper()
	var list []shownNotification
	b.evalAsync(`navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns =>
		ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))`, &list)
	return list
}

// enrollWithNotifications opens a browser that allows notifications,
// enrolls the web authenticator with code and waits until its service
// worker controls the page; it returns the browser, the worker's
// registration, to deliver pushes to, and a record of what it shows.
func enrollWithNotifications(t *testing.T, e *e2e.Server, code string) (*browser, serviceworker.RegistrationID, *shownRecorder) {
	t.Helper()
	phone := openBrowser(t, e.URL)
	workers := phone.watchServiceWorkers()
	phone.grantNotifications(strings.TrimSuffix(e.URL, "/"))
	phone.enrollWebAuthenticator(code)
	phone.waitJS(`navigator.serviceWorker.controller !== null`, "the service worker to control the page")
	reg := workers.registration(t, e.URL+"/authenticator/")
	return phone, reg, phone.recordShown(e.URL + "/authenticator/")
}

func TestWebAuthenticatorWebPushNotification(t *testing.T) {
	t.Parallel()
	svc := webpushtest.New(t)
	e := startSite(t)
	u, code := e.UserAndEnrollmentCode(t)
	origin := strings.TrimSuffix(e.URL, "/")
	phone, reg, worker := enrollWithNotifications(t, e, code)
	// Offline, subscribing never answered: the page enrolled without Web
	// Push after its wait, rather than not at all.
	var none any
	phone.evalAsync(`import("./store.js").then(s => s.loadDevice()).then(d => d.webPush)`, &none)
	if none != nil {
		t.Fatalf("enrolled with the subscription %v offline", none)
	}

	// The device's subscription is the test push service's, given to the
	// server by the page's module, signed with the key in IndexedDB.
	sub := svc.Subscribe(t)
	var w authenticator.WebPushSubscription
	w.Endpoint, w.Keys.P256dh, w.Keys.Auth = sub.Endpoint, sub.P256dh, sub.Auth
	var stored string
	phone.evalAsync(fmt.Sprintf(`Promise.all([import("./store.js"), import("./push.js")]).then(([s, p]) =>
		s.loadDevice().then(d => p.sendSubscription(d, %s)).then(() => s.loadDevice())).then(d => d.webPush.endpoint)`, mustJSON(t, w)), &stored)
	if stored != sub.Endpoint {
		t.Fatalf("the page kept the endpoint %q", stored)
	}

	login := openBrowser(t, e.URL)
	login.logIn(u)
	login.waitStatus("pending")
	n := login.matchNumber()
	m := svc.Next(t, 1, 15*time.Second)
	if m.Err != nil {
		t.Fatalf("the push service refused approvald's push: %v", m.Err)
	}
	var push authenticator.PushRequest
	if err := json.Unmarshal([]byte(m.Signed.Body), &push); err != nil || push.Context == nil {
		t.Fatalf("push body %s: %v", m.Signed.Body, err)
	}

	// Delivered to the worker, it shows the login's context under the
	// approval's tag, and never the number.
	phone.deliverPush(origin, reg, m.Plaintext)
	shown := worker.wait("approval-" + push.ApprovalID)
	wantBody := push.Context.Browser + " on " + push.Context.OS
	if push.Context.Location != "" {
		wantBody = "near " + push.Context.Location + " · " + wantBody
	}
	if shown.Title != "Log in to approvald" || shown.Body != wantBody || !strings.Contains(shown.Body, "Linux") {
		t.Errorf("the notification says %q / %q, want %q / %q", shown.Title, shown.Body, "Log in to approvald", wantBody)
	}
	if shown.Data["approvalID"] != push.ApprovalID {
		t.Errorf("the notification's data %v", shown.Data)
	}
	if !strings.ContainsAny(wantBody, "0123456789") && strings.Contains(shown.Title+shown.Body, strconv.Itoa(n)) {
		t.Errorf("the notification shows the number %d", n)
	}

	// A click opens the authenticator on the request (?approval=, which
	// the worker's notificationclick opens; DevTools cannot click a
	// notification): it is marked and takes the number. The notification
	// is still up.
	phone.do(chromedp.Navigate(e.URL + "/authenticator/?approval=" + url.QueryEscape(push.ApprovalID)))
	sel := fmt.Sprintf(`#requests .request[data-approval-id=%q]`, push.ApprovalID)
	phone.waitJS(fmt.Sprintf(`document.querySelector(%q)?.classList.contains("request-wanted")`, sel), "the clicked request, marked")
	if strings.Contains(phone.location(), "approval=") {
		t.Error("the approval id stays in the address")
	}
	// Approved, its notification is taken down: no login waits.
	phone.fill(sel+" .request-number", strconv.Itoa(n))
	phone.click(sel + " .request-approve")
	login.expectAccount(u)
	e2e.Eventually(t, "the approved login's notification to close", func() bool { return len(phone.displayed()) == 0 })

	// Tampered payloads (another application named or another device in
	// the signed body, no signature, not the signed JSON at all) show only
	// the generic notification, nothing of their content.
	var signed struct {
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal(m.Plaintext, &signed); err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(signed.Body, `"message":`, `"app":"Evil Corp","message":`, 1)
	if forged == signed.Body {
		t.Fatalf("could not tamper with %s", signed.Body)
	}
	for name, payload := range map[string]any{
		"another app":    map[string]any{"headers": signed.Headers, "body": forged},
		"not JSON":       "not a signed push",
		"no signature":   map[string]any{"headers": map[string]string{}, "body": signed.Body},
		"another device": map[string]any{"headers": signed.Headers, "body": strings.Replace(signed.Body, push.DeviceID, "dev_other", 1)},
	} {
		phone.evalAsync(`navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => { ns.forEach(n => n.close()); return true; })`, new(bool))
		worker.clear()
		data := []byte(mustJSON(t, payload))
		if s, ok := payload.(string); ok {
			data = []byte(s)
		}
		phone.deliverPush(origin, reg, data)
		generic := worker.wait("approvald-unverified")
		if generic.Title != "Login request" || strings.Contains(generic.Body, "Evil") || strings.Contains(generic.Body, "Linux") || generic.Data != nil {
			t.Errorf("%s: the generic notification says %q / %q %v", name, generic.Title, generic.Body, generic.Data)
		}
		for _, other := range worker.shown() {
			if other.Tag != "approvald-unverified" {
				t.Errorf("%s: a notification %+v beside the generic one", name, other)
			}
		}
	}
}
