package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// BeginLogin returns the request options of a login with any discoverable
// credential (allowCredentials empty) and the id to finish it with.
func (s *Service) BeginLogin(ctx context.Context) (id string, options *protocol.PublicKeyCredentialRequestOptions, err error) {
	if err := s.check(); err != nil {
		return "", nil, err
	}
	d, err := s.Limiter.Hit(ctx, "passkeyopts:ip:"+core.ClientFrom(ctx).LimitKey(), s.Limits.OptionsPerIP, s.Limits.OptionsWindow, s.Clock.Now())
	if err != nil {
		return "", nil, err
	}
	if !d.Allowed {
		return "", nil, core.RateLimited(d.RetryAfter)
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return "", nil, &core.Error{Code: core.EInternal, Message: "internal error", Err: err}
	}
	if id, err = s.keep(ctx, keyLogin, ceremony{Session: *sd}); err != nil {
		return "", nil, err
	}
	return id, &assertion.Response, nil
}

// Login is a finished passkey login.
type Login struct {
	UserID    string
	PasskeyID string
	Tokens    *session.TokenPair
}

// FinishLogin verifies an assertion against the login options kept under
// id and starts a session for the passkey's owner. The attempt takes its
// place in the client's failure limit first and gives it back on success.
func (s *Service) FinishLogin(ctx context.Context, id string, credential json.RawMessage) (*Login, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	failKey := "passkeyfail:ip:" + core.ClientFrom(ctx).LimitKey()
	gate, token, err := s.Limiter.Reserve(ctx, failKey, s.Limits.FailuresPerIP, s.Limits.FailureWindow, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	if !gate.Allowed {
		return nil, core.RateLimited(gate.RetryAfter)
	}
	login, err := s.finishLogin(ctx, id, credential)
	if err != nil {
		return nil, err
	}
	if rerr := s.Limiter.Release(ctx, failKey, token); rerr != nil {
		s.Log.WarnContext(ctx, "a reserved passkey failure could not be given back", "err", rerr)
	}
	return login, nil
}

func (s *Service) finishLogin(ctx context.Context, id string, credential json.RawMessage) (*Login, error) {
	c, err := s.spend(ctx, keyLogin, id)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, refused(err)
	}
	var found *core.Passkey
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := s.Passkeys.PasskeyByCredentialID(ctx, rawID)
		if err != nil {
			return nil, err
		}
		if string(userHandle) != p.UserID {
			return nil, errors.New("the user handle is not the passkey's owner")
		}
		u, err := s.Users.UserByID(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		found = p
		return &user{u: u, passkeys: []*core.Passkey{p}}, nil
	}
	wu, cred, err := s.wa.ValidatePasskeyLogin(handler, c.Session, parsed)
	if err != nil {
		if found == nil {
			if uerr := unavailable(err); uerr != nil {
				return nil, uerr
			}
		}
		return nil, refused(err)
	}
	p, u := found, wu.(*user).u
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, refused(errors.New("the user was not verified")) // the library checks it too
	}
	if cred.Authenticator.CloneWarning {
		got := parsed.Response.AuthenticatorData.Counter
		s.Log.WarnContext(ctx, "passkey sign counter did not go up", "user_id", p.UserID, "passkey_id", p.ID,
			"stored", p.SignCount, "got", got)
		s.Audit.Record(ctx, p.UserID, core.EventPasskeyCounter, fmt.Sprintf("%s: %d after %d", p.Name, got, p.SignCount))
		return nil, refused(fmt.Errorf("sign counter %d after %d", got, p.SignCount))
	}
	now := s.Clock.Now()
	if err := s.Passkeys.UsePasskey(ctx, core.PasskeyUse{
		ID: p.ID, OldSignCount: p.SignCount, SignCount: cred.Authenticator.SignCount, BackupState: cred.Flags.BackupState, At: now,
	}); err != nil {
		if core.IsCode(err, core.ENotFound) {
			return nil, refused(err)
		}
		return nil, err
	}
	if cred.Flags.BackupState != p.BackupState {
		s.Audit.Record(ctx, p.UserID, core.EventPasskeyBackupChange, fmt.Sprintf("%s: backed up %t", p.Name, cred.Flags.BackupState))
	}
	keyKind := core.AMRHardwareKey
	if p.BackupEligible {
		keyKind = core.AMRSoftwareKey
	}
	pair, err := s.Tokens.Issue(ctx, u.ID, []string{keyKind, core.AMRUser, core.AMRMFA}, now)
	if err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "passkey login", "user_id", u.ID, "passkey_id", p.ID)
	s.Audit.Record(ctx, u.ID, core.EventPasskeyLogin, p.Name)
	return &Login{UserID: u.ID, PasskeyID: p.ID, Tokens: pair}, nil
}

// unavailable digs a store outage out of a library error, so that it is
// answered as one (503) rather than as a refusal.
func unavailable(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code == core.EUnavailable {
		return ce
	}
	return nil
}
