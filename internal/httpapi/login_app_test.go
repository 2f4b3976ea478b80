package httpapi

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// authRequests is an AppNamer over a fixed table of authorization
// requests. It stands in for our own OpenID provider (which will implement
// AppNamer) until that exists: an unknown id is its invalid_request, as
// the provider's will be.
type authRequests struct {
	mu    sync.Mutex
	apps  map[string]string // auth request id → client name
	asked []string
}

func (r *authRequests) AppName(_ context.Context, id string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, id)
	if app, ok := r.apps[id]; ok {
		return app, nil
	}
	return "", core.FieldError(core.EInvalidRequest, "auth_request", "the authorization request is unknown or expired")
}

func (r *authRequests) askedFor() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.asked...)
}

// answer is a response's status and JSON body.
type answer struct {
	status int
	body   map[string]any
}

func (a answer) errorField(name string) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

func send(t *testing.T, app *fiber.App, method, target, body string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := answer{status: res.StatusCode}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s answered %d %q: %v", method, target, res.StatusCode, raw, err)
		}
	}
	return out
}

// TestLoginAuthRequestRefusals: an auth_request that cannot go on is
// refused before the password is looked at (the login here has no account
// service: reaching it would panic), on both login endpoints: too long, on
// a server that is no OpenID provider, and unknown to the provider (its
// own answer, as it is).
func TestLoginAuthRequestRefusals(t *testing.T) {
	endpoints := map[string]func(passwordLogin) fiber.Handler{
		"/api/v1/login": handleLogin,
		"/web/login":    func(p passwordLogin) fiber.Handler { return handleWebLogin(p, webCookie{name: "approvald_refresh"}) },
	}
	known := &authRequests{apps: map[string]string{"ar_known": "Grafana"}}
	cases := []struct {
		name        string
		namer       AppNamer
		id          string
		message     string
		wantAskedID bool
	}{
		{"unknown to the provider", known, "ar_unknown", "the authorization request is unknown or expired", true},
		{"no OpenID provider", nil, "ar_known", "this server is not an OpenID provider", false},
		{"too long", known, strings.Repeat("a", MaxAuthRequestID+1), "at most 128 characters", false},
	}
	for path, handler := range endpoints {
		for _, c := range cases {
			t.Run(path+" "+c.name, func(t *testing.T) {
				before := len(known.askedFor())
				app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
				app.Post(path, handler(passwordLogin{authRequests: c.namer}))
				body, _ := json.Marshal(map[string]string{"email": "ada@example.com", "password": "correct horse", "auth_request": c.id})
				got := send(t, app, http.MethodPost, path, string(body), nil)
				if got.status != http.StatusBadRequest || got.errorField("code") != core.EInvalidRequest ||
					got.errorField("field") != "auth_request" || !strings.Contains(got.errorField("message"), c.message) {
					t.Fatalf("answer %d %v; want 400 invalid_request on auth_request saying %q", got.status, got.body, c.message)
				}
				var want []string
				if c.wantAskedID {
					want = []string{c.id}
				}
				if asked := known.askedFor()[before:]; !slices.Equal(asked, want) {
					t.Fatalf("the provider was asked for %q; want %q", asked, want)
				}
			})
		}
	}
}

// noTexts is the account's and the approval's texter: the login here
// texts a code (the user has no device) that nobody reads.
type noTexts struct{}

func (noTexts) Textable(string) error                         { return nil }
func (noTexts) SendCode(context.Context, core.CodeText) error { return nil }
func (noTexts) Notify(context.Context, string, string)        {}

