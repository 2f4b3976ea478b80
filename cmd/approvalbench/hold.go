package main

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

// holdApprovals writes n pending approvals straight into the database, for
// the memory phase's browsers beyond the N + K of the ws phase, which only
// wait. Like -seed db, a bench-only shortcut: 40,000 more logins would be
// eight minutes of Argon2id on two cores, and a waiting websocket does not
// depend on how its approval began. They belong to one user of their own,
// with no device.
func holdApprovals(ctx context.Context, databaseURL string, n, workers int) ([]*user, error) {
	if n <= 0 {
		return nil, nil
	}
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	now := time.Now().UTC()
	u := &core.User{ID: core.NewID(core.PrefixUser), Name: "Bench held", Phone: phones(1)[0], PasswordHash: "-",
		CreatedAt: now, UpdatedAt: now}
	v := &core.Verification{ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "-",
		Status: core.VerificationPending, ExpiresAt: now.Add(time.Hour), LastSentAt: now, CreatedAt: now}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		return nil, err
	}
	out := make([]*user, n)
	err = forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		ticket := core.NewSecret(32)
		a := &core.Approval{ID: core.NewID(core.PrefixApproval), UserID: u.ID, Status: core.ApprovalPending,
			Channel: core.ChannelPush, MatchNumber: 42, TicketHash: approval.HashTicket(ticket),
			ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if err := db.CreateApproval(ctx, a); err != nil {
			return err
		}
		out[i] = &user{ApprovalID: a.ID, Ticket: ticket}
		return nil
	})
	return out, err
}
