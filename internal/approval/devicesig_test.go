package approval_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// signedDevice enrolls a device with a real key pair for u.
func (f *fixture) signedDevice(t *testing.T, u *core.User) (*core.Device, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &core.Device{
		ID: core.NewID(core.PrefixDevice), UserID: u.ID, Name: "phone", PublicKey: pub,
		TOTPSecretEnc: []byte("unused"), CreatedAt: f.clock.Now(),
	}
	if err := f.db.CreateDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d, priv
}

// A request signed at T is accepted while the server's clock reads T-300 s
// to T+300 s (whole seconds: up to T+301 s exclusive). Used at the earliest
// moment, its nonce must still be remembered at the latest one, 601 s on.
func TestNonceIsRememberedAcrossTheWholeWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d, priv := f.signedDevice(t, f.user(t))
	path := "/api/v1/devices/" + d.ID + "/approvals"
	signedAt := start.Add(time.Hour).Truncate(time.Second)
	h := signing.Sign(priv, http.MethodGet, path, d.ID, nil, signedAt)
	header := http.Header{}
	h.Apply(header)
	req := approval.SignedRequest{Method: http.MethodGet, PathWithQuery: path, Header: header.Get}
	ctx := context.Background()

	earliest := signedAt.Add(-approval.SignatureSkew)
	latest := signedAt.Add(approval.SignatureSkew + time.Second - time.Millisecond)
	f.clock.Set(earliest)
	if _, err := f.svc.AuthenticateDevice(ctx, req, d.ID); err != nil {
		t.Fatalf("first use at the window's earliest moment: %v", err)
	}
	f.clock.Set(latest)
	_, err := f.svc.AuthenticateDevice(ctx, req, d.ID)
	wantCode(t, err, core.EInvalidSignature)

	// The same replay, refused for its nonce and not its timestamp: a
	// fresh nonce with the same timestamp is accepted at that moment.
	fresh := signing.Sign(priv, http.MethodGet, path, d.ID, nil, signedAt)
	freshHeader := http.Header{}
	fresh.Apply(freshHeader)
	if _, err := f.svc.AuthenticateDevice(ctx, approval.SignedRequest{Method: http.MethodGet, PathWithQuery: path, Header: freshHeader.Get}, d.ID); err != nil {
		t.Fatalf("a fresh nonce at the window's latest moment: %v", err)
	}
	if approval.NonceTTL <= 2*approval.SignatureSkew+time.Second {
		t.Fatalf("NonceTTL %v does not outlast the window of 2×%v + 1 s", approval.NonceTTL, approval.SignatureSkew)
	}
}
