package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/oidcclient"
	"github.com/approvald/approvald/internal/store"
)

const clientsUsage = `usage:
  approvald clients add --name NAME --redirect-uri URI [--redirect-uri URI…] [--post-logout-redirect-uri URI…] [--public] [--id-token-alg RS256|ES256|EdDSA]
  approvald clients list
  approvald clients remove ID
  approvald clients hash-secret`

// clientsCommand is `approvald clients …`, which manages the OpenID
// Connect clients with the server's environment (DATABASE_URL,
// SECRET_KEY). What it prints on stdout is JSON; errors go back to main,
// which prints them on stderr and exits 1. No secret is ever logged.
func clientsCommand(ctx context.Context, cfg *config, db *store.DB, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(clientsUsage)
	}
	switch args[0] {
	case "add":
		return addClient(ctx, cfg, db, args[1:], stdout, stderr)
	case "list":
		if len(args) > 1 {
			return errors.New("clients list takes no arguments")
		}
		return listClients(ctx, db, stdout)
	case "remove":
		if len(args) != 2 {
			return errors.New("clients remove takes one client id")
		}
		return removeClient(ctx, db, args[1], stderr)
	case "hash-secret":
		if len(args) > 1 {
			return errors.New("clients hash-secret takes no arguments: it makes a new secret")
		}
		return hashSecret(cfg, db, stdout)
	default:
		return fmt.Errorf("unknown clients command %q\n%s", args[0], clientsUsage)
	}
}

// stringList is a flag given once per value.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// addClient is `approvald clients add`: it prints
// {"client_id":…,"client_secret":…}, without client_secret for --public.
// The secret is shown this once; only its hash is stored.
func addClient(ctx context.Context, cfg *config, db *store.DB, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("approvald clients add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the client's name, shown to users (1 to 100 characters)")
	var redirects, postLogout stringList
	fs.Var(&redirects, "redirect-uri", "a redirect URI, compared exactly (repeat for more)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "a post-logout redirect URI (repeat for more)")
	public := fs.Bool("public", false, "a public client (a native or browser app): no secret")
	alg := fs.String("id-token-alg", core.IDTokenRS256, "the algorithm its ID tokens are signed with: RS256, ES256 or EdDSA (id_token_signed_response_alg)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("clients add: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("clients add: unexpected argument %q", fs.Arg(0))
	}
	c := &core.OIDCClient{
		ID:                     oidcclient.NewID(),
		Name:                   *name,
		RedirectURIs:           redirects,
		PostLogoutRedirectURIs: postLogout,
		Public:                 *public,
		IDTokenAlg:             *alg,
		Source:                 core.ClientFromCLI,
		CreatedAt:              core.SystemClock{}.Now(),
	}
	var secret string
	if !c.Public {
		h, err := clientSecretHasher(cfg, db)
		if err != nil {
			return err
		}
		secret = oidcclient.NewSecret()
		c.SecretHash = h.Hash(secret)
	}
	if c.IDTokenAlg == "" {
		return fmt.Errorf("clients add: --id-token-alg: give RS256, ES256 or EdDSA")
	}
	if err := oidcclient.Validate(c); err != nil {
		return fmt.Errorf("clients add: %s", flagError(err))
	}
	if err := db.CreateOIDCClient(ctx, c); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret,omitempty"`
	}{c.ID, secret})
}

// flagError is a validation error with the flag it is about.
func flagError(err error) string {
	var e *core.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	flagOf := map[string]string{
		oidcclient.FieldName:                   "--name",
		oidcclient.FieldRedirectURIs:           "--redirect-uri",
		oidcclient.FieldPostLogoutRedirectURIs: "--post-logout-redirect-uri",
		oidcclient.FieldIDTokenAlg:             "--id-token-alg",
	}
	if f := flagOf[e.Field]; f != "" {
		return f + ": " + e.Message
	}
	return e.Message
}

