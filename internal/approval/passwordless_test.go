package approval_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
)

// eachDialect runs fn as a parallel subtest on a fresh fixture per dialect.
func eachDialect(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	t.Parallel()
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixtureOn(t, d))
		})
	}
}

// pushes records the bodies of the pushes sent.
type pushes struct {
	mu     sync.Mutex
	bodies []approval.PushRequest
}

func (p *pushes) record(f *fixture) {
	f.pusher.send = func(_ context.Context, _ string, body []byte) error {
		var r approval.PushRequest
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.bodies = append(p.bodies, r)
		return nil
	}
}

func (p *pushes) all() []approval.PushRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.bodies)
}

func (f *fixture) startPasswordless(t *testing.T, u *core.User, mode core.Passwordless) *approval.Started {
	t.Helper()
	ident := "nobody"
	if u != nil {
		ident = u.ID
	}
	st, err := f.svc.StartPasswordless(context.Background(), u, mode, approval.StartInput{IP: "203.0.113.7", UserAgent: "test-browser", Identifier: ident})
	if err != nil {
		t.Fatalf("StartPasswordless: %v", err)
	}
	return st
}

// wantAMR exchanges the approved approval and checks the session's amr.
func (f *fixture) wantAMR(t *testing.T, id string, amr ...string) {
	t.Helper()
	ctx := context.Background()
	pair, err := f.svc.Exchange(ctx, f.stored(t, id))
	ok(t, err)
	claims, err := f.tokens.Authenticate(ctx, pair.AccessToken)
	ok(t, err)
	if !slices.Equal(claims.AMR, amr) {
		t.Fatalf("amr %q; want %q", claims.AMR, amr)
	}
}

func TestPasswordlessPushIsApprovedOnTheDeviceOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var sent pushes
		sent.record(f)
		u := f.user(t)
		d, secret := f.device(t, u, "https://phone.test/push")
		st := f.startPasswordless(t, u, core.PasswordlessPush)
		a := f.stored(t, st.Approval.ID)
		if a.UserID != u.ID || a.Passwordless != core.PasswordlessPush || a.Channel != core.ChannelPush ||
			!core.IsMatchNumber(a.MatchNumber) || a.PushSentAt == nil || len(st.Devices) != 1 || !st.Undelivered() {
			t.Fatalf("started %+v (devices %d)", a, len(st.Devices))
		}
		f.svc.Deliver(ctx, st)
		got := sent.all()
		if len(got) != 1 || !got[0].Passwordless || got[0].Message != approval.PasswordlessMessage {
			t.Fatalf("pushed %+v; want one passwordless push saying so", got)
		}
		// No code and no SMS for a passwordless push: TOTP, SMS and the
		// push timeout all leave it on the device.
		wantCode(t, f.svc.RequestSMS(ctx, a), core.EInvalidRequest)
		wantCode(t, f.svc.VerifyCode(ctx, a, totpNow(t, secret, f)), core.EInvalidRequest)
		f.clock.Advance(approval.DefaultConfig().PushTimeout + 1)
		ok(t, f.svc.Sweep(ctx))
		if a := f.stored(t, a.ID); a.Channel != core.ChannelPush || a.TimeoutAnnouncedAt != nil {
			t.Fatalf("a passwordless push moved: %+v", a)
		}
		if len(f.texts.all()) != 0 {
			t.Fatalf("texted %+v", f.texts.all())
		}
		n := a.MatchNumber
		status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: a.ID, Decision: "approve", MatchNumber: &n})
		ok(t, err)
		if status != core.ApprovalApproved {
			t.Fatalf("status %s", status)
		}
		f.wantAMR(t, a.ID, "push")
	})
}

func TestPasswordlessPushRefusedBecomesAPlaceholder(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var sent pushes
		sent.record(f)
		cfg := approval.DefaultConfig()

		// Over the push-fatigue limit: the next start asks nobody.
		u := f.user(t)
		f.device(t, u, "https://phone.test/push")
		for range cfg.PushesPerWindow {
			st := f.startPasswordless(t, u, core.PasswordlessPush)
			if st.Approval.UserID != u.ID {
				t.Fatal("a start within the limit asked nobody")
			}
		}
		wantPlaceholder(t, f, f.startPasswordless(t, u, core.PasswordlessPush), core.ChannelPush)

		// A report ("not me") pauses passwordless pushes too.
		v := f.user(t)
		d, _ := f.device(t, v, "https://phone.test/push")
		st := f.startPasswordless(t, v, core.PasswordlessPush)
		_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "deny", Report: true})
		ok(t, err)
		wantPlaceholder(t, f, f.startPasswordless(t, v, core.PasswordlessPush), core.ChannelPush)

		// No device left.
		w := f.user(t)
		wantPlaceholder(t, f, f.startPasswordless(t, w, core.PasswordlessPush), core.ChannelPush)

		for _, p := range sent.all() {
			if p.ApprovalID != "" && f.stored(t, p.ApprovalID).UserID == core.PlaceholderUserID {
				t.Fatalf("a placeholder was pushed: %+v", p)
			}
		}
	})
}

