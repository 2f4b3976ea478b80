// Package passkey is the passkey (WebAuthn) login: registering discoverable
// credentials for a logged-in user, and a complete login with one of them,
// which ends in a session of its own (amr hwk or swk, user, mfa).
//
// Every ceremony starts with options the server keeps in core.KV for
// ChallengeTTL under a random id, spent by the first attempt to finish it.
// Every refusal of a finish is EPasskeyRefused, whatever the reason, so an
// answer says nothing about whether a credential exists; the reason goes to
// the log.
package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// ChallengeTTL is how long a ceremony's options may be answered.
const ChallengeTTL = 5 * time.Minute

// Config is the relying party: PUBLIC_URL names its ID (the host) and its
// first origin, ExtraOrigins (WEBAUTHN_ORIGINS) the others.
type Config struct {
	PublicURL    string
	ExtraOrigins []string
	// DisplayName is what authenticators show for this relying party.
	DisplayName string
}

// Notifier tells a user of a change by SMS.
type Notifier interface {
	Notify(ctx context.Context, phone, text string)
}

// Issuer starts sessions.
type Issuer interface {
	Issue(ctx context.Context, userID string, amr []string, authTime time.Time) (*session.TokenPair, error)
}

// Limits bound the ceremonies: logins per client address, registrations per
// user.
type Limits struct {
	OptionsPerIP         int           // login ceremonies started per client address per OptionsWindow (60)
	OptionsWindow        time.Duration // 1 min
	FailuresPerIP        int           // refused logins per client address per FailureWindow (20)
	FailureWindow        time.Duration // 15 min
	RegistrationsPerHour int           // registrations started per user per hour (20)
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{OptionsPerIP: 60, OptionsWindow: time.Minute, FailuresPerIP: 20, FailureWindow: 15 * time.Minute,
		RegistrationsPerHour: 20}
}

// Deps are what a Service is built from: every field must be set.
type Deps struct {
	Passkeys core.PasskeyStore
	Users    core.UserStore
	KV       core.KV
	Limiter  core.Limiter
	Tokens   Issuer
	Notices  Notifier
	Audit    core.Auditor
	Limits   Limits
	Clock    core.Clock
	Log      *slog.Logger
}

// Service runs the passkey ceremonies. Build one with New.
type Service struct {
	Deps
	wa *webauthn.WebAuthn // nil: passkeys are off
}

// New returns the service for cfg on d. When PUBLIC_URL's host is an IP
// address (which cannot be an RP ID) the service is built with passkeys off:
// Enabled is false and every ceremony answers EPasskeysUnavailable.
func New(cfg Config, d Deps) (*Service, error) {
	if err := core.CheckDeps("passkey.New", d); err != nil {
		return nil, err
	}
	s := &Service{Deps: d}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("passkey.New: PublicURL %q is not a URL", cfg.PublicURL)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return s, nil
	}
	name := cfg.DisplayName
	if name == "" {
		name = "approvald"
	}
	origins := append([]string{u.Scheme + "://" + u.Host}, cfg.ExtraOrigins...)
	s.wa, err = webauthn.New(&webauthn.Config{
		RPID:                  strings.ToLower(host),
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey.New: %w", err)
	}
	return s, nil
}

// Enabled says whether passkeys are on.
func (s *Service) Enabled() bool { return s != nil && s.wa != nil }

// RPID is the relying party's id (PUBLIC_URL's host); "" when passkeys are
// off.
func (s *Service) RPID() string {
	if !s.Enabled() {
		return ""
	}
	return s.wa.Config.RPID
}

func (s *Service) check() error {
	if !s.Enabled() {
		return core.Errorf(core.EPasskeysUnavailable, "passkeys are not available on this server")
	}
	return nil
}

// refused is the one answer to a finish that is not accepted; why stays in
// the log.
func refused(cause error) *core.Error {
	var pe *protocol.Error
	if errors.As(cause, &pe) && pe.DevInfo != "" {
		cause = fmt.Errorf("%w (%s)", cause, pe.DevInfo)
	}
	return &core.Error{Code: core.EPasskeyRefused, Message: "the passkey was not accepted", Err: cause}
}

// user is a core.User as the library sees it, with the passkeys it owns.
type user struct {
	u        *core.User
	passkeys []*core.Passkey
}

func (w *user) WebAuthnID() []byte { return []byte(w.u.ID) }

func (w *user) WebAuthnName() string {
	if w.u.Email != "" {
		return w.u.Email
	}
	return w.u.Phone
}

func (w *user) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.WebAuthnName()
}

func (w *user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(w.passkeys))
	for i, p := range w.passkeys {
		out[i] = credentialOf(p)
	}
	return out
}

func credentialOf(p *core.Passkey) webauthn.Credential {
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: "none", AttestationFormat: "none",
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// ceremony is what the server keeps of a ceremony between its options and
// its finish.
type ceremony struct {
	UserID    string               `json:"user_id,omitempty"` // registration: who asked
	Session   webauthn.SessionData `json:"session"`
	ExpiresAt time.Time            `json:"expires_at"`
}

const (
	keyRegistration = "passkey:reg:"
	keyLogin        = "passkey:login:"
	keySpent        = "passkey:spent:"
)

func (s *Service) keep(ctx context.Context, prefix string, c ceremony) (string, error) {
	id := core.NewSecret(16)
	c.ExpiresAt = s.Clock.Now().Add(ChallengeTTL)
	c.Session.Expires = time.Time{} // expiry is ours, on s.Clock
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	ok, err := s.KV.SetNX(ctx, prefix+id, string(b), ChallengeTTL)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", core.Errorf(core.EInternal, "internal error")
	}
	return id, nil
}

// spend returns the ceremony kept under id and makes sure no other finish
// gets it: the first to claim it wins, whether it then succeeds or not.
func (s *Service) spend(ctx context.Context, prefix, id string) (*ceremony, error) {
	if id == "" || len(id) > 64 {
		return nil, refused(errors.New("no such ceremony"))
	}
	raw, ok, err := s.KV.Get(ctx, prefix+id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refused(errors.New("unknown, expired or spent ceremony"))
	}
	claimed, err := s.KV.SetNX(ctx, keySpent+prefix+id, "1", ChallengeTTL)
	if err != nil {
		return nil, err
	}
	if !claimed {
		return nil, refused(errors.New("ceremony already spent"))
	}
	if err := s.KV.Del(ctx, prefix+id); err != nil {
		s.Log.WarnContext(ctx, "a spent passkey ceremony could not be deleted", "err", err)
	}
	var c ceremony
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, refused(err)
	}
	if !s.Clock.Now().Before(c.ExpiresAt) {
		return nil, refused(errors.New("ceremony expired"))
	}
	return &c, nil
}

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
