package approval

import "github.com/approvald/approvald/internal/core"

// offeredTo is the one rule of which approvals a device may decide, and
// pull: those offered to it, that is pushed to its user's devices while it
// was already enrolled. push_sent_at is set when a push approval starts,
// for devices that pull too (the pull lists it), so a login that began on
// SMS showed no number and was offered to no device, and a device enrolled
// after the push was never shown that login. store.DB.DecideByDevice, the
// guarded decision, applies the same conditions in SQL;
// TestOfferedToAgreesWithTheStore runs one table through both.
func offeredTo(a *core.Approval, dev *core.Device) bool {
	return a.UserID == dev.UserID && a.PushSentAt != nil && !dev.CreatedAt.After(*a.PushSentAt)
}