// TestLoginNamesTheApplication: a login carrying a known auth_request
// starts an approval for the provider's application: the 202 of both
// login endpoints and GET /api/v1/approvals/{id} carry it as "app"; one
// without auth_request carries none.
func TestLoginNamesTheApplication(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC))
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	eph := inmem.New(clock)
	t.Cleanup(func() { _ = eph.Close() })
	log := slog.New(slog.DiscardHandler)
	audit := &store.Auditor{Events: db, Clock: clock, Log: log}
	keys, err := keyring.Load(ctx, db, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := session.NewService(session.Config{Issuer: "https://approvald.test"}, keys, db, clock)
	if err != nil {
		t.Fatal(err)
	}
	hasher := password.New(password.Params{}, 1)
	codes := otp.NewCodeHasher(core.RandomBytes(32))
	accounts, err := account.New(account.Deps{
		Users: db, Devices: db, Hasher: hasher, Codes: codes, Texts: noTexts{}, KV: eph, Limiter: eph,
		Audit: audit, LoginAudit: audit, Limits: account.DefaultLimits(), Clock: clock, Log: log, CodeTTL: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(core.RandomBytes(secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	_, serverKey, _ := ed25519.GenerateKey(nil)
	cfg := approval.DefaultConfig()
	cfg.CallbackURL = "https://approvald.test/api/v1/callbacks/approval"
	approvals, err := approval.New(approval.Deps{
		Config: cfg, Approvals: db, Devices: db, Users: db, Broker: eph, KV: eph, Limiter: eph,
		Texts: noTexts{}, Codes: codes, Pusher: unusedPusher{}, Secrets: box, Tokens: tokens, Audit: audit,
		Clock: clock, Log: log, ServerKey: serverKey,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Ada, two-step login on, no device: her logins go by SMS code.
	now := clock.Now()
	hash, err := hasher.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	u := &core.User{ID: core.NewID(core.PrefixUser), Name: "Ada", Email: "ada@example.com", Phone: testenv.RandomPhone(),
		PasswordHash: hash, TwoFactor: true, CreatedAt: now, UpdatedAt: now}
	v := &core.Verification{ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "unused",
		Status: core.VerificationPending, ExpiresAt: now.Add(10 * time.Minute), LastSentAt: now, CreatedAt: now}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CompleteVerification(ctx, v.ID, now); err != nil {
		t.Fatal(err)
	}

	app := NewServer(Config{PublicURL: "http://127.0.0.1:8080"}, Deps{
		Accounts: accounts, Tokens: tokens, Approvals: approvals, Events: db, Audit: audit,
		AuthRequests: &authRequests{apps: map[string]string{"ar_grafana": "Grafana"}},
		JWKS:         keys.JWKS, Clock: clock, Log: log,
	})
	web := map[string]string{WebHeader: "1"}
	for _, c := range []struct {
		path, authRequest, app string
		header                 map[string]string
	}{
		{"/api/v1/login", "ar_grafana", "Grafana", nil},
		{"/web/login", "ar_grafana", "Grafana", web},
		{"/api/v1/login", "", "", nil},
		{"/web/login", "", "", web},
	} {
		fields := map[string]string{"email": "ada@example.com", "password": "correct horse battery"}
		if c.authRequest != "" {
			fields["auth_request"] = c.authRequest
		}
		body, _ := json.Marshal(fields)
		got := send(t, app, http.MethodPost, c.path, string(body), c.header)
		if got.status != http.StatusAccepted {
			t.Fatalf("%s with %q: %d %v; want 202", c.path, c.authRequest, got.status, got.body)
		}
		if app, has := got.body["app"]; c.app == "" && has || c.app != "" && app != c.app {
			t.Fatalf("%s with %q: answer %v; want app %q", c.path, c.authRequest, got.body, c.app)
		}
		id, _ := got.body["approval_id"].(string)
		ticket, _ := got.body["ticket"].(string)
		view := send(t, app, http.MethodGet, "/api/v1/approvals/"+id, "", map[string]string{"X-Approval-Ticket": ticket})
		if view.status != http.StatusOK {
			t.Fatalf("GET approval: %d %v", view.status, view.body)
		}
		if app, has := view.body["app"]; c.app == "" && has || c.app != "" && app != c.app {
			t.Fatalf("GET approval after %s with %q: %v; want app %q", c.path, c.authRequest, view.body, c.app)
		}
	}
}

// unusedPusher is the approval's pusher where nobody has a push URL.
type unusedPusher struct{}

func (unusedPusher) Send(context.Context, string, []byte) error { return nil }
