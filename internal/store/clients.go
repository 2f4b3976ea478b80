package store

import (
	"context"
	"slices"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

// fileClientsLockKey names SyncFileClients' PostgreSQL advisory lock, so
// instances starting together apply CLIENTS_FILE one after the other.
const fileClientsLockKey int64 = 0x636c69656e74 // "client"

type oidcClientRow struct {
	bun.BaseModel `bun:"table:oidc_clients"`

	ID         string                `bun:"id,pk"`
	Name       string                `bun:"name"`
	Public     bool                  `bun:"public"`
	SecretHash string                `bun:"secret_hash"`
	IDTokenAlg string                `bun:"id_token_alg"`
	Source     core.OIDCClientSource `bun:"source"`
	CreatedAt  dbTime                `bun:"created_at"`
}

// URI kinds of oidc_client_uris.
const (
	uriRedirect   = "redirect"
	uriPostLogout = "post_logout"
)

type oidcClientURIRow struct {
	bun.BaseModel `bun:"table:oidc_client_uris"`

	ClientID string `bun:"client_id,pk"`
	Kind     string `bun:"kind,pk"`
	URI      string `bun:"uri,pk"`
	Position int    `bun:"position"`
}

var oidcClientKey = []string{"oidc_clients_pkey", "oidc_clients.id"}

func newOIDCClientRow(c *core.OIDCClient, source core.OIDCClientSource) *oidcClientRow {
	return &oidcClientRow{
		ID:         c.ID,
		Name:       c.Name,
		Public:     c.Public,
		SecretHash: c.SecretHash,
		IDTokenAlg: c.SigningAlg(),
		Source:     source,
		CreatedAt:  ts(c.CreatedAt),
	}
}

func (r *oidcClientRow) client() *core.OIDCClient {
	return &core.OIDCClient{
		ID:         r.ID,
		Name:       r.Name,
		Public:     r.Public,
		SecretHash: r.SecretHash,
		IDTokenAlg: r.IDTokenAlg,
		Source:     r.Source,
		CreatedAt:  r.CreatedAt.Time,
	}
}

// uriRows are c's URIs as rows, redirect URIs first, each kind in order.
func uriRows(c *core.OIDCClient) []oidcClientURIRow {
	var rows []oidcClientURIRow
	for i, u := range c.RedirectURIs {
		rows = append(rows, oidcClientURIRow{ClientID: c.ID, Kind: uriRedirect, URI: u, Position: i})
	}
	for i, u := range c.PostLogoutRedirectURIs {
		rows = append(rows, oidcClientURIRow{ClientID: c.ID, Kind: uriPostLogout, URI: u, Position: i})
	}
	return rows
}

func errClientTaken(id string) error {
	return core.FieldError(core.EInvalidRequest, "client_id", "a client with id "+id+" exists already")
}

// CreateOIDCClient implements core.OIDCClientStore: the client row and its
// URIs in one transaction.
func (db *DB) CreateOIDCClient(ctx context.Context, c *core.OIDCClient) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return insertOIDCClient(ctx, tx, c, c.Source)
	})
}

func insertOIDCClient(ctx context.Context, tx bun.Tx, c *core.OIDCClient, source core.OIDCClientSource) error {
	if _, err := tx.NewInsert().Model(newOIDCClientRow(c, source)).Exec(ctx); err != nil {
		if uniqueViolation(err, oidcClientKey...) {
			return errClientTaken(c.ID)
		}
		return err
	}
	return insertURIs(ctx, tx, c)
}

func insertURIs(ctx context.Context, tx bun.Tx, c *core.OIDCClient) error {
	rows := uriRows(c)
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

// OIDCClient implements core.OIDCClientStore.
func (db *DB) OIDCClient(ctx context.Context, id string) (*core.OIDCClient, error) {
	var row oidcClientRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "client")
	}
	clients, err := withURIs(ctx, db.bun, []oidcClientRow{row})
	if err != nil {
		return nil, dbErr(err)
	}
	return clients[0], nil
}

// OIDCClients implements core.OIDCClientStore.
func (db *DB) OIDCClients(ctx context.Context) ([]*core.OIDCClient, error) {
	clients, err := allOIDCClients(ctx, db.bun)
	return clients, dbErr(err)
}

// allOIDCClients reads every client with its URIs, oldest first.
func allOIDCClients(ctx context.Context, idb bun.IDB) ([]*core.OIDCClient, error) {
	var rows []oidcClientRow
	if err := idb.NewSelect().Model(&rows).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, err
	}
	return withURIs(ctx, idb, rows)
}