// clientLine is one client as `approvald clients list` prints it: all
// but its secret hash.
type clientLine struct {
	ClientID               string   `json:"client_id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	IDTokenAlg             string   `json:"id_token_signed_response_alg"`
	Source                 string   `json:"source"`
	CreatedAt              string   `json:"created_at"`
}

// listClients is `approvald clients list`: one JSON object a line, oldest
// first.
func listClients(ctx context.Context, db *store.DB, stdout io.Writer) error {
	clients, err := db.OIDCClients(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, c := range clients {
		line := clientLine{
			ClientID:               c.ID,
			Name:                   c.Name,
			RedirectURIs:           nonNilStrings(c.RedirectURIs),
			PostLogoutRedirectURIs: nonNilStrings(c.PostLogoutRedirectURIs),
			Public:                 c.Public,
			IDTokenAlg:             c.SigningAlg(),
			Source:                 string(c.Source),
			CreatedAt:              c.CreatedAt.UTC().Format(time.RFC3339),
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// removeClient is `approvald clients remove ID`. A client of CLIENTS_FILE
// goes too, but comes back at the next start if the file still has it:
// stderr says so.
func removeClient(ctx context.Context, db *store.DB, id string, stderr io.Writer) error {
	c, err := db.OIDCClient(ctx, id)
	if err == nil {
		err = db.DeleteOIDCClient(ctx, id)
	}
	if core.IsCode(err, core.ENotFound) {
		return fmt.Errorf("clients remove: no client has the id %q", id)
	}
	if err != nil {
		return err
	}
	if c.Source == core.ClientFromFile {
		fmt.Fprintf(stderr, "approvald: %s came from CLIENTS_FILE: it comes back at the next start unless the file drops it\n", id)
	}
	return nil
}

// hashSecret is `approvald clients hash-secret`: a new secret and its hash,
// {"client_secret":…,"client_secret_hash":…}. The hash goes into
// CLIENTS_FILE (client_secret_hash), the secret to the client's operator.
func hashSecret(cfg *config, db *store.DB, stdout io.Writer) error {
	h, err := clientSecretHasher(cfg, db)
	if err != nil {
		return err
	}
	secret := oidcclient.NewSecret()
	return json.NewEncoder(stdout).Encode(struct {
		ClientSecret     string `json:"client_secret"`
		ClientSecretHash string `json:"client_secret_hash"`
	}{secret, h.Hash(secret)})
}

// clientSecretHasher hashes client secrets under SECRET_KEY's subkey for
// them, and verifies under those of SECRET_KEYS_PREVIOUS too.
func clientSecretHasher(cfg *config, db *store.DB) (*oidcclient.Hasher, error) {
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		return nil, err
	}
	return newClientSecretHasher(secret, cfg.PreviousSecretKeys), nil
}

func newClientSecretHasher(secret []byte, previousSecrets [][]byte) *oidcclient.Hasher {
	var previous [][]byte
	for _, k := range previousSecrets {
		previous = append(previous, subkey(k, "oidc-client-secrets"))
	}
	return oidcclient.NewHasher(subkey(secret, "oidc-client-secrets"), previous...)
}

// applyClientsFile makes the clients of CLIENTS_FILE, when it is set, the
// database's file clients (store.SyncFileClients): serve does it at start,
// and a file that does not parse, or holds an invalid client, refuses to
// start with an error naming the file and the client.
func applyClientsFile(ctx context.Context, cfg *config, db *store.DB, secret []byte, clock core.Clock, log *slog.Logger) error {
	if cfg.ClientsFile == "" {
		return nil
	}
	data, err := os.ReadFile(cfg.ClientsFile)
	if err != nil {
		return fmt.Errorf("CLIENTS_FILE: %w", err)
	}
	h := newClientSecretHasher(secret, cfg.PreviousSecretKeys)
	clients, err := oidcclient.ParseFile(data, cfg.getenv, h, clock.Now())
	if err != nil {
		return fmt.Errorf("CLIENTS_FILE %s: %w", cfg.ClientsFile, err)
	}
	sync, err := db.SyncFileClients(ctx, clients)
	if err != nil {
		var e *core.Error
		if errors.As(err, &e) && e.Code == core.EInvalidRequest {
			return fmt.Errorf("CLIENTS_FILE %s: %s", cfg.ClientsFile, e.Message)
		}
		return fmt.Errorf("CLIENTS_FILE %s: %w", cfg.ClientsFile, err)
	}
	log.Info("clients file applied", "file", cfg.ClientsFile, "clients", len(clients),
		"added", sync.Added, "updated", sync.Updated, "removed", sync.Removed)
	return nil
}
