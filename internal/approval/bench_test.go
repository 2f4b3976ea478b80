package approval

import (
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// The state machine is pure; these say what one transition costs next to
// the database round trips around it.

func BenchmarkDecide(b *testing.B) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	fresh := core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, MatchNumber: 42, ExpiresAt: now.Add(time.Minute)}
	o := Outcome{Approve: true, Method: core.MethodPush, By: "dev_x"}
	for b.Loop() {
		a := fresh
		if _, err := Decide(&a, now, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallBackThenDecideByCode(b *testing.B) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	fresh := core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, MatchNumber: 42, ExpiresAt: now.Add(time.Minute)}
	for b.Loop() {
		a := fresh
		if _, err := FallBack(&a, now, core.ReasonPushTimeout, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err := SetCode(&a, now, "hash"); err != nil {
			b.Fatal(err)
		}
		if _, err := Decide(&a, now, Outcome{Approve: true, Method: core.MethodSMS}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameEvent is a decision's trip through the broker format:
// encoded once by the deciding instance, decoded by each websocket.
func BenchmarkFrameEvent(b *testing.B) {
	a := &core.Approval{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied}
	at := time.Now()
	for b.Loop() {
		msg := encodeEnvelope(StateFrame(a, at), at)
		if _, err := DecodeEnvelope(msg); err != nil {
			b.Fatal(err)
		}
	}
}
