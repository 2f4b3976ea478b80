package oidcprovider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/approvald/approvald/internal/core"
)

// authRequest is one authorization request, from /oidc/authorize until its
// code is exchanged: a short-lived record in core.KV, written once. Losing
// it (a Redis restart) only means the user starts again at the application.
type authRequest struct {
	ID           string              `json:"id"`
	CreatedAt    time.Time           `json:"created_at"`
	ClientID     string              `json:"client_id"`
	ClientName   string              `json:"client_name"`
	RedirectURI  string              `json:"redirect_uri"`
	Scopes       []string            `json:"scopes"`
	State        string              `json:"state"`
	Nonce        string              `json:"nonce"`
	ResponseType oidc.ResponseType   `json:"response_type"`
	ResponseMode oidc.ResponseMode   `json:"response_mode"`
	Prompt       []string            `json:"prompt"`
	MaxAge       *uint               `json:"max_age"`
	LoginHint    string              `json:"login_hint"`
	HintSubject  string              `json:"hint_subject"` // sub of an id_token_hint
	Browser      string              `json:"browser"`      // hash of the asking browser's binding cookie
	Challenge    *oidc.CodeChallenge `json:"code_challenge"`
	Login        *completedLogin     `json:"-"`
	code         string              // set when read by its code
}

// completedLogin is who logged in for a request, from the single sign-on
// session, written once when the request is completed.
type completedLogin struct {
	UserID    string    `json:"user_id"`
	AMR       []string  `json:"amr"` // the session's methods, as stored
	AuthTime  time.Time `json:"auth_time"`
	SessionID string    `json:"session_id"` // the single sign-on session
}

func (r *authRequest) GetID() string         { return r.ID }
func (r *authRequest) GetAudience() []string { return []string{r.ClientID} }
func (r *authRequest) GetClientID() string   { return r.ClientID }
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return r.Challenge
}
func (r *authRequest) GetNonce() string                   { return r.Nonce }
func (r *authRequest) GetRedirectURI() string             { return r.RedirectURI }
func (r *authRequest) GetResponseType() oidc.ResponseType { return r.ResponseType }
func (r *authRequest) GetResponseMode() oidc.ResponseMode { return r.ResponseMode }
func (r *authRequest) GetScopes() []string                { return r.Scopes }
func (r *authRequest) GetState() string                   { return r.State }
func (r *authRequest) Done() bool                         { return r.Login != nil }

func (r *authRequest) GetSubject() string {
	if r.Login == nil {
		return ""
	}
	return r.Login.UserID
}

func (r *authRequest) GetAuthTime() time.Time {
	if r.Login == nil {
		return time.Time{}
	}
	return r.Login.AuthTime
}

func (r *authRequest) GetAMR() []string {
	if r.Login == nil {
		return nil
	}
	return amrOf(r.Login.AMR)
}

func (r *authRequest) GetACR() string {
	if r.Login == nil {
		return ""
	}
	return acrOf(r.Login.AMR)
}

func (r *authRequest) forcesLogin() bool {
	return slices.Contains(r.Prompt, oidc.PromptLogin) || (r.MaxAge != nil && *r.MaxAge == 0)
}

func (r *authRequest) promptNone() bool { return slices.Contains(r.Prompt, oidc.PromptNone) }

// requests keeps authorization requests, their completions and their codes
// in core.KV. Every key is written once (SetNX), so two instances never
// disagree about a request: the first completion and the first code win.
type requests struct {
	kv      core.KV
	clock   core.Clock
	ttl     time.Duration // a request's life, login included
	codeTTL time.Duration // an authorization code's life
}

const (
	kvRequest = "oidc:req:"     // id → authRequest
	kvDone    = "oidc:done:"    // id → completedLogin
	kvCodeOf  = "oidc:reqcode:" // id → "1": the request's one code was made
	kvCode    = "oidc:code:"    // sha256(code) → codeRecord
	kvSpent   = "oidc:spent:"   // sha256(code) → "1": the code was presented
	kvMinted  = "oidc:minted:"  // sha256(code) → session id its tokens belong to
)

