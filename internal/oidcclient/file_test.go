package oidcclient_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/oidcclient"
)

var now = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseFileYAMLAndJSON(t *testing.T) {
	h := oidcclient.NewHasher(key(1))
	wikiSecret := oidcclient.NewSecret()
	grafanaSecret := oidcclient.NewSecret()
	grafanaHash := h.Hash(grafanaSecret)
	getenv := env(map[string]string{"WIKI_SECRET": wikiSecret})

	yamlFile := `
# Operators keep this in git: no secret in it.
clients:
  - client_id: grafana
    name: Grafana
    redirect_uris:
      - https://grafana.example.com/login/generic_oauth
    post_logout_redirect_uris: [https://grafana.example.com/]
    client_secret_hash: ` + grafanaHash + `
  - client_id: wiki
    name: Wiki
    redirect_uris: [https://wiki.example.com/cb, http://127.0.0.1:8080/cb]
    client_secret_env: WIKI_SECRET
    id_token_signed_response_alg: ES256
  - client_id: cli-tool
    name: CLI tool
    public: true
    redirect_uris: ["http://127.0.0.1:8400/callback"]
    id_token_signed_response_alg: EdDSA
`
	jsonFile := `{"clients": [
		{"client_id": "grafana", "name": "Grafana", "redirect_uris": ["https://grafana.example.com/login/generic_oauth"],
		 "post_logout_redirect_uris": ["https://grafana.example.com/"], "client_secret_hash": "` + grafanaHash + `"},
		{"client_id": "wiki", "name": "Wiki", "redirect_uris": ["https://wiki.example.com/cb", "http://127.0.0.1:8080/cb"],
		 "client_secret_env": "WIKI_SECRET", "id_token_signed_response_alg": "ES256"},
		{"client_id": "cli-tool", "name": "CLI tool", "public": true, "redirect_uris": ["http://127.0.0.1:8400/callback"],
		 "id_token_signed_response_alg": "EdDSA"}
	]}`
	var parsed [][]*core.OIDCClient
	for _, f := range []string{yamlFile, jsonFile} {
		clients, err := oidcclient.ParseFile([]byte(f), getenv, h, now)
		if err != nil {
			t.Fatalf("ParseFile: %v", err)
		}
		parsed = append(parsed, clients)
	}
	clients := parsed[0]
	if len(clients) != 3 {
		t.Fatalf("%d clients, want 3", len(clients))
	}
	for _, c := range clients {
		if c.Source != core.ClientFromFile || !c.CreatedAt.Equal(now) {
			t.Fatalf("client %s: source %q, created %v", c.ID, c.Source, c.CreatedAt)
		}
	}
	grafana, wiki, tool := clients[0], clients[1], clients[2]
	if grafana.ID != "grafana" || grafana.Name != "Grafana" || grafana.SecretHash != grafanaHash ||
		!reflect.DeepEqual(grafana.PostLogoutRedirectURIs, []string{"https://grafana.example.com/"}) {
		t.Fatalf("grafana %+v", grafana)
	}
	if !h.VerifySecret(grafana, grafanaSecret) || !h.VerifySecret(wiki, wikiSecret) {
		t.Fatal("the file's secrets do not verify")
	}
	if !reflect.DeepEqual(wiki.RedirectURIs, []string{"https://wiki.example.com/cb", "http://127.0.0.1:8080/cb"}) {
		t.Fatalf("wiki's redirect URIs %v", wiki.RedirectURIs)
	}
	if !tool.Public || tool.SecretHash != "" {
		t.Fatalf("cli-tool %+v", tool)
	}
	// id_token_signed_response_alg as given, RS256 when absent.
	if grafana.IDTokenAlg != "RS256" || wiki.IDTokenAlg != "ES256" || tool.IDTokenAlg != "EdDSA" {
		t.Fatalf("ID token algs %q, %q, %q; want RS256, ES256, EdDSA", grafana.IDTokenAlg, wiki.IDTokenAlg, tool.IDTokenAlg)
	}
	// JSON says the same. (The env secret's hash is deterministic too.)
	if !reflect.DeepEqual(parsed[0], parsed[1]) {
		t.Fatalf("YAML and JSON differ:\n%+v\n%+v", parsed[0], parsed[1])
	}

	// An empty list is a file without clients.
	clients, err := oidcclient.ParseFile([]byte("clients: []\n"), getenv, h, now)
	if err != nil || len(clients) != 0 {
		t.Fatalf("clients: [] gave %v, %v", clients, err)
	}
}

