package httpapi

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/oidcprovider"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

// noOIDC is an OIDCProvider that serves nothing: the routes only need one
// to be there.
type noOIDC struct{}

func (noOIDC) Handler() http.Handler { return http.NotFoundHandler() }
func (noOIDC) Describe(context.Context, string) (*oidcprovider.Request, error) {
	return nil, core.Errorf(core.ENotFound, "no authorization request")
}

// noSessions has no active session.
type noSessions struct{}

func (noSessions) ActiveSession(context.Context, string) (*core.Session, error) {
	return nil, core.Errorf(core.EUnauthorized, "no such session")
}

func testSSO(t *testing.T) *sso.Cookies {
	t.Helper()
	c, err := sso.New(sso.Config{Key: make([]byte, 32), PublicURL: "http://x"}, noSessions{}, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// routeKeys lists the app's routes as "METHOD /path/{param}", without the
// HEAD twins Fiber adds to GET routes and without Use middleware. The
// server is an OpenID provider and does single sign-on, so the routes of
// both are there.
func routeKeys(t *testing.T) []string {
	t.Helper()
	app := fiber.New()
	addRoutes(app, Config{PublicURL: "http://x", AllowedOrigins: []string{"http://x"}}, Deps{OIDC: noOIDC{}, SSO: testSSO(t)})
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	seen := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead {
			continue
		}
		seen[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(seen) == 0 {
		t.Fatal("addRoutes registered no routes")
	}
	return slices.Sorted(maps.Keys(seen))
}

// documentedKeys lists the document's operations as "METHOD /path".
func documentedKeys(t *testing.T, doc map[string]any) []string {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	var keys []string
	for path, item := range paths {
		ops, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path item %s is not an object", path)
		}
		for _, m := range openAPIMethods {
			if _, ok := ops[m]; ok {
				keys = append(keys, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

func TestOpenAPIIsVersion31(t *testing.T) {
	doc := loadOpenAPI(t)
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	documented := documentedKeys(t, loadOpenAPI(t))
	for _, r := range routeKeys(t) {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
}

// testKeys is an RSA key for the provider's discovery document.
type testKeys struct{ key *rsa.PrivateKey }

func (k testKeys) Signer() (string, string, crypto.Signer) { return "k1", "RS256", k.key }
func (k testKeys) VerificationKeys() []keyring.VerificationKey {
	return []keyring.VerificationKey{{KID: "k1", Alg: "RS256", Public: &k.key.PublicKey}}
}

// The provider's discovery document names only endpoints that routes.go
// mounts (mountOIDC lists op's paths itself), the document's own path among
// them.
func TestOIDCRoutesServeEveryDiscoveredEndpoint(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	type noClients struct{ core.OIDCClientStore }
	type noSecrets struct{ oidcprovider.SecretVerifier }
	type noUsers struct{ oidcprovider.Users }
	type noKV struct{ core.KV }
	p, err := oidcprovider.New(oidcprovider.Config{Issuer: "http://x"}, oidcprovider.Deps{
		Clients: noClients{}, Secrets: noSecrets{}, Users: noUsers{}, Tokens: &session.Service{},
		SSO: testSSO(t), KV: noKV{}, Keys: []oidcprovider.Keys{testKeys{key}}, Clock: core.SystemClock{},
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, oidcprovider.DiscoveryPath, nil))
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		t.Fatalf("discovery document: %d %s", rec.Code, rec.Body)
	}
	paths := []string{oidcprovider.DiscoveryPath}
	for k, v := range doc {
		if s, ok := v.(string); ok && (strings.HasSuffix(k, "_endpoint") || k == "jwks_uri") {
			u, err := url.Parse(s)
			if err != nil || u.Scheme+"://"+u.Host != "http://x" {
				t.Fatalf("%s = %q is not on the issuer", k, s)
			}
			paths = append(paths, u.Path)
		}
	}
	if len(paths) < 8 {
		t.Fatalf("the discovery document names only %v", paths)
	}
	routes := routeKeys(t)
	for _, path := range paths {
		if !slices.ContainsFunc(routes, func(r string) bool { return strings.HasSuffix(r, " "+path) }) {
			t.Errorf("the discovery document names %s, which routes.go does not mount", path)
		}
	}
}

func TestOpenAPIDocumentsNoMissingRoute(t *testing.T) {
	routes := routeKeys(t)
	for _, d := range documentedKeys(t, loadOpenAPI(t)) {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which routes.go does not serve", d)
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	refs := 0
	walkJSON(doc, func(key string, v any) {
		if key != "$ref" && key != "mapping" {
			return
		}
		targets := []any{v}
		if key == "mapping" { // discriminator mappings name schemas too
			m, _ := v.(map[string]any)
			targets = slices.Collect(maps.Values(m))
		}
		for _, target := range targets {
			ref, ok := target.(string)
			if !ok {
				t.Errorf("%s is not a string: %v", key, target)
				continue
			}
			refs++
			if _, err := resolvePointer(doc, ref); err != "" {
				t.Errorf("%s %q does not resolve: %s", key, ref, err)
			}
		}
	})
	if refs == 0 {
		t.Fatal("found no $ref at all; the walk is broken")
	}
}

func TestOpenAPIOperationsAreDescribed(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for m, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok || !slices.Contains(openAPIMethods, m) {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			for _, field := range []string{"summary", "description", "operationId"} {
				if s, _ := op[field].(string); strings.TrimSpace(s) == "" {
					t.Errorf("%s has no %s", where, field)
				}
			}
			if id, _ := op["operationId"].(string); id != "" {
				if other, dup := ids[id]; dup {
					t.Errorf("operationId %q is used by %s and %s", id, other, where)
				}
				ids[id] = where
			}
			if resp, _ := op["responses"].(map[string]any); len(resp) == 0 {
				t.Errorf("%s has no responses", where)
			}
		}
	}
}

// Every {param} in a path is declared as a path parameter of its operations.
func TestOpenAPIPathParametersAreDeclared(t *testing.T) {
	doc := loadOpenAPI(t)
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		want := tmpl.FindAllStringSubmatch(path, -1)
		for m, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok || !slices.Contains(openAPIMethods, m) {
				continue
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if r, ok := p.(map[string]any)["$ref"].(string); ok {
					resolved, err := resolvePointer(doc, r)
					if err != "" {
						continue // reported by TestOpenAPIRefsResolve
					}
					p = resolved
				}
				pm, _ := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, w := range want {
				if !declared[w[1]] {
					t.Errorf("%s %s does not declare path parameter %q", strings.ToUpper(m), path, w[1])
				}
			}
		}
	}
}

// The documented error codes are exactly those the error handler maps.
func TestOpenAPIErrorCodesMatchErrorHandler(t *testing.T) {
	doc := loadOpenAPI(t)
	node, err := resolvePointer(doc, "#/components/schemas/ErrorCode/enum")
	if err != "" {
		t.Fatalf("ErrorCode enum: %s", err)
	}
	var documented []string
	for _, c := range node.([]any) {
		documented = append(documented, c.(string))
	}
	slices.Sort(documented)
	mapped := slices.Sorted(maps.Keys(statusOf))
	if !slices.Equal(documented, mapped) {
		t.Fatalf("ErrorCode enum = %v\nerror handler maps %v", documented, mapped)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	app := fiber.New()
	addRoutes(app, Config{PublicURL: "http://x", AllowedOrigins: []string{"http://x"}}, Deps{})
	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var served map[string]any
	if err := json.NewDecoder(res.Body).Decode(&served); err != nil {
		t.Fatalf("served document does not parse: %v", err)
	}
	if served["openapi"] != loadOpenAPI(t)["openapi"] {
		t.Fatal("served document is not the embedded one")
	}
}

// walkJSON calls fn for every key/value pair of every object in v.
func walkJSON(v any, fn func(key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			fn(k, child)
			walkJSON(child, fn)
		}
	case []any:
		for _, child := range x {
			walkJSON(child, fn)
		}
	}
}

// resolvePointer follows a local reference ("#/a/b~1c") in doc; a non-empty
// string says why it cannot.
func resolvePointer(doc map[string]any, ref string) (any, string) {
	pointer, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, "not a local reference"
	}
	var node any = doc
	if pointer == "" {
		return node, ""
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, "not a JSON pointer"
	}
	for _, token := range strings.Split(pointer[1:], "/") {
		token = strings.NewReplacer("~1", "/", "~0", "~").Replace(token)
		obj, ok := node.(map[string]any)
		if !ok { // our references never point into arrays
			return nil, "pointer goes through a non-object at " + token
		}
		if node, ok = obj[token]; !ok {
			return nil, "no member " + token
		}
	}
	return node, ""
}
