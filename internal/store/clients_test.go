package store

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func newOIDCClient(id string, source core.OIDCClientSource, createdAt time.Time) *core.OIDCClient {
	return &core.OIDCClient{
		ID:   id,
		Name: "Wiki " + id,
		// Out of alphabetical order on purpose: the order given is kept.
		RedirectURIs:           []string{"https://wiki.example.com/z/callback", "https://wiki.example.com/a/callback"},
		PostLogoutRedirectURIs: []string{"https://wiki.example.com/bye"},
		SecretHash:             "hmac-sha256$" + id,
		IDTokenAlg:             core.IDTokenRS256,
		Source:                 source,
		CreatedAt:              createdAt,
	}
}

func wantClient(t *testing.T, got, want *core.OIDCClient) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("client\n got %+v\nwant %+v", got, want)
	}
}

func clientIDs(t *testing.T, db *DB) []string {
	t.Helper()
	clients, err := db.OIDCClients(context.Background())
	must(t, err)
	var ids []string
	for _, c := range clients {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestOIDCClientCreateReadList(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		confidential := newOIDCClient("clt_b", core.ClientFromCLI, t0.Add(time.Microsecond))
		public := &core.OIDCClient{
			ID: "clt_a", Name: "CLI tool", Public: true, Source: core.ClientFromCLI, CreatedAt: t0,
			RedirectURIs: []string{"http://127.0.0.1:8400/callback"}, IDTokenAlg: core.IDTokenES256,
		}
		must(t, db.CreateOIDCClient(ctx, confidential))
		must(t, db.CreateOIDCClient(ctx, public))

		got, err := db.OIDCClient(ctx, confidential.ID)
		must(t, err)
		wantClient(t, got, confidential)
		got, err = db.OIDCClient(ctx, public.ID)
		must(t, err)
		wantClient(t, got, public)

		all, err := db.OIDCClients(ctx)
		must(t, err)
		if len(all) != 2 {
			t.Fatalf("%d clients listed, want 2", len(all))
		}
		wantClient(t, all[0], public) // oldest first
		wantClient(t, all[1], confidential)

		dup := newOIDCClient(public.ID, core.ClientFromCLI, t0)
		wantCode(t, db.CreateOIDCClient(ctx, dup), core.EInvalidRequest)
		got, err = db.OIDCClient(ctx, public.ID)
		must(t, err)
		wantClient(t, got, public)
	})
}

func TestOIDCClientNotFoundAndDelete(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		_, err := db.OIDCClient(ctx, "clt_nobody")
		wantCode(t, err, core.ENotFound)
		wantCode(t, db.DeleteOIDCClient(ctx, "clt_nobody"), core.ENotFound)
		if all, err := db.OIDCClients(ctx); err != nil || len(all) != 0 {
			t.Fatalf("OIDCClients on an empty table = %v, %v", all, err)
		}

		c := newOIDCClient("clt_gone", core.ClientFromCLI, t0)
		kept := newOIDCClient("clt_kept", core.ClientFromFile, t0)
		must(t, db.CreateOIDCClient(ctx, c))
		must(t, db.CreateOIDCClient(ctx, kept))
		must(t, db.DeleteOIDCClient(ctx, c.ID))
		wantCode(t, db.DeleteOIDCClient(ctx, c.ID), core.ENotFound)
		_, err = db.OIDCClient(ctx, c.ID)
		wantCode(t, err, core.ENotFound)
		n, err := db.bun.NewSelect().Model((*oidcClientURIRow)(nil)).Where("client_id = ?", c.ID).Count(ctx)
		must(t, err)
		if n != 0 {
			t.Fatalf("%d URIs of the removed client left", n)
		}
		if ids := clientIDs(t, db); !slices.Equal(ids, []string{kept.ID}) {
			t.Fatalf("clients left %v, want [%s]", ids, kept.ID)
		}
		got, err := db.OIDCClient(ctx, kept.ID)
		must(t, err)
		wantClient(t, got, kept)
	})
}

// The schema holds a public client without a secret and a confidential
// one with one, whoever writes the row.
func TestOIDCClientSecretMatchesPublic(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		public := newOIDCClient("clt_p", core.ClientFromCLI, t0)
		public.Public = true // with a secret hash
		if err := db.CreateOIDCClient(ctx, public); err == nil {
			t.Fatal("a public client with a secret hash was stored")
		}
		confidential := newOIDCClient("clt_c", core.ClientFromCLI, t0)
		confidential.SecretHash = ""
		if err := db.CreateOIDCClient(ctx, confidential); err == nil {
			t.Fatal("a confidential client without a secret hash was stored")
		}
	})
}

