package account_test

import (
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/inmem"
)

// New refuses a service with a dependency left out, and names it.
func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	f := newFixture()
	eph := inmem.New(f.clock)
	t.Cleanup(func() { _ = eph.Close() })
	svc, _ := f.service(t, "sqlite", eph, nil)

	d := svc.Deps
	d.Hasher, d.LoginAudit = nil, nil
	if _, err := account.New(d); err == nil || err.Error() != "account.New: missing Hasher, LoginAudit" {
		t.Fatalf("without Hasher and LoginAudit: %v", err)
	}
	d = svc.Deps
	d.CodeTTL = 0
	if _, err := account.New(d); err == nil || err.Error() != "account.New: missing CodeTTL" {
		t.Fatalf("without CodeTTL: %v", err)
	}
}