// wantPlaceholder checks that st asks nobody, in the shape of a real start.
func wantPlaceholder(t *testing.T, f *fixture, st *approval.Started, channel core.Channel) {
	t.Helper()
	a := f.stored(t, st.Approval.ID)
	if a.UserID != core.PlaceholderUserID || a.Channel != channel || a.Status != core.ApprovalPending ||
		a.PushSentAt != nil || len(st.Devices) != 0 || a.Passwordless == "" {
		t.Fatalf("placeholder %+v (devices %d)", a, len(st.Devices))
	}
	if channel == core.ChannelPush && !core.IsMatchNumber(a.MatchNumber) {
		t.Fatalf("placeholder push without a number: %+v", a)
	}
	if channel == core.ChannelSMS && a.CodeHash == "" {
		t.Fatalf("placeholder SMS without a code: %+v", a)
	}
}

func TestPasswordlessSMSTakesTheTextedCodeOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user(t)
		_, secret := f.device(t, u, "")
		st := f.startPasswordless(t, u, core.PasswordlessSMS)
		a := f.stored(t, st.Approval.ID)
		if a.Channel != core.ChannelSMS || a.Passwordless != core.PasswordlessSMS || a.MatchNumber != 0 || len(st.Devices) != 0 {
			t.Fatalf("started %+v", a)
		}
		if len(f.texts.all()) != 0 {
			t.Fatal("texted before Deliver: the answer would wait for the SMS provider")
		}
		f.svc.Deliver(ctx, st)
		f.lastCode(t, u.Phone)
		// A new code, asked for after the cooldown, is texted after the
		// answer too (as the first was), whatever the SMS provider does.
		f.clock.Advance(approval.DefaultConfig().SMSCooldown)
		ok(t, f.svc.RequestSMS(ctx, f.stored(t, a.ID)))
		waitTexts(t, f, 2)
		code := f.lastCode(t, u.Phone)
		// The authenticator's TOTP is no way in: SMS alone was chosen.
		wantCode(t, f.svc.VerifyCode(ctx, a, totpNow(t, secret, f)), core.EInvalidCode)
		ok(t, f.svc.VerifyCode(ctx, f.stored(t, a.ID), code))
		f.wantAMR(t, a.ID, "sms")
	})
}

func TestPasswordlessPlaceholderBehavesAsAPendingApprovalThatExpires(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		push := f.startPasswordless(t, nil, core.PasswordlessPush)
		sms := f.startPasswordless(t, nil, core.PasswordlessSMS)
		wantPlaceholder(t, f, push, core.ChannelPush)
		wantPlaceholder(t, f, sms, core.ChannelSMS)
		f.follow(t, push.Approval.ID)
		f.follow(t, sms.Approval.ID)

		// Readers open them with their tickets as any other.
		for _, st := range []*approval.Started{push, sms} {
			a, err := f.svc.ByTicket(ctx, st.Approval.ID, st.Ticket)
			ok(t, err)
			if v := approval.ViewAt(a, f.clock.Now()); v.Status != core.ApprovalPending {
				t.Fatalf("view %+v", v)
			}
		}
		// What a user's passwordless login answers, a placeholder answers.
		a := f.stored(t, sms.Approval.ID)
		wantCode(t, f.svc.RequestSMS(ctx, a), core.ERateLimited) // within the cooldown, as a real one
		f.clock.Advance(approval.DefaultConfig().SMSCooldown)
		ok(t, f.svc.RequestSMS(ctx, a))
		wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, a.ID), "123456"), core.EInvalidCode)
		wantCode(t, f.svc.RequestSMS(ctx, f.stored(t, push.Approval.ID)), core.EInvalidRequest)
		if len(f.texts.all()) != 0 {
			t.Fatalf("a placeholder texted %+v", f.texts.all())
		}
		// Then time decides: expired, announced like any other.
		f.clock.Advance(approval.DefaultConfig().CodeTTL)
		ok(t, f.svc.Sweep(ctx))
		got := f.frames(t)
		if len(got) != 2 {
			t.Fatalf("frames %+v; want two expiries", got)
		}
		for _, p := range got {
			if p.Frame != statusFrame(core.ApprovalExpired, "") {
				t.Fatalf("frame %+v", p)
			}
		}
	})
}

func totpNow(t *testing.T, secret []byte, f *fixture) string {
	t.Helper()
	return otp.TOTPCode(secret, f.clock.Now())
}

// waitTexts waits (up to 5 s) until n codes were texted: some are texted
// after the answer, by a goroutine of their own.
func waitTexts(t *testing.T, f *fixture, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(f.texts.all()) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d codes texted, want %d", len(f.texts.all()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A new passwordless push supersedes the identifier's previous one, for a
// user as for a placeholder: watching the first tells nothing.
func TestPasswordlessPushSupersedesTheIdentifiersPrevious(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		f.device(t, u, "https://phone.test/push")
		for _, who := range []*core.User{u, nil} {
			first := f.startPasswordless(t, who, core.PasswordlessPush)
			f.follow(t, first.Approval.ID)
			f.frames(t)
			second := f.startPasswordless(t, who, core.PasswordlessPush)
			f.wantFrames(t, published{first.Approval.ID, statusFrame(core.ApprovalDenied, core.ReasonSuperseded)})
			if a := f.stored(t, second.Approval.ID); a.Status != core.ApprovalPending {
				t.Fatalf("the newer: %+v", a)
			}
		}
	})
}
