package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/oidcclient"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// cliEnv is the environment `approvald clients` shares with a server on
// b: a fresh database, and on PostgreSQL a SECRET_KEY (SQLite makes its key
// file beside the database, as serve does).
func cliEnv(t *testing.T, b e2e.Backend) map[string]string {
	t.Helper()
	if b == e2e.SQLite {
		return map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "approvald.db")}
	}
	return map[string]string{
		"DATABASE_URL": testenv.PostgresURL(t),
		"SECRET_KEY":   base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
	}
}

// approvald runs `approvald args…` in this process with env and returns
// what it printed and its error (main prints it on stderr and exits 1).
func approvald(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"approvald"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustApprovald is approvald that must succeed.
func mustApprovald(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := approvald(t, env, args...)
	if err != nil {
		t.Fatalf("approvald %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// jsonLines decodes every line of out as one JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

func keysOf(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// listed is `approvald clients list` by client id.
func listed(t *testing.T, env map[string]string) map[string]map[string]any {
	t.Helper()
	byID := map[string]map[string]any{}
	for _, c := range jsonLines(t, mustApprovald(t, env, "clients", "list")) {
		byID[c["client_id"].(string)] = c
	}
	return byID
}

// storedClient reads client id from env's database, with the hasher that
// env's SECRET_KEY gives.
func storedClient(t *testing.T, env map[string]string, id string) (*core.OIDCClient, *oidcclient.Hasher) {
	t.Helper()
	ctx := context.Background()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := clientSecretHasher(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.OIDCClient(ctx, id)
	if err != nil {
		t.Fatalf("client %s: %v", id, err)
	}
	return c, h
}

var listKeys = []string{"client_id", "created_at", "id_token_signed_response_alg", "name", "post_logout_redirect_uris", "public", "redirect_uris", "source"}

// TestClientsCLI: add prints the id and a secret that verifies (no secret
// with --public), list prints JSON lines without secrets, remove removes,
// and every mistake is an error with nothing printed on stdout.
func TestClientsCLI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := cliEnv(t, b)
		out := mustApprovald(t, env, "clients", "add", "--name", "Wiki",
			"--redirect-uri", "https://wiki.example.com/callback", "--redirect-uri", "http://127.0.0.1:8080/callback",
			"--post-logout-redirect-uri", "https://wiki.example.com/")
		added := jsonLines(t, out)
		if len(added) != 1 || !slices.Equal(keysOf(added[0]), []string{"client_id", "client_secret"}) {
			t.Fatalf("clients add printed %q, want one object with client_id and client_secret", out)
		}
		wikiID, secret := added[0]["client_id"].(string), added[0]["client_secret"].(string)
		if !core.HasPrefix(wikiID, core.PrefixOIDCClient) || len(secret) != 43 {
			t.Fatalf("client_id %q, client_secret of %d characters", wikiID, len(secret))
		}
		wiki, h := storedClient(t, env, wikiID)
		if !h.VerifySecret(wiki, secret) || h.VerifySecret(wiki, oidcclient.NewSecret()) {
			t.Fatal("the printed secret does not verify, or another one does")
		}
		if strings.Contains(wiki.SecretHash, secret) || wiki.Source != core.ClientFromCLI {
			t.Fatalf("stored %+v", wiki)
		}

		out = mustApprovald(t, env, "clients", "add", "--public", "--name", "CLI tool", "--redirect-uri", "http://[::1]:8400/cb", "--id-token-alg", "EdDSA")
		added = jsonLines(t, out)
		if len(added) != 1 || !slices.Equal(keysOf(added[0]), []string{"client_id"}) {
			t.Fatalf("clients add --public printed %q, want only a client_id", out)
		}
		toolID := added[0]["client_id"].(string)

		out = mustApprovald(t, env, "clients", "list")
		if strings.Contains(out, secret) || strings.Contains(out, "secret") || strings.Contains(out, "hmac") {
			t.Fatalf("clients list shows a secret or its hash: %s", out)
		}
		lines := jsonLines(t, out)
		if len(lines) != 2 || lines[0]["client_id"] != wikiID || lines[1]["client_id"] != toolID {
			t.Fatalf("clients list printed %q, want wiki then the tool", out)
		}
		for _, l := range lines {
			if !slices.Equal(keysOf(l), listKeys) || l["source"] != "cli" {
				t.Fatalf("list line %v", l)
			}
		}
		if got := lines[0]["redirect_uris"]; !slices.Equal(anyStrings(got), []string{"https://wiki.example.com/callback", "http://127.0.0.1:8080/callback"}) {
			t.Fatalf("redirect_uris %v", got)
		}
		if lines[0]["public"] != false || lines[1]["public"] != true || len(anyStrings(lines[1]["post_logout_redirect_uris"])) != 0 {
			t.Fatalf("list lines %v", lines)
		}
		// --id-token-alg: RS256 unless given, stored and listed.
		if lines[0]["id_token_signed_response_alg"] != "RS256" || lines[1]["id_token_signed_response_alg"] != "EdDSA" {
			t.Fatalf("list lines' ID token algorithms: %v, %v", lines[0]["id_token_signed_response_alg"], lines[1]["id_token_signed_response_alg"])
		}
		if tool, _ := storedClient(t, env, toolID); tool.IDTokenAlg != core.IDTokenEdDSA || wiki.IDTokenAlg != core.IDTokenRS256 {
			t.Fatalf("stored ID token algorithms %q, %q", wiki.IDTokenAlg, tool.IDTokenAlg)
		}

		// Mistakes: an error, nothing on stdout, nothing stored.
		for _, args := range [][]string{
			{"clients", "add", "--name", "Evil", "--redirect-uri", "http://evil.example.com/cb"},
			{"clients", "add", "--name", "Frag", "--redirect-uri", "https://wiki.example.com/cb#x"},
			{"clients", "add", "--name", "Nowhere"},
			{"clients", "add", "--redirect-uri", "https://wiki.example.com/cb"},
			{"clients", "add", "--name", "App", "--redirect-uri", "com.example.app:/cb"}, // a native scheme needs --public
			{"clients", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "extra"},
			{"clients", "add", "--nope"},
			{"clients", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "--id-token-alg", "HS256"},
			{"clients", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "--id-token-alg", "es256"},
			{"clients", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "--id-token-alg", ""},
			{"clients", "remove", "clt_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
			{"clients", "remove"},
			{"clients", "list", "extra"},
			{"clients"},
			{"clients", "frob"},
		} {
			out, _, err := approvald(t, env, args...)
			if err == nil || out != "" {
				t.Fatalf("approvald %s: error %v, printed %q", strings.Join(args, " "), err, out)
			}
		}
		_, _, err := approvald(t, env, "clients", "add", "--name", "Evil", "--redirect-uri", "http://evil.example.com/cb")
		if !strings.Contains(err.Error(), "--redirect-uri") || !strings.Contains(err.Error(), "must be https") {
			t.Fatalf("the refusal says %q", err)
		}
		_, _, err = approvald(t, env, "clients", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "--id-token-alg", "none")
		if !strings.Contains(err.Error(), "--id-token-alg") || !strings.Contains(err.Error(), "RS256, ES256 or EdDSA") {
			t.Fatalf("the refusal of --id-token-alg none says %q", err)
		}
		if n := len(listed(t, env)); n != 2 {
			t.Fatalf("%d clients after the mistakes, want 2", n)
		}

		mustApprovald(t, env, "clients", "remove", toolID)
		if ids := slices.Collect(maps.Keys(listed(t, env))); !slices.Equal(ids, []string{wikiID}) {
			t.Fatalf("clients after remove: %v", ids)
		}
		if _, _, err := approvald(t, env, "clients", "remove", toolID); err == nil || !strings.Contains(err.Error(), "no client has the id") {
			t.Fatalf("removing it again: %v", err)
		}

		// hash-secret: a new secret and the hash CLIENTS_FILE takes.
		lines = jsonLines(t, mustApprovald(t, env, "clients", "hash-secret"))
		if len(lines) != 1 || !slices.Equal(keysOf(lines[0]), []string{"client_secret", "client_secret_hash"}) {
			t.Fatalf("hash-secret printed %v", lines)
		}
		c := &core.OIDCClient{SecretHash: lines[0]["client_secret_hash"].(string)}
		if !h.VerifySecret(c, lines[0]["client_secret"].(string)) {
			t.Fatal("hash-secret's hash does not verify its secret")
		}

		// As a process: the error on stderr, exit status 1.
		if b == e2e.SQLite {
			cmd := exec.Command(e2e.Binary(t), "clients", "remove", "clt_nobody")
			cmd.Env = []string{"DATABASE_URL=" + env["DATABASE_URL"]}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || stdout.Len() != 0 ||
				!strings.Contains(stderr.String(), `no client has the id "clt_nobody"`) {
				t.Fatalf("approvald clients remove clt_nobody: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
			}
		}
	})
}

func anyStrings(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, x.(string))
	}
	return s
}

// TestClientsFile: serve applies CLIENTS_FILE at start. Its clients are
// added, then changed and dropped with the file; a client made with the
// CLI is never touched; a malformed file, or one that takes a CLI client's
// id, refuses to start, naming the file and the client, and changes
// nothing.
func TestClientsFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := cliEnv(t, b)
		file := filepath.Join(t.TempDir(), "clients.yaml")
		env["CLIENTS_FILE"] = file
		env["WIKI_SECRET"] = oidcclient.NewSecret()
		// The CLI's client, and a secret for grafana hashed for the file.
		cliID := jsonLines(t, mustApprovald(t, env, "clients", "add", "--name", "Made by hand", "--redirect-uri", "https://hand.example.com/cb"))[0]["client_id"].(string)
		hashed := jsonLines(t, mustApprovald(t, env, "clients", "hash-secret"))[0]
		grafanaSecret, grafanaHash := hashed["client_secret"].(string), hashed["client_secret_hash"].(string)
		cliBefore, _ := storedClient(t, env, cliID)

		write := func(content string) {
			t.Helper()
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(`clients:
  - client_id: grafana
    name: Grafana
    redirect_uris: [https://grafana.example.com/login/generic_oauth]
    client_secret_hash: ` + grafanaHash + `
  - client_id: wiki
    name: Wiki
    redirect_uris: [https://wiki.example.com/cb]
    post_logout_redirect_uris: [https://wiki.example.com/]
    client_secret_env: WIKI_SECRET
  - client_id: tool
    name: Tool
    public: true
    redirect_uris: ["http://127.0.0.1:8400/cb", "com.example.tool:/cb"]
    id_token_signed_response_alg: ES256
`)
		s := startServer(t, b, env)
		if !strings.Contains(s.Logs.String(), `"msg":"clients file applied"`) || strings.Contains(s.Logs.String(), env["WIKI_SECRET"]) {
			t.Fatalf("log after start:\n%s", s.Logs.String())
		}
		env = s.Env // the same database and key, and a free ADDR
		clients := listed(t, env)
		if len(clients) != 4 || clients[cliID]["source"] != "cli" {
			t.Fatalf("clients after the first start: %v", clients)
		}
		for _, id := range []string{"grafana", "wiki", "tool"} {
			if clients[id]["source"] != "file" {
				t.Fatalf("client %s: %v", id, clients[id])
			}
		}
		grafana, h := storedClient(t, env, "grafana")
		wiki, _ := storedClient(t, env, "wiki")
		if !h.VerifySecret(grafana, grafanaSecret) || !h.VerifySecret(wiki, env["WIKI_SECRET"]) || clients["tool"]["public"] != true {
			t.Fatal("the file's secrets do not verify, or tool is not public")
		}
		if clients["tool"]["id_token_signed_response_alg"] != "ES256" || clients["grafana"]["id_token_signed_response_alg"] != "RS256" {
			t.Fatalf("ID token algorithms from the file: tool %v, grafana %v", clients["tool"]["id_token_signed_response_alg"], clients["grafana"]["id_token_signed_response_alg"])
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}

		// grafana changes, wiki goes, tool stays.
		write(`{"clients": [
  {"client_id": "tool", "name": "Tool", "public": true, "redirect_uris": ["http://127.0.0.1:8400/cb", "com.example.tool:/cb"]},
  {"client_id": "grafana", "name": "Grafana (new)", "redirect_uris": ["https://grafana.example.com/login/generic_oauth", "https://grafana2.example.com/login/generic_oauth"],
   "client_secret_hash": "` + grafanaHash + `"}
]}`)
		s = startServer(t, b, env)
		clients = listed(t, env)
		if _, ok := clients["wiki"]; ok || len(clients) != 3 {
			t.Fatalf("clients after the second start: %v", clients)
		}
		if clients["grafana"]["name"] != "Grafana (new)" || len(anyStrings(clients["grafana"]["redirect_uris"])) != 2 {
			t.Fatalf("grafana: %v", clients["grafana"])
		}
		if clients["tool"]["id_token_signed_response_alg"] != "RS256" {
			t.Fatalf("tool dropped id_token_signed_response_alg from the file but signs in %v", clients["tool"]["id_token_signed_response_alg"])
		}
		if cliAfter, _ := storedClient(t, env, cliID); !equalClients(cliAfter, cliBefore) {
			t.Fatalf("the CLI's client changed: %+v, was %+v", cliAfter, cliBefore)
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}

		// Refused starts: serve returns the error before it serves.
		for _, tt := range []struct{ file, want string }{
			{"clients:\n  - client_id: tool\n    name: Tool\n    public: true\n    redirect_uris: [http://127.0.0.1:8400/cb]\n" +
				"  - client_id: wiki\n    name: Wiki\n    redirect_uris: [http://wiki.example.com/cb]\n    client_secret_env: WIKI_SECRET\n",
				`client 2 ("wiki"): redirect_uris: "http://wiki.example.com/cb" must be https`},
			{"clients:\n  - client_id: tool\n    name: Tool\n    public: true\n    redirect_uri: [http://127.0.0.1:8400/cb]\n",
				`client 1: json: unknown field "redirect_uri"`},
			{"clients:\n  - client_id: " + cliID + "\n    name: Taken\n    public: true\n    redirect_uris: [http://127.0.0.1:8400/cb]\n",
				"client id " + cliID + " belongs to a client made with `approvald clients add`"},
			{"", "no clients list"},
		} {
			write(tt.file)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var out, errOut bytes.Buffer
			err := run(ctx, []string{"approvald"}, func(k string) string { return env[k] }, &out, &errOut)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "CLIENTS_FILE "+file+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve with a bad file: %v, want it to name %s and say %q", err, file, tt.want)
			}
			if strings.Contains(out.String(), "listening") {
				t.Fatalf("serve listened: %s", out.String())
			}
		}
		if after := listed(t, env); len(after) != 3 || after["grafana"]["name"] != "Grafana (new)" || after[cliID] == nil || after["tool"] == nil {
			t.Fatalf("a refused file changed the clients: %v", after)
		}
	})
}

func equalClients(a, b *core.OIDCClient) bool {
	return a.ID == b.ID && a.Name == b.Name && a.SecretHash == b.SecretHash && a.Public == b.Public && a.Source == b.Source && a.IDTokenAlg == b.IDTokenAlg &&
		slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs) &&
		a.CreatedAt.Equal(b.CreatedAt)
}
