package core

import (
	"context"
	"time"
)

// OIDCClient is an OpenID Connect client (a relying party): an application
// that sends its users here to log in. (Client, in event.go, is the other
// end of an HTTP request.) Package oidcclient holds its rules: what a valid
// one is, how its redirect URIs match, how its secret is hashed.
type OIDCClient struct {
	ID   string
	Name string
	// RedirectURIs are where an authorization response may go, compared
	// exactly (oidcclient.RedirectAllowed); at least one.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where a logout may send the browser back.
	PostLogoutRedirectURIs []string
	// Public is a client that cannot keep a secret (a native or browser
	// app); it has no SecretHash.
	Public bool
	// SecretHash is the client secret's hash (oidcclient.Hasher); "" for a
	// public client. The secret itself is never stored.
	SecretHash string
	// IDTokenAlg is the JWS algorithm its ID tokens are signed with
	// (id_token_signed_response_alg): IDTokenRS256, IDTokenES256 or
	// IDTokenEdDSA; "" is IDTokenRS256 (see SigningAlg).
	IDTokenAlg string
	Source     OIDCClientSource
	CreatedAt  time.Time
}

// The algorithms a client may ask its ID tokens to be signed with, each
// signed by a keyring of its own (KeyOIDC, KeyOIDCES256, KeyOIDCEdDSA).
// RS256 is the default: the one every OpenID Connect client supports.
const (
	IDTokenRS256 = "RS256"
	IDTokenES256 = "ES256"
	IDTokenEdDSA = "EdDSA"
)

// IDTokenAlgs are the ID-token algorithms, the default first.
var IDTokenAlgs = []string{IDTokenRS256, IDTokenES256, IDTokenEdDSA}

// SigningAlg is the algorithm c's ID tokens are signed with: IDTokenAlg,
// or IDTokenRS256 when it is "".
func (c *OIDCClient) SigningAlg() string {
	if c.IDTokenAlg == "" {
		return IDTokenRS256
	}
	return c.IDTokenAlg
}

// OIDCClientSource is where a client was declared: its owner.
type OIDCClientSource string

const (
	// ClientFromCLI was made by `approvald clients add`; CLIENTS_FILE never
	// changes it.
	ClientFromCLI OIDCClientSource = "cli"
	// ClientFromFile comes from CLIENTS_FILE, which serve applies at start:
	// it changes with the file and goes when the file drops it.
	ClientFromFile OIDCClientSource = "file"
)

// OIDCClientStore keeps the OpenID Connect clients and their URIs.
type OIDCClientStore interface {
	// CreateOIDCClient stores c; EInvalidRequest (field client_id) when a
	// client with its id exists.
	CreateOIDCClient(ctx context.Context, c *OIDCClient) error
	// OIDCClient returns client id with its URIs in their order; ENotFound.
	OIDCClient(ctx context.Context, id string) (*OIDCClient, error)
	// OIDCClients lists every client, oldest first.
	OIDCClients(ctx context.Context) ([]*OIDCClient, error)
	// DeleteOIDCClient removes client id and its URIs, whatever its
	// source; ENotFound when there is none.
	DeleteOIDCClient(ctx context.Context, id string) error
	// SyncFileClients makes the clients from CLIENTS_FILE exactly clients
	// (each of Source ClientFromFile), in one transaction that concurrent
	// callers take in turn: a listed client is inserted, or replaced when
	// it changed (keeping its CreatedAt); a file client not listed is
	// removed; a client from the CLI is never touched, and one whose id a
	// listed client takes refuses the whole sync (EInvalidRequest, field
	// client_id), changing nothing.
	SyncFileClients(ctx context.Context, clients []*OIDCClient) (FileClientsSync, error)
}

// FileClientsSync says what SyncFileClients changed, by client id.
type FileClientsSync struct {
	Added, Updated, Removed []string
}
