package oidcclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/approvald/approvald/internal/core"
)

// MinEnvSecretLength is the least length of a secret CLIENTS_FILE takes
// from the environment (client_secret_env): a guard against "changeme",
// not a measure of randomness; NewSecret's are 43 characters.
const MinEnvSecretLength = 32

// fileEntry is one client of CLIENTS_FILE. A confidential client gives its
// secret as client_secret_hash (from `approvald clients hash-secret`) or as
// client_secret_env, the name of an environment variable of the server
// holding it, so that no secret has to be written in the file.
type fileEntry struct {
	ClientID               string   `json:"client_id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	ClientSecretHash       string   `json:"client_secret_hash"`
	ClientSecretEnv        string   `json:"client_secret_env"`
	// IDTokenSignedResponseAlg is the registration metadata of OpenID
	// Connect Dynamic Client Registration §2: RS256 when absent.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg"`
}

// ParseFile reads the content of CLIENTS_FILE, YAML or JSON, one object
// whose only key, clients, lists the clients:
//
//	clients:
//	  - client_id: grafana
//	    name: Grafana
//	    redirect_uris: [https://grafana.example.com/login/generic_oauth]
//	    client_secret_hash: hmac-sha256$…
//	    id_token_signed_response_alg: ES256 # RS256 (the default), ES256 or EdDSA
//
// It returns them valid (Validate, and each id CheckID and listed once),
// of Source ClientFromFile and created at now, with their secrets hashed
// by h. An unknown key, a missing clients list (an empty file would
// otherwise remove every client of the file) or any invalid client refuses
// the whole file; the error names the client by its place and its id. It
// never holds a secret.
func ParseFile(data []byte, getenv func(string) string, h *Hasher, now time.Time) ([]*core.OIDCClient, error) {
	doc, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var top struct {
		Clients *[]json.RawMessage `json:"clients"`
	}
	if err := decodeStrict(doc, &top); err != nil {
		return nil, err
	}
	if top.Clients == nil {
		return nil, errors.New("no clients list: the file must be an object with a list under clients (clients: [] removes every client of the file)")
	}
	clients := make([]*core.OIDCClient, 0, len(*top.Clients))
	seen := make(map[string]bool)
	for i, raw := range *top.Clients {
		var e fileEntry
		if err := decodeStrict(raw, &e); err != nil {
			return nil, fmt.Errorf("client %d: %w", i+1, err)
		}
		c, err := e.client(getenv, h, now)
		if err == nil && seen[e.ClientID] {
			err = invalid(FieldID, "listed before")
		}
		if err != nil {
			return nil, fmt.Errorf("client %d (%q): %s", i+1, e.ClientID, describe(err))
		}
		seen[e.ClientID] = true
		clients = append(clients, c)
	}
	return clients, nil
}

func (e *fileEntry) client(getenv func(string) string, h *Hasher, now time.Time) (*core.OIDCClient, error) {
	if err := CheckID(e.ClientID); err != nil {
		return nil, err
	}
	c := &core.OIDCClient{
		ID:                     e.ClientID,
		Name:                   e.Name,
		RedirectURIs:           e.RedirectURIs,
		PostLogoutRedirectURIs: e.PostLogoutRedirectURIs,
		Public:                 e.Public,
		IDTokenAlg:             e.IDTokenSignedResponseAlg,
		Source:                 core.ClientFromFile,
		CreatedAt:              now,
	}
	switch {
	case e.Public && (e.ClientSecretHash != "" || e.ClientSecretEnv != ""):
		return nil, invalid(FieldSecret, "a public client has no secret: drop client_secret_hash and client_secret_env")
	case e.Public:
	case e.ClientSecretHash != "" && e.ClientSecretEnv != "":
		return nil, invalid(FieldSecret, "give client_secret_hash or client_secret_env, not both")
	case e.ClientSecretHash != "":
		if err := CheckHash(e.ClientSecretHash); err != nil {
			return nil, err
		}
		c.SecretHash = e.ClientSecretHash
	case e.ClientSecretEnv != "":
		secret := getenv(e.ClientSecretEnv)
		if secret == "" {
			return nil, invalid(FieldSecret, "client_secret_env: "+e.ClientSecretEnv+" is not set")
		}
		if len(secret) < MinEnvSecretLength {
			return nil, invalid(FieldSecret, fmt.Sprintf("client_secret_env: %s is shorter than %d characters; make a random one with `approvald clients hash-secret`", e.ClientSecretEnv, MinEnvSecretLength))
		}
		c.SecretHash = h.Hash(secret)
	default:
		return nil, invalid(FieldSecret, "a confidential client needs client_secret_hash or client_secret_env (or public: true)")
	}
	if err := Validate(c); err != nil {
		return nil, err
	}
	c.IDTokenAlg = c.SigningAlg()
	return c, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown keys.
func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// describe is a validation error as "field: message".
func describe(err error) string {
	var e *core.Error
	if errors.As(err, &e) {
		if e.Field != "" && e.Field != FieldSecret {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}