type codeRecord struct {
	RequestID string    `json:"request_id"`
	IssuedAt  time.Time `json:"issued_at"`
}

var errUnknownRequest = errors.New("unknown or expired authorization request")

func (q *requests) create(ctx context.Context, r *authRequest) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ok, err := q.kv.SetNX(ctx, kvRequest+r.ID, string(body), q.ttl)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("authorization request id collision")
	}
	return nil
}

// byID reads request id with its completion, if any; errUnknownRequest
// when it is gone or older than its TTL by the service's clock.
func (q *requests) byID(ctx context.Context, id string) (*authRequest, error) {
	if id == "" || len(id) > 128 {
		return nil, errUnknownRequest
	}
	body, ok, err := q.kv.Get(ctx, kvRequest+id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errUnknownRequest
	}
	var r authRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, err
	}
	if !q.clock.Now().Before(r.CreatedAt.Add(q.ttl)) {
		return nil, errUnknownRequest
	}
	done, ok, err := q.kv.Get(ctx, kvDone+id)
	if err != nil {
		return nil, err
	}
	if ok {
		var l completedLogin
		if err := json.Unmarshal([]byte(done), &l); err != nil {
			return nil, err
		}
		r.Login = &l
	}
	return &r, nil
}

// complete records who logged in for request id; the first completion
// stands.
func (q *requests) complete(ctx context.Context, id string, l *completedLogin) error {
	body, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = q.kv.SetNX(ctx, kvDone+id, string(body), q.ttl)
	return err
}

// saveCode records the request's one code; a second code for the same
// request (its callback replayed) is refused.
func (q *requests) saveCode(ctx context.Context, id, code string) error {
	first, err := q.kv.SetNX(ctx, kvCodeOf+id, "1", q.ttl)
	if err != nil {
		return err
	}
	if !first {
		return errors.New("the authorization request already has its code")
	}
	body, err := json.Marshal(codeRecord{RequestID: id, IssuedAt: q.clock.Now()})
	if err != nil {
		return err
	}
	_, err = q.kv.SetNX(ctx, kvCode+codeKey(code), string(body), q.ttl)
	return err
}

// errCodeReused: a code presented a second time. The tokens it bought are
// revoked by the caller (RFC 6749 §4.1.2).
var errCodeReused = errors.New("authorization code reused")

// claimCode spends a code, once: the request it belongs to, or
// errCodeReused (with the session its first use minted, if any), or
// errUnknownRequest for an unknown or expired code.
func (q *requests) claimCode(ctx context.Context, code string) (*authRequest, string, error) {
	key := codeKey(code)
	body, ok, err := q.kv.Get(ctx, kvCode+key)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", errUnknownRequest
	}
	var rec codeRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return nil, "", err
	}
	first, err := q.kv.SetNX(ctx, kvSpent+key, "1", q.ttl)
	if err != nil {
		return nil, "", err
	}
	if !first {
		minted, _, err := q.kv.Get(ctx, kvMinted+key)
		if err != nil {
			return nil, "", err
		}
		return nil, minted, errCodeReused
	}
	if !q.clock.Now().Before(rec.IssuedAt.Add(q.codeTTL)) {
		return nil, "", errUnknownRequest
	}
	r, err := q.byID(ctx, rec.RequestID)
	if err != nil {
		return nil, "", err
	}
	if r.Login == nil {
		return nil, "", errUnknownRequest
	}
	r.code = code
	return r, "", nil
}

// minted records the session a code's tokens belong to, so a reuse of the
// code revokes it.
func (q *requests) minted(ctx context.Context, code, sessionID string) error {
	_, err := q.kv.SetNX(ctx, kvMinted+codeKey(code), sessionID, q.ttl)
	return err
}

// remove deletes a request and its completion after its code was
// exchanged; the code's spent mark stays until its TTL, for reuse detection.
func (q *requests) remove(ctx context.Context, id string) error {
	return errors.Join(q.kv.Del(ctx, kvRequest+id), q.kv.Del(ctx, kvDone+id))
}

// codeKey keeps codes out of the KV in clear: a dump of Redis holds no
// usable code.
func codeKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}
