package approval_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// deviceFrames returns what was published on the device channels followed.
func (f *fixture) deviceFrames(t *testing.T) []approval.DeviceFrame {
	t.Helper()
	var out []approval.DeviceFrame
	for {
		select {
		case ev := <-f.sub.Events():
			var df approval.DeviceFrame
			if err := json.Unmarshal(ev.Payload, &df); err != nil {
				t.Fatalf("device message %q: %v", ev.Payload, err)
			}
			out = append(out, df)
		default:
			return out
		}
	}
}

func TestDeviceWSTicket(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "")
	other, _ := f.device(t, f.user(t), "")

	use := func(deviceID, ticket string) error {
		_, err := f.svc.UseDeviceWSTicket(ctx, deviceID, ticket)
		return err
	}
	ticket, ttl, err := f.svc.IssueDeviceWSTicket(ctx, d)
	ok(t, err)
	if ttl != approval.DeviceWSTicketTTL || len(ticket) < 40 {
		t.Fatalf("ticket %q, ttl %v", ticket, ttl)
	}
	wantCode(t, use(other.ID, ticket), core.EUnauthorized) // another device's
	wantCode(t, use(d.ID, ticket+"x"), core.EUnauthorized)
	wantCode(t, use(d.ID, ""), core.EUnauthorized)
	dev, err := f.svc.UseDeviceWSTicket(ctx, d.ID, ticket)
	ok(t, err)
	if dev.ID != d.ID || dev.UserID != u.ID {
		t.Fatalf("device %+v", dev)
	}
	wantCode(t, use(d.ID, ticket), core.EUnauthorized) // spent

	// Expired: refused at its TTL, accepted just before.
	ticket, _, err = f.svc.IssueDeviceWSTicket(ctx, d)
	ok(t, err)
	f.clock.Advance(approval.DeviceWSTicketTTL)
	wantCode(t, use(d.ID, ticket), core.EUnauthorized)
	ticket, _, err = f.svc.IssueDeviceWSTicket(ctx, d)
	ok(t, err)
	f.clock.Advance(approval.DeviceWSTicketTTL - time.Second)
	ok(t, use(d.ID, ticket))

	// A removed device's ticket opens nothing.
	ticket, _, err = f.svc.IssueDeviceWSTicket(ctx, d)
	ok(t, err)
	ok(t, f.db.DeleteDevice(ctx, u.ID, d.ID))
	wantCode(t, use(d.ID, ticket), core.EUnauthorized)
}

func TestDeviceChannelFrames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "")
	if err := f.sub.Subscribe(ctx, approval.DeviceTopic(d.ID)); err != nil {
		t.Fatal(err)
	}
	st := f.start(t, u)
	f.svc.Deliver(ctx, st)
	got := f.deviceFrames(t)
	if len(got) != 1 || got[0].Type != approval.DeviceFrameApproval {
		t.Fatalf("device frames after the start: %+v", got)
	}
	// Signed by the server over the body, as the websocket path says.
	fr := got[0]
	h := signing.Headers{Timestamp: fr.Timestamp, Nonce: fr.Nonce, Signature: fr.Signature}
	pub := f.svc.ServerKey.Public().(ed25519.PublicKey)
	ok(t, signing.Verify(pub, approval.DeviceWSSignMethod, approval.DeviceWSPath(d.ID), h, []byte(fr.Body)))
	if signing.Verify(pub, "POST", approval.DeviceWSPath(d.ID), h, []byte(fr.Body)) == nil {
		t.Fatal("the frame's signature passes for a POST")
	}
	var p approval.PushRequest
	ok(t, json.Unmarshal([]byte(fr.Body), &p))
	if p.ApprovalID != st.Approval.ID || p.DeviceID != d.ID {
		t.Fatalf("push %+v", p)
	}
	list, removed, err := f.svc.DevicePending(ctx, d.ID)
	ok(t, err)
	if removed || len(list) != 1 || list[0].ApprovalID != st.Approval.ID {
		t.Fatalf("pending %+v removed %v", list, removed)
	}

	// A second login supersedes the first: the device hears both.
	st2 := f.start(t, u)
	got = f.deviceFrames(t)
	if len(got) != 1 || got[0].Type != approval.DeviceFrameStatus || got[0].ApprovalID != st.Approval.ID ||
		got[0].Status != "denied" || got[0].Reason != core.ReasonSuperseded {
		t.Fatalf("device frames after a second login: %+v", got)
	}
	f.svc.Deliver(ctx, st2)
	_ = f.deviceFrames(t)

	n := st2.Approval.MatchNumber
	status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st2.Approval.ID, Decision: "approve", MatchNumber: &n})
	ok(t, err)
	if status != core.ApprovalApproved {
		t.Fatalf("status %s", status)
	}
	got = f.deviceFrames(t)
	if len(got) != 1 || got[0].ApprovalID != st2.Approval.ID || got[0].Status != "approved" {
		t.Fatalf("device frames after the approval: %+v", got)
	}

	// Expiry by the sweep.
	st3 := f.start(t, u)
	f.svc.Deliver(ctx, st3)
	_ = f.deviceFrames(t)
	f.clock.Advance(f.svc.Config.ApprovalTTL + time.Second)
	f.clock.Advance(f.svc.Config.CodeTTL)
	ok(t, f.svc.Sweep(ctx))
	got = f.deviceFrames(t)
	if len(got) != 1 || got[0].ApprovalID != st3.Approval.ID || got[0].Status != "expired" {
		t.Fatalf("device frames after the sweep: %+v", got)
	}

	f.svc.DeviceRemoved(ctx, d.ID)
	got = f.deviceFrames(t)
	if len(got) != 1 || got[0].Type != approval.DeviceFrameRemoved || got[0].DeviceID != d.ID {
		t.Fatalf("device frames after the removal: %+v", got)
	}
	ok(t, f.db.DeleteDevice(ctx, u.ID, d.ID))
	if _, removed, err := f.svc.DevicePending(ctx, d.ID); err != nil || !removed {
		t.Fatalf("pending of a removed device: %v %v", removed, err)
	}
}
