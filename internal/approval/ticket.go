package approval

import (
	"context"
	"crypto/subtle"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

var errBadTicket = core.Errorf(core.EUnauthorized, "a valid approval ticket is required")

// ByTicket loads the approval the ticket opens. An unknown id and a wrong
// ticket give the same 401, so neither reveals anything.
func (s *Service) ByTicket(ctx context.Context, id, ticket string) (*core.Approval, error) {
	if ticket == "" || !core.HasPrefix(id, core.PrefixApproval) {
		return nil, errBadTicket
	}
	a, err := s.Approvals.Approval(ctx, id)
	if core.IsCode(err, core.ENotFound) {
		return nil, errBadTicket
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(a.TicketHash), []byte(HashTicket(ticket))) != 1 {
		return nil, errBadTicket
	}
	return a, nil
}

// Exchange swaps an approved approval for a token pair, once.
func (s *Service) Exchange(ctx context.Context, a *core.Approval) (*session.TokenPair, error) {
	now := s.Clock.Now()
	if err := CanExchange(a, now); err != nil {
		return nil, err
	}
	ok, err := s.Approvals.MarkExchanged(ctx, a.ID, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, core.Errorf(core.EAlreadyExchanged, "the approval was already exchanged for a session")
	}
	return s.Tokens.Issue(ctx, a.UserID, AMR(a), *a.DecidedAt)
}
