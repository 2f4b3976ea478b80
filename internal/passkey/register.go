package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
)

// notify texts the user a notice; the change it reports is already made.
func (s *Service) notify(ctx context.Context, u *core.User, text string) {
	if u != nil && u.Phone != "" {
		s.Notices.Notify(ctx, u.Phone, text)
	}
}

// BeginRegistration returns the creation options for a new passkey of
// userID (its existing ones excluded) and the id to finish it with.
func (s *Service) BeginRegistration(ctx context.Context, userID string) (id string, options *protocol.PublicKeyCredentialCreationOptions, err error) {
	if err := s.check(); err != nil {
		return "", nil, err
	}
	d, err := s.Limiter.Hit(ctx, "passkeyreg:user:"+userID, s.Limits.RegistrationsPerHour, time.Hour, s.Clock.Now())
	if err != nil {
		return "", nil, err
	}
	if !d.Allowed {
		return "", nil, core.RateLimited(d.RetryAfter)
	}
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	existing, err := s.Passkeys.PasskeysByUser(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	wu := &user{u: u, passkeys: existing}
	exclude := make([]protocol.CredentialDescriptor, len(existing))
	for i, p := range existing {
		exclude[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: p.CredentialID}
	}
	creation, sd, err := s.wa.BeginRegistration(wu, webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return "", nil, &core.Error{Code: core.EInternal, Message: "internal error", Err: err}
	}
	if id, err = s.keep(ctx, keyRegistration, ceremony{UserID: userID, Session: *sd}); err != nil {
		return "", nil, err
	}
	return id, &creation.Response, nil
}

// Registration is the answer to registration options.
type Registration struct {
	ID         string          // the registration_id
	Name       string          // the user's name for it; "Passkey" when empty
	Credential json.RawMessage // the PublicKeyCredential's JSON
}

// FinishRegistration verifies the new credential and stores it as a passkey
// of userID, who must be the one who asked for the options.
func (s *Service) FinishRegistration(ctx context.Context, userID string, r Registration) (*core.Passkey, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(r.Name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > 64 {
		return nil, core.FieldError(core.EInvalidRequest, "name", "name must be at most 64 characters")
	}
	c, err := s.spend(ctx, keyRegistration, r.ID)
	if err != nil {
		return nil, err
	}
	if c.UserID != userID {
		return nil, refused(errors.New("registration of another user"))
	}
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	existing, err := s.Passkeys.PasskeysByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(r.Credential)
	if err != nil {
		return nil, refused(err)
	}
	cred, err := s.wa.CreateCredential(&user{u: u, passkeys: existing}, c.Session, parsed)
	if err != nil {
		return nil, refused(err)
	}
	if !cred.Flags.UserVerified {
		return nil, refused(errors.New("the user was not verified"))
	}
	now := s.Clock.Now()
	p := &core.Passkey{
		ID: core.NewID(core.PrefixPasskey), UserID: userID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: name, CreatedAt: now,
	}
	if err := s.Passkeys.CreatePasskey(ctx, p); err != nil {
		if core.IsCode(err, core.EKeyTaken) {
			return nil, refused(err)
		}
		return nil, err
	}
	s.Log.InfoContext(ctx, "passkey added", "user_id", userID, "passkey_id", p.ID, "backup_eligible", p.BackupEligible)
	s.Audit.Record(ctx, userID, core.EventPasskeyAdded, name)
	s.notify(ctx, u, "a new passkey \""+name+"\" was added to your account. If this was not you, change your password.")
	return p, nil
}

// List returns the user's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]*core.Passkey, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Passkeys.PasskeysByUser(ctx, userID)
}

// Remove deletes one of the user's passkeys and tells the user.
func (s *Service) Remove(ctx context.Context, userID, passkeyID string) error {
	if err := s.check(); err != nil {
		return err
	}
	if !core.HasPrefix(passkeyID, core.PrefixPasskey) {
		return core.Errorf(core.ENotFound, "no such passkey")
	}
	if err := s.Passkeys.DeletePasskey(ctx, userID, passkeyID); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "passkey removed", "user_id", userID, "passkey_id", passkeyID)
	s.Audit.Record(ctx, userID, core.EventPasskeyRemoved, passkeyID)
	if u, err := s.Users.UserByID(ctx, userID); err == nil {
		s.notify(ctx, u, "a passkey was removed from your account.")
	}
	return nil
}
