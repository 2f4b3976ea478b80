package web

import (
	"io"
	"io/fs"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/net/html"
)

// staticFiles maps each embedded file's path (below static/) to its text.
func staticFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		files[strings.TrimPrefix(p, "static/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func parseIndex(t *testing.T, files map[string]string) *html.Node {
	t.Helper()
	return parsePage(t, files, "index.html")
}

func parsePage(t *testing.T, files map[string]string, name string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(files[name]))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// checkPageRefs: the page name has no inline script or style and refers
// only to embedded files, relatively.
func checkPageRefs(t *testing.T, files map[string]string, name string) {
	t.Helper()
	walk(parsePage(t, files, name), func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if n.Data == "style" {
			t.Errorf("%s has an inline <style>", name)
		}
		if src, ok := attr(n, "src"); n.Data == "script" && (!ok || src == "") {
			t.Errorf("%s has an inline <script>", name)
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("%s: <%s %s=…> is inline code or style", name, n.Data, a.Key)
			}
			if a.Key != "src" && a.Key != "href" {
				continue
			}
			ref := a.Val
			switch {
			case strings.HasPrefix(ref, "#"), name == "index.html" && ref == "api/v1/openapi.json":
			case strings.Contains(ref, ":") || strings.HasPrefix(ref, "/"):
				t.Errorf("%s: <%s %s=%q> is not a relative reference to this server", name, n.Data, a.Key, ref)
			default:
				if _, ok := files[path.Join(path.Dir(name), ref)]; !ok {
					t.Errorf("%s: <%s %s=%q> names no embedded file", name, n.Data, a.Key, ref)
				}
			}
		}
	})
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// The pages load nothing from elsewhere and nothing inline, so the CSP
// (default-src 'self', no 'unsafe-inline') allows all of them.
func TestPagesLoadOnlyTheirOwnFiles(t *testing.T) {
	files := staticFiles(t)
	for name := range files {
		if strings.HasSuffix(name, ".html") {
			checkPageRefs(t, files, name)
		}
	}

	importRE := regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)

	for name, text := range files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(text, -1) {
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %q, not a file of its own folder", name, m[1])
			} else if _, ok := files[path.Join(path.Dir(name), m[1])]; !ok {
				t.Errorf("%s imports %q, which is not embedded", name, m[1])
			}
		}
		for _, banned := range []string{"localStorage", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "http://", "https://", ".style."} {
			if strings.Contains(text, banned) {
				t.Errorf("%s uses %s", name, banned)
			}
		}
	}
	for name, text := range files {
		if strings.HasSuffix(name, ".css") && strings.Contains(text, "url(") {
			t.Errorf("%s loads a resource with url()", name)
		}
	}
}

// Every id is unique, every form control has a label, and the hooks the
// browser tests (and integrators) rely on exist.
func TestPagesAreLabelled(t *testing.T) {
	doc := parseIndex(t, staticFiles(t))
	ids := map[string]int{}
	labelled := map[string]bool{}
	var controls []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if id, ok := attr(n, "id"); ok {
			ids[id]++
		}
		if f, ok := attr(n, "for"); ok && n.Data == "label" {
			labelled[f] = true
		}
		switch n.Data {
		case "input", "select", "textarea":
			controls = append(controls, n)
		}
	})
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
	for _, c := range controls {
		id, _ := attr(c, "id")
		_, hiddenInput := attr(c, "hidden")
		_, ariaLabel := attr(c, "aria-label")
		if !labelled[id] && !ariaLabel && !hiddenInput {
			t.Errorf("<%s id=%q> has no label", c.Data, id)
		}
	}
	for _, hook := range []string{"approval-modal", "match-number", "code", "approval-status", "sms-button", "totp-button"} {
		if ids[hook] != 1 {
			t.Errorf("the hook #%s is missing", hook)
		}
	}
}

func TestHandlerServesThePages(t *testing.T) {
	app := fiber.New()
	app.Use("/", Handler())
	for _, tc := range []struct{ path, contentType string }{
		{"/", "text/html"},
		{"/js/app.js", "javascript"},
		{"/style.css", "text/css"},
		{"/favicon.svg", "image/svg+xml"},
	} {
		res, err := app.Test(httptest.NewRequest("GET", tc.path, nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.contentType) || len(body) == 0 {
			t.Errorf("GET %s = %d %q (%d bytes)", tc.path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", tc.path, cc)
		}
	}
	res, err := app.Test(httptest.NewRequest("GET", "/nothing-here.js", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 404 {
		t.Errorf("GET of a missing file = %d, want 404", res.StatusCode)
	}
}

// The cooldowns the pages count down are the server's (GET web/config, read
// by api.js's loadSettings): no script sets one of its own.
func TestPagesRepeatNoCooldown(t *testing.T) {
	cooldownRE := regexp.MustCompile(`(?i)cooldown\w*\s*[=:]\s*[1-9]`)
	for name, text := range staticFiles(t) {
		if strings.HasSuffix(name, ".js") {
			if m := cooldownRE.FindString(text); m != "" {
				t.Errorf("%s sets a cooldown of its own: %q", name, m)
			}
		}
	}
}