func TestSyncFileClients(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		cli := newOIDCClient("clt_cli", core.ClientFromCLI, t0)
		must(t, db.CreateOIDCClient(ctx, cli))

		grafana := newOIDCClient("grafana", core.ClientFromFile, t0.Add(time.Second))
		wiki := newOIDCClient("wiki", core.ClientFromFile, t0.Add(time.Second))
		got, err := db.SyncFileClients(ctx, []*core.OIDCClient{grafana, wiki})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{Added: []string{"grafana", "wiki"}})
		if ids := clientIDs(t, db); !slices.Equal(ids, []string{"clt_cli", "grafana", "wiki"}) {
			t.Fatalf("clients %v", ids)
		}

		// The same file again changes nothing.
		got, err = db.SyncFileClients(ctx, []*core.OIDCClient{grafana, wiki})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{})

		// grafana changes (its creation time stays), wiki is dropped, tool
		// comes; the CLI's client stays as it was.
		grafana2 := newOIDCClient("grafana", core.ClientFromFile, t0.Add(time.Hour))
		grafana2.Name = "Grafana"
		grafana2.RedirectURIs = []string{"https://grafana.example.com/login/generic_oauth"}
		grafana2.PostLogoutRedirectURIs = nil
		grafana2.Public, grafana2.SecretHash = true, ""
		grafana2.IDTokenAlg = core.IDTokenEdDSA
		tool := newOIDCClient("tool", core.ClientFromFile, t0.Add(time.Hour))
		got, err = db.SyncFileClients(ctx, []*core.OIDCClient{tool, grafana2})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{Added: []string{"tool"}, Updated: []string{"grafana"}, Removed: []string{"wiki"}})

		stored, err := db.OIDCClient(ctx, "grafana")
		must(t, err)
		want := *grafana2
		want.CreatedAt = grafana.CreatedAt
		wantClient(t, stored, &want)
		stored, err = db.OIDCClient(ctx, cli.ID)
		must(t, err)
		wantClient(t, stored, cli)
		_, err = db.OIDCClient(ctx, "wiki")
		wantCode(t, err, core.ENotFound)

		// An empty file removes every file client, and only those.
		got, err = db.SyncFileClients(ctx, nil)
		must(t, err)
		wantSync(t, got, core.FileClientsSync{Removed: []string{"grafana", "tool"}})
		if ids := clientIDs(t, db); !slices.Equal(ids, []string{cli.ID}) {
			t.Fatalf("clients %v, want only the CLI's", ids)
		}
	})
}

// A client's ID-token algorithm is stored and read back; "" is stored as
// RS256, the schema takes no other value than the three, and a sync sees a
// change of the algorithm alone (and none between "" and RS256).
func TestOIDCClientIDTokenAlg(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		for i, alg := range []string{"", core.IDTokenRS256, core.IDTokenES256, core.IDTokenEdDSA} {
			c := newOIDCClient("clt_"+string(rune('a'+i)), core.ClientFromCLI, t0)
			c.IDTokenAlg = alg
			must(t, db.CreateOIDCClient(ctx, c))
			got, err := db.OIDCClient(ctx, c.ID)
			must(t, err)
			if want := c.SigningAlg(); got.IDTokenAlg != want {
				t.Fatalf("client stored with alg %q reads back %q, want %q", alg, got.IDTokenAlg, want)
			}
		}
		for _, alg := range []string{"HS256", "none", "rs256", "ES384"} {
			c := newOIDCClient("clt_bad", core.ClientFromCLI, t0)
			c.IDTokenAlg = alg
			if err := db.CreateOIDCClient(ctx, c); err == nil {
				t.Fatalf("a client with ID-token alg %q was stored", alg)
			}
		}

		app := newOIDCClient("app", core.ClientFromFile, t0)
		got, err := db.SyncFileClients(ctx, []*core.OIDCClient{app})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{Added: []string{"app"}})
		same := *app
		same.IDTokenAlg = ""
		got, err = db.SyncFileClients(ctx, []*core.OIDCClient{&same})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{})
		es := *app
		es.IDTokenAlg = core.IDTokenES256
		got, err = db.SyncFileClients(ctx, []*core.OIDCClient{&es})
		must(t, err)
		wantSync(t, got, core.FileClientsSync{Updated: []string{"app"}})
		stored, err := db.OIDCClient(ctx, "app")
		must(t, err)
		wantClient(t, stored, &es)
	})
}

// A file client may not take the id of a client made with the CLI: the
// sync is refused whole, and the CLI's client is as it was.
func TestSyncFileClientsRefusesACLIClientsID(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		cli := newOIDCClient("clt_cli", core.ClientFromCLI, t0)
		must(t, db.CreateOIDCClient(ctx, cli))
		old := newOIDCClient("old", core.ClientFromFile, t0)
		_, err := db.SyncFileClients(ctx, []*core.OIDCClient{old})
		must(t, err)

		fresh := newOIDCClient("fresh", core.ClientFromFile, t0)
		taker := newOIDCClient(cli.ID, core.ClientFromFile, t0)
		taker.Name = "Taken over"
		_, err = db.SyncFileClients(ctx, []*core.OIDCClient{fresh, taker})
		wantCode(t, err, core.EInvalidRequest)
		_, err = db.SyncFileClients(ctx, []*core.OIDCClient{fresh, fresh})
		wantCode(t, err, core.EInvalidRequest)

		if ids := clientIDs(t, db); !slices.Equal(ids, []string{cli.ID, old.ID}) {
			t.Fatalf("clients %v after a refused sync, want [%s %s]", ids, cli.ID, old.ID)
		}
		stored, err := db.OIDCClient(ctx, cli.ID)
		must(t, err)
		wantClient(t, stored, cli)
	})
}

// Instances starting together each apply the same file: each client is
// added once, and nobody fails.
func TestSyncFileClientsConcurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		const n = 6
		results := make([]core.FileClientsSync, n)
		errs := make([]error, n)
		concurrently(n, func(i int) {
			results[i], errs[i] = db.SyncFileClients(ctx, []*core.OIDCClient{
				newOIDCClient("grafana", core.ClientFromFile, t0),
				newOIDCClient("wiki", core.ClientFromFile, t0),
			})
		})
		added := 0
		for i := range n {
			must(t, errs[i])
			added += len(results[i].Added)
			if len(results[i].Updated)+len(results[i].Removed) != 0 {
				t.Fatalf("caller %d changed %+v", i, results[i])
			}
		}
		if added != 2 {
			t.Fatalf("%d additions in all, want 2", added)
		}
	})
}

func wantSync(t *testing.T, got, want core.FileClientsSync) {
	t.Helper()
	if !slices.Equal(got.Added, want.Added) || !slices.Equal(got.Updated, want.Updated) || !slices.Equal(got.Removed, want.Removed) {
		t.Fatalf("sync %+v, want %+v", got, want)
	}
}