// withURIs turns rows into clients and reads their URIs in one query.
func withURIs(ctx context.Context, idb bun.IDB, rows []oidcClientRow) ([]*core.OIDCClient, error) {
	clients := make([]*core.OIDCClient, len(rows))
	byID := make(map[string]*core.OIDCClient, len(rows))
	ids := make([]string, len(rows))
	for i := range rows {
		clients[i] = rows[i].client()
		byID[rows[i].ID] = clients[i]
		ids[i] = rows[i].ID
	}
	if len(rows) == 0 {
		return clients, nil
	}
	var uris []oidcClientURIRow
	if err := idb.NewSelect().Model(&uris).Where("client_id IN (?)", bun.List(ids)).
		OrderExpr("client_id, kind, position").Scan(ctx); err != nil {
		return nil, err
	}
	for _, u := range uris {
		c := byID[u.ClientID]
		switch u.Kind {
		case uriRedirect:
			c.RedirectURIs = append(c.RedirectURIs, u.URI)
		case uriPostLogout:
			c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, u.URI)
		}
	}
	return clients, nil
}

// DeleteOIDCClient implements core.OIDCClientStore; the URIs go with the
// client (ON DELETE CASCADE).
func (db *DB) DeleteOIDCClient(ctx context.Context, id string) error {
	res, err := db.bun.NewDelete().Model((*oidcClientRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "client")
}

// SyncFileClients implements core.OIDCClientStore. PostgreSQL serializes
// callers with a transaction-scoped advisory lock; SQLite's IMMEDIATE
// transaction holds the write lock.
func (db *DB) SyncFileClients(ctx context.Context, clients []*core.OIDCClient) (core.FileClientsSync, error) {
	var sync core.FileClientsSync
	listed := make(map[string]bool, len(clients))
	for _, c := range clients {
		if listed[c.ID] {
			return sync, core.FieldError(core.EInvalidRequest, "client_id", "client id "+c.ID+" is listed twice")
		}
		listed[c.ID] = true
	}
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		sync = core.FileClientsSync{}
		if db.isPostgres() {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", fileClientsLockKey); err != nil {
				return err
			}
		}
		stored, err := allOIDCClients(ctx, tx)
		if err != nil {
			return err
		}
		existing := make(map[string]*core.OIDCClient, len(stored))
		for _, c := range stored {
			existing[c.ID] = c
		}
		for _, c := range clients {
			old := existing[c.ID]
			switch {
			case old == nil:
				if err := insertOIDCClient(ctx, tx, c, core.ClientFromFile); err != nil {
					return err
				}
				sync.Added = append(sync.Added, c.ID)
			case old.Source != core.ClientFromFile:
				return core.FieldError(core.EInvalidRequest, "client_id",
					"client id "+c.ID+" belongs to a client made with `approvald clients add`, which CLIENTS_FILE does not change")
			case !sameClient(old, c):
				if _, err := tx.NewUpdate().Model((*oidcClientRow)(nil)).
					Set("name = ?", c.Name).Set("public = ?", c.Public).Set("secret_hash = ?", c.SecretHash).
					Set("id_token_alg = ?", c.SigningAlg()).
					Where("id = ?", c.ID).Exec(ctx); err != nil {
					return err
				}
				if _, err := tx.NewDelete().Model((*oidcClientURIRow)(nil)).Where("client_id = ?", c.ID).Exec(ctx); err != nil {
					return err
				}
				if err := insertURIs(ctx, tx, c); err != nil {
					return err
				}
				sync.Updated = append(sync.Updated, c.ID)
			}
		}
		for _, c := range stored {
			if c.Source != core.ClientFromFile || listed[c.ID] {
				continue
			}
			if _, err := tx.NewDelete().Model((*oidcClientRow)(nil)).Where("id = ?", c.ID).Exec(ctx); err != nil {
				return err
			}
			sync.Removed = append(sync.Removed, c.ID)
		}
		return nil
	})
	if err != nil {
		return core.FileClientsSync{}, err
	}
	return sync, nil
}

// sameClient reports whether stored already says what c says (its id,
// source and creation time aside).
func sameClient(stored, c *core.OIDCClient) bool {
	return stored.Name == c.Name && stored.Public == c.Public && stored.SecretHash == c.SecretHash &&
		stored.SigningAlg() == c.SigningAlg() &&
		slices.Equal(stored.RedirectURIs, c.RedirectURIs) && slices.Equal(stored.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs)
}
