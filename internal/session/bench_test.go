package session

import (
	"context"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	userID := core.NewID(core.PrefixUser)
	amr := []string{"pwd", "push"}
	for b.Loop() {
		if _, err := f.svc.Issue(ctx, userID, amr, f.clock.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	_, pair := f.issue(b, "pwd", "push")
	for b.Loop() {
		if _, err := f.svc.Authenticate(ctx, pair.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}
