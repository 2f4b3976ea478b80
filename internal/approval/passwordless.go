package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
)

// PasswordlessMessage is what the push of a passwordless login says: the
// user must know that no password was given.
const PasswordlessMessage = "Someone is trying to sign in as you without your password"

var errDeviceOnly = core.Errorf(core.EInvalidRequest, "this sign-in is approved on your device only")

// StartPasswordless opens the approval of a login without a password, on
// mode's channel: a number-matched push (never falling back to a code), or
// an SMS code (texted by Deliver, after the answer). It answers the same for
// everyone and takes the same steps for everyone: when u is nil (nobody is
// asked), or u may not be asked now (pushes paused by a report or over the
// push limits, no device left, too many wrong codes), the approval is a
// placeholder of the same shape, owned by core.PlaceholderUserID, that
// nobody is told of, nothing can decide, and that simply expires. A 429
// would say that the account exists; a placeholder says nothing.
func (s *Service) StartPasswordless(ctx context.Context, u *core.User, mode core.Passwordless, in StartInput) (*Started, error) {
	app := core.CleanAppName(in.AppName)
	now := s.Clock.Now()
	userID, asked := core.PlaceholderUserID, u != nil
	if asked {
		userID = u.ID
	}
	d, err := s.Limiter.Check(ctx, wrongCodesKey(userID), s.Config.WrongCodesPerHour, time.Hour, now)
	if err != nil {
		return nil, err
	}
	if asked && !d.Allowed {
		asked = false
		s.lateAudit().Record(ctx, userID, core.EventRateLimited, forApp("passwordless sign-in refused: too many wrong codes in the last hour", app))
	}
	devices, err := s.Devices.DevicesByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	ticket := core.NewSecret(32)
	a := &core.Approval{
		ID: core.NewID(core.PrefixApproval), UserID: userID, Status: core.ApprovalPending, Passwordless: mode,
		TicketHash: HashTicket(ticket), IP: in.IP, UserAgent: truncate(in.UserAgent, 256), AppName: app, CreatedAt: now,
	}
	switch mode {
	case core.PasswordlessPush:
		// The push-fatigue limits and a report's pause hold here too; the
		// placeholder is counted under its own id, so it costs the same.
		reason, err := s.pushRefusal(ctx, userID, max(len(devices), 1), now)
		if err != nil {
			return nil, err
		}
		if asked && (len(devices) == 0 || reason != "") {
			asked = false
			s.lateAudit().Record(ctx, userID, core.EventRateLimited, forApp("passwordless push not sent: "+orNoDevice(reason, len(devices)), app))
		}
		a.Channel, a.MatchNumber, a.ExpiresAt = core.ChannelPush, matchNumber(), now.Add(s.Config.ApprovalTTL)
		if asked {
			a.PushSentAt = &now
		}
		if err := s.supersedeFor(ctx, a, asked, in.Identifier, now); err != nil {
			return nil, err
		}
	case core.PasswordlessSMS:
		a.Channel, a.ExpiresAt = core.ChannelSMS, now.Add(s.Config.CodeTTL)
		devices = nil // a code, not a push
	default:
		return nil, core.Errorf(core.EInternal, "passwordless sign-in by %q", mode)
	}
	if !asked {
		a.UserID, devices = core.PlaceholderUserID, nil
	}
	if err := s.Approvals.CreateApproval(ctx, a); err != nil {
		return nil, err
	}
	st := &Started{Approval: a, Ticket: ticket, Devices: devices}
	if a.Channel == core.ChannelSMS {
		// The code is stored now, texted after the answer: the answer
		// never waits for the SMS provider, whoever the login is for.
		code := otp.NewCode()
		change, err := SetCode(a, now, s.Codes.Hash(a.ID, code))
		if err != nil {
			return nil, err
		}
		if err := s.apply(ctx, a, now, change); err != nil {
			return nil, err
		}
		if _, err := s.KV.SetNX(ctx, smsCooldownKey(a.ID), "1", s.Config.SMSCooldown); err != nil {
			return nil, err
		}
		if asked {
			st.text = &core.CodeText{Kind: core.SMSLogin, UserID: u.ID, Phone: u.Phone, Code: code, TTL: s.Config.CodeTTL}
		}
	}
	if asked {
		s.keys.remember(devices...)
		s.Log.InfoContext(ctx, "passwordless approval started", "approval_id", a.ID, "user_id", u.ID, "channel", a.Channel, "app", a.AppName)
		s.lateAudit().Record(ctx, u.ID, core.EventLoginStarted, forApp("passwordless sign-in by "+string(a.Channel), a.AppName))
	}
	return st, nil
}

// supersedeFor denies what a new passwordless push a replaces, as a new
// push does: the user's pushed approvals (SupersedePending) when a user is
// asked, else the identifier's previous placeholder, which a watcher of it
// must see superseded just as a user's would be. The same steps either
// way: the identifier's last push is read and replaced in the KV, and one
// guarded write denies.
func (s *Service) supersedeFor(ctx context.Context, a *core.Approval, asked bool, identifier string, now time.Time) error {
	key := lastPasswordlessKey(identifier)
	previous, _, err := s.KV.Get(ctx, key)
	if err != nil {
		return err
	}
	var superseded []*core.Approval
	switch {
	case asked || previous == "":
		// A placeholder's rows are never pushed: SupersedePending of its
		// owner denies none.
		superseded, err = s.Approvals.SupersedePending(ctx, a.UserID, now, Supersede(now))
	default:
		var old *core.Approval
		old, err = s.Approvals.UpdatePending(ctx, previous, now, Supersede(now))
		if old != nil {
			superseded = []*core.Approval{old}
		}
	}
	if err != nil {
		return err
	}
	for _, old := range superseded {
		s.publish(ctx, old.ID, StateFrame(old, now))
	}
	s.announceToDevices(ctx, now, superseded...)
	if err := s.KV.Del(ctx, key); err != nil {
		return err
	}
	_, err = s.KV.SetNX(ctx, key, a.ID, s.Config.ApprovalTTL)
	return err
}

func lastPasswordlessKey(identifier string) string { return "passwordless:last:" + identifier }

func orNoDevice(reason string, devices int) string {
	if devices == 0 {
		return core.ReasonNoDevice
	}
	return reason
}

// codesKey is the wrong-code count an approval's codes go to: its user's
// hourly count, or for a placeholder its own, so that placeholders of
// different logins do not share one.
func codesKey(a *core.Approval) string {
	if a.UserID == core.PlaceholderUserID {
		return wrongCodesKey(a.UserID + ":" + a.ID)
	}
	return wrongCodesKey(a.UserID)
}

// AMR is the session's methods of an approved approval: the method that
// decided it, after "pwd" unless the login was passwordless.
func AMR(a *core.Approval) []string {
	if a.Passwordless != "" {
		return []string{a.Method}
	}
	return []string{"pwd", a.Method}
}
