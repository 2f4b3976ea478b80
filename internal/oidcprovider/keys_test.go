package oidcprovider

import (
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
)

// algClients is a core.OIDCClientStore whose clients' ids are their
// ID-token algorithms ("" for a client that asked for none).
type algClients struct{ core.OIDCClientStore }

func (algClients) OIDCClient(_ context.Context, id string) (*core.OIDCClient, error) {
	alg, ok := strings.CutPrefix(id, "app-")
	if !ok {
		return nil, core.Errorf(core.ENotFound, "no client")
	}
	return &core.OIDCClient{ID: id, Name: id, IDTokenAlg: alg}, nil
}

// testRings are three keyrings, RS256, ES256 and EdDSA, in memory.
func testRings(t *testing.T) map[string]*keyring.Ring {
	t.Helper()
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	rings := map[string]*keyring.Ring{}
	for alg, purpose := range map[string]core.KeyPurpose{"RS256": core.KeyOIDC, "ES256": core.KeyOIDCES256, "EdDSA": core.KeyOIDCEdDSA} {
		r, err := keyring.Load(context.Background(), &onlyKeys{}, purpose, clock)
		if err != nil {
			t.Fatal(err)
		}
		rings[alg] = r
	}
	return rings
}

// onlyKeys is a core.KeyStore holding what is inserted.
type onlyKeys struct {
	core.KeyStore
	keys []*core.SigningKey
}

func (o *onlyKeys) Keys(context.Context, core.KeyPurpose) ([]*core.SigningKey, error) {
	return o.keys, nil
}

func (o *onlyKeys) InsertKeyIfNone(_ context.Context, k *core.SigningKey) (*core.SigningKey, error) {
	o.keys = append(o.keys, k)
	return k, nil
}

func TestNewKeyRings(t *testing.T) {
	rings := testRings(t)
	rs, es, ed := rings["RS256"], rings["ES256"], rings["EdDSA"]
	kr, err := newKeyRings([]Keys{ed, rs, es})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kr.algs, []string{"RS256", "ES256", "EdDSA"}) {
		t.Fatalf("algs %v, want RS256 first, then ES256, EdDSA", kr.algs)
	}
	if kr, err := newKeyRings([]Keys{rs}); err != nil || !slices.Equal(kr.algs, []string{"RS256"}) {
		t.Fatalf("RS256 alone: %v, %v", kr.algs, err)
	}
	for name, bad := range map[string][]Keys{
		"no RS256":  {es, ed},
		"two RS256": {rs, rs},
		"none":      {},
		"nil":       {rs, nil},
	} {
		if _, err := newKeyRings(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSigningKeyByClient: SigningKey is the key of the algorithm of the
// client withTokenClient named, RS256 without one; the key set is every
// ring's; the algorithms are the three.
func TestSigningKeyByClient(t *testing.T) {
	rings := testRings(t)
	kr, err := newKeyRings([]Keys{rings["RS256"], rings["ES256"], rings["EdDSA"]})
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := &storage{clients: newClientCache(algClients{}, clock), keys: kr}

	// The client as a token request names it: Basic (URL-encoded) first,
	// then the form's client_id.
	for _, tt := range []struct {
		name, want string
		req        func() *http.Request
	}{
		{"none", "RS256", func() *http.Request { return form(url.Values{"grant_type": {"refresh_token"}}) }},
		{"form, default alg", "RS256", func() *http.Request { return form(url.Values{"client_id": {"app-"}}) }},
		{"form ES256", "ES256", func() *http.Request { return form(url.Values{"client_id": {"app-ES256"}}) }},
		{"form EdDSA", "EdDSA", func() *http.Request { return form(url.Values{"client_id": {"app-EdDSA"}}) }},
		{"basic ES256", "ES256", func() *http.Request {
			r := form(url.Values{"client_id": {"app-EdDSA"}}) // Basic wins, as in op
			r.SetBasicAuth(url.QueryEscape("app-ES256"), "secret")
			return r
		}},
		{"basic RS256", "RS256", func() *http.Request {
			r := form(nil)
			r.SetBasicAuth("app-RS256", "secret")
			return r
		}},
		{"client_id twice", "RS256", func() *http.Request {
			return form(url.Values{"client_id": {"app-ES256", "app-EdDSA"}})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var key op.SigningKey
			var form url.Values
			h := withTokenClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var err error
				if key, err = s.SigningKey(r.Context()); err != nil {
					t.Fatal(err)
				}
				_ = r.ParseForm() // op's read after ours
				form = r.Form
			}))
			r := tt.req()
			body := r.Header.Get("X-Form")
			h.ServeHTTP(httptest.NewRecorder(), r)
			if string(key.SignatureAlgorithm()) != tt.want {
				t.Fatalf("signed with %s, want %s", key.SignatureAlgorithm(), tt.want)
			}
			kid, _, signer := rings[tt.want].Signer()
			if eq, ok := key.Key().(interface{ Equal(crypto.PrivateKey) bool }); key.ID() != kid || !ok || !eq.Equal(signer) {
				t.Fatalf("key %s is not the %s ring's", key.ID(), tt.want)
			}
			if form.Encode() != body {
				t.Fatalf("op reads the form %q, sent %q", form.Encode(), body)
			}
		})
	}

	// An unknown client (op refuses it before signing) is an error, not a
	// silent RS256.
	ctx := context.WithValue(context.Background(), tokenClientKey{}, "nobody")
	if _, err := s.SigningKey(ctx); err == nil {
		t.Fatal("SigningKey for an unknown client")
	}

	algs, _ := s.SignatureAlgorithms(context.Background())
	if len(algs) != 3 || algs[0] != "RS256" || algs[1] != "ES256" || algs[2] != "EdDSA" {
		t.Fatalf("SignatureAlgorithms %v", algs)
	}
	set, _ := s.KeySet(context.Background())
	var got []string
	for _, k := range set {
		got = append(got, k.ID()+"/"+string(k.Algorithm()))
	}
	var want []string
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		for _, vk := range rings[alg].VerificationKeys() {
			want = append(want, vk.KID+"/"+alg)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("KeySet %v, want %v", got, want)
	}
}

// form is a POST to the token endpoint with v, which X-Form repeats.
func form(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/oidc/token", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Form", v.Encode())
	return r
}
