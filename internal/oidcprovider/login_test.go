package oidcprovider

import (
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
)

// prompt=login and max_age=0 want a login made after the request: one made
// earlier in the same second does not count (it did, when the request's
// time was truncated to the second), one made a microsecond later does
// (the stores keep times to the microsecond).
func TestForcedLoginWantsALoginAfterTheRequest(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 600_000_789, time.UTC)
	p := &Provider{clock: clocktest.New(created.Add(time.Second))}
	for _, req := range []*authRequest{
		{CreatedAt: created, Prompt: []string{oidc.PromptLogin}, MaxAge: oidc.NewMaxAge(0)},
		{CreatedAt: created, MaxAge: oidc.NewMaxAge(0)},
	} {
		for _, c := range []struct {
			authTime time.Time
			want     bool
		}{
			{created.Add(-500 * time.Millisecond), false}, // the same second, before
			{created.Add(-time.Hour), false},
			{created.Add(time.Microsecond).Truncate(time.Microsecond), true},
			{created.Add(time.Minute), true},
		} {
			s := &core.Session{UserID: "usr_1", AuthTime: c.authTime}
			if got := p.satisfies(req, s); got != c.want {
				t.Errorf("prompt %v max_age %d, request at %s, login at %s: satisfied %v, want %v",
					req.Prompt, *req.MaxAge, req.CreatedAt.Format(time.StampMicro), c.authTime.Format(time.StampMicro), got, c.want)
			}
		}
	}
}
