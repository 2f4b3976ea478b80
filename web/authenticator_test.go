package web

import (
	"encoding/json"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/net/html"
)

// The web authenticator is an installable app: a manifest with a name, an
// icon, a start URL in its scope and display standalone, and a service
// worker whose app shell is embedded.
func TestAuthenticatorIsInstallable(t *testing.T) {
	files := staticFiles(t)
	var m struct {
		Name      string `json:"name"`
		ShortName string `json:"short_name"`
		StartURL  string `json:"start_url"`
		Scope     string `json:"scope"`
		Display   string `json:"display"`
		Icons     []struct {
			Src, Sizes, Type string
		} `json:"icons"`
	}
	if err := json.Unmarshal([]byte(files["authenticator/manifest.webmanifest"]), &m); err != nil {
		t.Fatalf("the manifest: %v", err)
	}
	if m.Name == "" || m.ShortName == "" || m.Display != "standalone" || m.StartURL == "" ||
		!strings.HasPrefix(path.Join("/authenticator", m.StartURL)+"/", path.Join("/authenticator", m.Scope)+"/") {
		t.Errorf("manifest %+v", m)
	}
	if len(m.Icons) == 0 {
		t.Error("the manifest has no icon")
	}
	for _, icon := range m.Icons {
		if _, ok := files[path.Join("authenticator", icon.Src)]; !ok {
			t.Errorf("the manifest's icon %q is not embedded", icon.Src)
		}
	}

	sw := files["authenticator/sw.js"]
	shell := regexp.MustCompile(`(?s)const SHELL = \[(.*?)\];`).FindStringSubmatch(sw)
	if shell == nil {
		t.Fatal("sw.js names no app shell")
	}
	names := regexp.MustCompile(`'([^']+)'`).FindAllStringSubmatch(shell[1], -1)
	cached := map[string]bool{}
	for _, n := range names {
		p := path.Join("authenticator", n[1])
		cached[p] = true
		if _, ok := files[p]; !ok && n[1] != "./" {
			t.Errorf("the app shell names %q, which is not embedded", n[1])
		}
	}
	// Everything the page loads is in the shell, so it opens offline.
	for name := range files {
		if strings.HasPrefix(name, "authenticator/") && name != "authenticator/sw.js" && !cached[name] {
			t.Errorf("the app shell leaves out %s", name)
		}
	}
}

// Every control of the authenticator page is labelled and its test hooks exist.
func TestAuthenticatorPageIsLabelled(t *testing.T) {
	doc := parsePage(t, staticFiles(t), "authenticator/index.html")
	ids := map[string]int{}
	labelled := map[string]bool{}
	var controls []*html.Node
	var manifest bool
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
		if rel, _ := attr(n, "rel"); n.Data == "link" && rel == "manifest" {
			manifest = true
		}
		if n.Data == "input" {
			controls = append(controls, n)
		}
	})
	if !manifest {
		t.Error("the page links no manifest")
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
	for _, c := range controls {
		if id, _ := attr(c, "id"); !labelled[id] {
			t.Errorf("<input id=%q> has no label", id)
		}
	}
	for _, hook := range []string{"view-enroll", "enroll-code", "enroll-submit", "view-device", "requests", "totp-code", "socket-state", "flash"} {
		if ids[hook] != 1 {
			t.Errorf("the hook #%s is missing", hook)
		}
	}
}

func TestHandlerServesTheAuthenticator(t *testing.T) {
	app := fiber.New()
	app.Use("/", Handler())
	res, err := app.Test(httptest.NewRequest("GET", "/authenticator?code=abc", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 301 || res.Header.Get("Location") != "authenticator/?code=abc" {
		t.Errorf("GET /authenticator = %d to %q, want a redirect to the folder", res.StatusCode, res.Header.Get("Location"))
	}
	for _, tc := range []struct{ path, contentType string }{
		{"/authenticator/", "text/html"},
		{"/authenticator/app.js", "javascript"},
		{"/authenticator/sw.js", "javascript"},
		{"/authenticator/manifest.webmanifest", "application/manifest+json"},
	} {
		res, err := app.Test(httptest.NewRequest("GET", tc.path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s = %d %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}
