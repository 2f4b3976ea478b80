package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/testenv"
)

// firefoxPath finds Debian's Firefox ESR ($FIREFOX overrides). Without it the
// test skips, or fails under CI=true.
func firefoxPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("FIREFOX"), "/usr/bin/firefox-esr", "firefox-esr", "firefox"} {
		if p == "" {
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	testenv.Missing(t, "Firefox (/usr/bin/firefox-esr; `.ci/services firefox` installs it)")
	return ""
}

// quietPrefs stop Firefox's background traffic (updates, safe browsing,
// telemetry, captive-portal and connectivity checks…): the test machines may
// have no internet, and the page must be the only thing talking.
const quietPrefs = `
user_pref("app.normandy.enabled", false);
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.update.checkInstallTime", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.enabled", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.discovery.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.ping-centre.telemetry", false);
user_pref("browser.region.network.url", "");
user_pref("browser.region.update.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.provider.google.updateURL", "");
user_pref("browser.safebrowsing.provider.google4.updateURL", "");
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.search.suggest.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.tabs.crashReporting.sendReport", false);
user_pref("browser.topsites.contile.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.policy.firstRunURL", "");
user_pref("extensions.blocklist.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("geo.provider.network.url", "");
user_pref("identity.fxaccounts.enabled", false);
user_pref("media.gmp-manager.url", "");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.prefetch-next", false);
user_pref("network.trr.mode", 5);
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.newProfilePing.enabled", false);
user_pref("toolkit.telemetry.server", "");
user_pref("toolkit.telemetry.shutdownPingSender.enabled", false);
user_pref("toolkit.telemetry.unified", false);
`

// pageWatch runs in every document before its own scripts (a BiDi preload
// script) and keeps what the test cannot ask the page afterwards: uncaught
// errors and CSP violations, every data-status the approval modal takes,
// and the frames the page's websockets receive.
const pageWatch = `() => {
	const seen = { errors: [], statuses: [], frames: [] };
	Object.defineProperty(window, "__approvaldTest", { value: seen });
	window.addEventListener("error", (e) =>
		seen.errors.push("uncaught " + e.message + " at " + e.filename + ":" + e.lineno));
	window.addEventListener("unhandledrejection", (e) =>
		seen.errors.push("unhandled rejection: " + e.reason));
	document.addEventListener("securitypolicyviolation", (e) =>
		seen.errors.push("CSP violation: " + e.violatedDirective + " " + e.blockedURI));
	document.addEventListener("DOMContentLoaded", () => {
		const modal = document.getElementById("approval-modal");
		if (!modal) return;
		new MutationObserver((records) => {
			// A batch may hold several changes: each record has the value before it.
			const values = records.slice(1).map((r) => r.oldValue).concat(modal.dataset.status);
			for (const v of values) if (seen.statuses.at(-1) !== v) seen.statuses.push(v);
		}).observe(modal, { attributes: true, attributeFilter: ["data-status"], attributeOldValue: true });
	});
	const Native = window.WebSocket;
	window.WebSocket = class extends Native {
		constructor(...args) {
			super(...args);
			this.addEventListener("message", (e) => seen.frames.push(String(e.data)));
		}
	};
}`

// firefox is one headless Firefox ESR with a fresh profile, driven over
// WebDriver BiDi, showing one tab. Its methods mirror browser's.
type firefox struct {
	t       *testing.T
	base    string // approvald's URL
	bidi    *bidiConn
	context string // the tab's browsing context id
	loaded  bool   // a page of approvald is showing
}

// openFirefox starts Firefox for t with a phone-sized viewport. When t ends
// it saves a screenshot of the final page, fails t on errors the page
// reported, and stops Firefox.
func openFirefox(t *testing.T, base string) *firefox {
	t.Helper()
	exe := firefoxPath(t)
	profile, err := os.MkdirTemp("", "approvald-firefox-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(quietPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	// Port 0: Firefox picks a free port and writes it to WebDriverBiDiServer.json.
	cmd := exec.Command(exe, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0")
	// MOZ_DISABLE_NONLOCAL_CONNECTIONS, as Mozilla's own test harnesses use
	// it, refuses connections beyond loopback and lets the prefs above point
	// Remote Settings at its dummy server.
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_NONLOCAL_CONNECTIONS=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Firefox: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	f := &firefox{t: t, base: base}
	t.Cleanup(func() {
		grace := time.Duration(0) // no BiDi connection: nothing asked Firefox to quit
		if f.bidi != nil {
			f.finish()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = f.bidi.call(ctx, "browser.close", nil, nil)
			cancel()
			_ = f.bidi.close()
			grace = 10 * time.Second
		}
		select {
		case <-exited:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("Firefox's output:\n%s", out.String())
		}
		_ = os.RemoveAll(profile)
	})

	url, err := bidiURL(profile, exited)
	if err != nil {
		t.Fatalf("starting Firefox: %v\n%s", err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if f.bidi, err = dialBiDi(ctx, url); err != nil {
		t.Fatalf("connecting to Firefox at %s: %v", url, err)
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	f.call("session.new", map[string]any{"capabilities": map[string]any{}}, nil)
	f.call("browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("Firefox has no tab")
	}
	f.context = tree.Contexts[0].Context
	f.call("browsingContext.setViewport", map[string]any{"context": f.context,
		"viewport": map[string]int{"width": 412, "height": 915}}, nil)
	f.call("script.addPreloadScript", map[string]any{"functionDeclaration": pageWatch}, nil)
	return f
}

// bidiURL waits for Firefox to write its BiDi server's address.
func bidiURL(profile string, exited <-chan struct{}) (string, error) {
	deadline := time.After(waitLimit)
	for {
		raw, err := os.ReadFile(filepath.Join(profile, "WebDriverBiDiServer.json"))
		if err == nil {
			var addr struct {
				Host string `json:"ws_host"`
				Port int    `json:"ws_port"`
			}
			if json.Unmarshal(raw, &addr) == nil && addr.Port != 0 {
				return fmt.Sprintf("ws://%s:%d/session", addr.Host, addr.Port), nil
			}
		}
		select {
		case <-exited:
			return "", fmt.Errorf("Firefox exited before its BiDi server listened")
		case <-deadline:
			return "", fmt.Errorf("no BiDi server in %s", waitLimit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// call sends one BiDi command, failing the test on an error.
func (f *firefox) call(method string, params, out any) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := f.bidi.call(ctx, method, params, out); err != nil {
		f.t.Fatalf("Firefox: %v", err)
	}
}

// evaluate runs a JavaScript expression (awaiting a promise) and decodes
// its value, passed through JSON, into out (unless nil).
func (f *firefox) evaluate(expr string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var res struct {
		Type   string `json:"type"`
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := f.bidi.call(ctx, "script.evaluate", map[string]any{
		"expression":      fmt.Sprintf(`(async () => { const v = await (%s); return JSON.stringify(v === undefined ? null : v); })()`, expr),
		"target":          map[string]string{"context": f.context},
		"awaitPromise":    true,
		"resultOwnership": "none",
	}, &res)
	switch {
	case err != nil:
		return err
	case res.Type == "exception":
		return fmt.Errorf("the page threw: %s", res.ExceptionDetails.Text)
	case out == nil:
		return nil
	}
	return json.Unmarshal([]byte(res.Result.Value), out)
}

// eval is evaluate that fails the test on an error.
func (f *firefox) eval(expr string, out any) {
	f.t.Helper()
	if err := f.evaluate(expr, out); err != nil {
		f.t.Fatalf("evaluating %s: %v", expr, err)
	}
}

// open loads a page of approvald, e.g. "#/signup".
func (f *firefox) open(fragment string) {
	f.t.Helper()
	if f.loaded {
		f.checkPage() // what the page leaving now saw is lost with it
	}
	f.call("browsingContext.navigate", map[string]any{"context": f.context, "url": f.base + "/" + fragment, "wait": "complete"}, nil)
	f.loaded = true
}

// waitJS waits until a JavaScript expression is truthy; what says what is
// awaited, for the failure message.
func (f *firefox) waitJS(expr, what string) {
	f.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var ok bool
		err := f.evaluate("!!("+expr+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waiting for %s (last error: %v)\n%s", what, err, f.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// usable is JavaScript for "sel is shown and can be used".
func usable(sel string) string {
	return fmt.Sprintf(`(e => e && e.checkVisibility() && !e.disabled)(document.querySelector(%q))`, sel)
}

// fill sets the input sel to text as typing would, with input and change
// events.
func (f *firefox) fill(sel, text string) {
	f.t.Helper()
	f.waitJS(usable(sel), sel+" to be usable")
	f.eval(fmt.Sprintf(`(e => { e.focus(); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(%[2]q))`, text, sel), nil)
}

func (f *firefox) click(sel string) {
	f.t.Helper()
	f.waitJS(usable(sel), sel+" to be usable")
	f.eval(fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil)
}

// text is sel's text, trimmed.
func (f *firefox) text(sel string) string {
	f.t.Helper()
	var s string
	f.eval(fmt.Sprintf(`document.querySelector(%q).textContent.trim()`, sel), &s)
	return s
}

func (f *firefox) waitText(sel, want string) {
	f.t.Helper()
	f.waitJS(fmt.Sprintf(`(document.querySelector(%q)?.textContent || "").includes(%q)`, sel, want),
		fmt.Sprintf("%s to say %q", sel, want))
}

func (f *firefox) waitStatus(want string) {
	f.t.Helper()
	f.waitJS(fmt.Sprintf(`document.getElementById("approval-modal").dataset.status === %q`, want),
		"approval status "+want)
}

func (f *firefox) waitView(name string) {
	f.t.Helper()
	f.waitJS(fmt.Sprintf(`!document.getElementById("view-%s").hidden`, name), "the "+name+" view")
}

// watched is what pageWatch kept in the current document.
type watched struct {
	Errors   []string `json:"errors"`
	Statuses []string `json:"statuses"`
	Frames   []string `json:"frames"`
}

func (f *firefox) watched() watched {
	f.t.Helper()
	var w watched
	f.eval(`window.__approvaldTest`, &w)
	return w
}

// checkPage fails the test on the page's uncaught errors and CSP violations.
func (f *firefox) checkPage() {
	f.t.Helper()
	var w watched
	if err := f.evaluate(`window.__approvaldTest`, &w); err != nil {
		f.t.Errorf("reading the page's errors: %v", err)
		return
	}
	for _, e := range w.Errors {
		f.t.Errorf("the page reported: %s", e)
	}
}

// finish saves the final screenshot and checks the page.
func (f *firefox) finish() {
	f.snapshot("")
	if f.loaded {
		f.checkPage()
	}
}

// snapshot saves a screenshot of the whole page as <test name><suffix>.png.
func (f *firefox) snapshot(suffix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var shot struct {
		Data string `json:"data"`
	}
	err := f.bidi.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": f.context, "origin": "document"}, &shot)
	var png []byte
	if err == nil {
		png, err = base64.StdEncoding.DecodeString(shot.Data)
	}
	if err == nil {
		err = os.MkdirAll(screenshotDir, 0o755)
	}
	if err == nil {
		name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(f.t.Name(), "_") + suffix + ".png"
		err = os.WriteFile(filepath.Join(screenshotDir, name), png, 0o644)
	}
	if err != nil {
		f.t.Logf("no screenshot: %v", err)
	}
}

// describe tells where the page is, for failure messages.
func (f *firefox) describe() string {
	var s string
	err := f.evaluate(`(() => {
		const m = document.getElementById("approval-modal");
		const views = [...document.querySelectorAll("main > section")].filter(s => !s.hidden).map(s => s.id);
		return "url " + location.href + "; views " + views + "; modal " + (m.open ? m.dataset.status : "closed") +
			"; status " + JSON.stringify(document.getElementById("approval-status").textContent) +
			"; flash " + JSON.stringify(document.getElementById("flash").textContent) +
			"; page errors " + JSON.stringify(window.__approvaldTest?.errors);
	})()`, &s)
	if err != nil {
		return "page state unknown: " + err.Error()
	}
	return s
}

// bidiCookie is a cookie as BiDi's storage.getCookies shows it.
type bidiCookie struct {
	Name  string `json:"name"`
	Value struct {
		Value string `json:"value"`
	} `json:"value"`
	Path     string `json:"path"`
	HTTPOnly bool   `json:"httpOnly"`
	SameSite string `json:"sameSite"`
}

func (f *firefox) cookies() []bidiCookie {
	f.t.Helper()
	var res struct {
		Cookies []bidiCookie `json:"cookies"`
	}
	f.call("storage.getCookies", map[string]any{"partition": map[string]string{"type": "context", "context": f.context}}, &res)
	return res.Cookies
}

// syncBuffer collects a process's output from its two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
