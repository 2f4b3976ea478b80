package browsertest

import (
	"context"
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

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/testenv"
)

// screenshotDir is git-ignored; every test leaves its final state there.
var screenshotDir = filepath.Join("..", "..", "testdata-screenshots")

// waitLimit bounds every wait on the page.
const waitLimit = 20 * time.Second

// chromiumPath finds Debian's Chromium ($CHROMIUM overrides). Without it the
// test skips, or fails under CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	testenv.Missing(t, "Chromium (/usr/bin/chromium; `.ci/services chromium` installs it)")
	return ""
}

// browser is one headless Chromium with a fresh profile, showing one tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // approvald's URL

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// openBrowser starts Chromium for t with the flags below (headless, no
// sandbox or GPU, nothing fetched in the background) and a phone-sized
// window. When t ends it saves a screenshot of the final page, fails t
// on an uncaught exception in the page, and stops Chromium.
func openBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "approvald-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(412, 915),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx, base: base}
	t.Cleanup(func() {
		b.finish()
		cancelTab()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	// The first Do starts Chromium and binds it to its context: not one with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	b.do(chromedp.EmulateViewport(412, 915), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	}))
	return b
}

// finish saves the screenshot and reports the page's exceptions and CSP
// violations.
func (b *browser) finish() {
	b.snapshot("")
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		switch {
		case m.IsException():
			b.t.Errorf("the page threw: %s", m)
		case strings.Contains(m.Text, "Content Security Policy"):
			b.t.Errorf("the page broke its CSP: %s", m)
		case b.t.Failed():
			b.t.Logf("console %s: %s", m.Type, m)
		}
	}
}

// snapshot saves a screenshot of the page as <test name><suffix>.png; the
// final one has no suffix, others show a state along the way.
func (b *browser) snapshot(suffix string) {
	t := b.t
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(screenshotDir, 0o755)
	}
	if err == nil {
		name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_") + suffix + ".png"
		err = os.WriteFile(filepath.Join(screenshotDir, name), png, 0o644)
	}
	if err != nil {
		t.Logf("no screenshot: %v", err)
	}
}

// do runs steps, failing the test on an error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads a page of approvald, e.g. "#/signup".
func (b *browser) open(fragment string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/" + fragment))
}

// fill types text into the input sel (after clearing it).
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	// chromedp.Clear empties the value attribute, not what was typed before.
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// text is sel's visible text, trimmed.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression and decodes its value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("evaluating %s: decoding %s: %v", expr, raw, err)
	}
}

// waitJS waits until a JavaScript expression is truthy; what says what is
// awaited, for the failure message.
func (b *browser) waitJS(expr, what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(waitLimit),
		chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s: %v\n%s", what, err, b.describe())
	}
}

// waitText waits until sel's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf(`(document.querySelector(%q)?.textContent || "").includes(%q)`, sel, want),
		fmt.Sprintf("%s to say %q", sel, want))
}

// waitStatus waits for the approval modal's data-status.
func (b *browser) waitStatus(want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf(`document.getElementById("approval-modal").dataset.status === %q`, want),
		"approval status "+want)
}

// waitView waits until the view (login, signup, verify, done, account) shows.
func (b *browser) waitView(name string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf(`!document.getElementById("view-%s").hidden`, name), "the "+name+" view")
}

// describe tells where the page is, for failure messages.
func (b *browser) describe() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const m = document.getElementById("approval-modal");
		const views = [...document.querySelectorAll("main > section")].filter(s => !s.hidden).map(s => s.id);
		return "url " + location.href + "; views " + views + "; modal " + (m.open ? m.dataset.status : "closed") +
			"; status " + JSON.stringify(document.getElementById("approval-status").textContent) +
			"; flash " + JSON.stringify(document.getElementById("flash").textContent);
	})()`))
	if err != nil {
		return "page state unknown: " + err.Error()
	}
	return s
}

// cookies are the browser's cookies for approvald.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}