// Every malformed file is refused whole, with an error that names the
// client by its place and id, and holds no secret.
func TestParseFileRefuses(t *testing.T) {
	h := oidcclient.NewHasher(key(1))
	weak := "changeme"
	getenv := env(map[string]string{"WEAK": weak, "GOOD": oidcclient.NewSecret()})
	good := `  - client_id: ok
    name: OK
    redirect_uris: [https://ok.example.com/cb]
    client_secret_env: GOOD
`
	tests := []struct {
		name, file, want string
	}{
		{"empty file", "", "no clients list"},
		{"no clients key", "other: 1\n", `unknown field "other"`},
		{"a list at the top", "- client_id: a\n", "cannot unmarshal"},
		{"bad YAML", "clients: [\n", "yaml"},
		{"duplicate key", "clients: []\nclients: []\n", "already set"},
		{"typo in a key", "clients:\n" + good + "  - client_id: wiki\n    name: Wiki\n    redirect_uri: [https://wiki.example.com/cb]\n    client_secret_env: GOOD\n",
			`client 2: json: unknown field "redirect_uri"`},
		{"wrong type", "clients:\n  - client_id: wiki\n    public: maybe\n", "client 1: "},
		{"no id", "clients:\n  - name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: GOOD\n", `client 1 (""): client_id: must be 1 to 64`},
		{"bad id", "clients:\n  - client_id: a/b\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: GOOD\n", `client 1 ("a/b"): client_id: may hold only`},
		{"id twice", "clients:\n" + good + good, `client 2 ("ok"): client_id: listed before`},
		{"no name", "clients:\n  - client_id: wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: GOOD\n", `client 1 ("wiki"): name: a client needs a name`},
		{"no redirect URI", "clients:\n  - client_id: wiki\n    name: Wiki\n    client_secret_env: GOOD\n", `client 1 ("wiki"): redirect_uris: a client needs at least one`},
		{"http redirect URI", "clients:\n" + good + "  - client_id: wiki\n    name: Wiki\n    redirect_uris: [http://wiki.example.com/cb]\n    client_secret_env: GOOD\n",
			`client 2 ("wiki"): redirect_uris: "http://wiki.example.com/cb" must be https`},
		{"fragment in a post-logout URI", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    post_logout_redirect_uris: ['https://wiki.example.com/#bye']\n    client_secret_env: GOOD\n",
			`client 1 ("wiki"): post_logout_redirect_uris: "https://wiki.example.com/#bye" has a fragment`},
		{"no secret", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n", `client 1 ("wiki"): a confidential client needs client_secret_hash or client_secret_env`},
		{"both secrets", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: GOOD\n    client_secret_hash: " + h.Hash("x") + "\n", "not both"},
		{"plaintext as hash", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_hash: " + weak + "\n", "client_secret_hash is not a hash"},
		{"unset env", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: UNSET\n", "client_secret_env: UNSET is not set"},
		{"weak env secret", "clients:\n  - client_id: wiki\n    name: Wiki\n    redirect_uris: [https://wiki.example.com/cb]\n    client_secret_env: WEAK\n", "client_secret_env: WEAK is shorter than 32 characters"},
		{"public with a secret", "clients:\n  - client_id: tool\n    name: Tool\n    public: true\n    redirect_uris: [http://127.0.0.1/cb]\n    client_secret_env: GOOD\n", "a public client has no secret"},
		{"HS256 ID tokens", "clients:\n" + good + "    id_token_signed_response_alg: HS256\n", `client 1 ("ok"): id_token_signed_response_alg: "HS256" is not offered`},
		{"lower-case alg", "clients:\n" + good + "    id_token_signed_response_alg: eddsa\n", `client 1 ("ok"): id_token_signed_response_alg: "eddsa" is not offered`},
		{"custom scheme, confidential", "clients:\n  - client_id: app\n    name: App\n    redirect_uris: ['com.example.app:/cb']\n    client_secret_env: GOOD\n", "only a public client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients, err := oidcclient.ParseFile([]byte(tt.file), getenv, h, now)
			if err == nil {
				t.Fatalf("accepted: %+v", clients)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), weak) {
				t.Fatalf("error %q holds the secret", err)
			}
		})
	}
}
