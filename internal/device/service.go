// Package device enrolls, lists and removes authenticator devices.
package device

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/signing"
)

// EnrollmentTTL is the life of an enrollment code.
const EnrollmentTTL = 10 * time.Minute

// Sealer seals secrets at rest.
type Sealer interface {
	Seal(plaintext, aad []byte) []byte
}

// Notifier tells a user of a change by SMS.
type Notifier interface {
	Notify(ctx context.Context, phone, text string)
}

// Service owns the devices of users. Build one with New.
type Service struct {
	Deps
}

// Deps are what a Service is built from: every field must be set.
type Deps struct {
	Devices   core.DeviceStore
	Users     core.UserStore
	Secrets   Sealer
	Notices   Notifier
	ServerKey ed25519.PublicKey // the server_public_key devices verify pushes with
	// PushKeys, when set, name the push key that signs now, which is then
	// the server_public_key (ServerKey is not used): the push key rotates.
	PushKeys interface {
		Active() (kid string, key ed25519.PrivateKey)
		// Announcement states a newer key than the one signing, for a
		// device enrolling during a rotation; nil when there is none.
		Announcement(seenKID string) *signing.KeyStatement
	} `deps:"optional"`
	Limiter core.Limiter
	Audit   core.Auditor
	Limits  Limits
	Clock   core.Clock
	Log     *slog.Logger
	// ValidatePushURL checks a push_url: the push client's own
	// push.Policy.ValidatePushURL, so enrollment accepts only where pushes
	// may go.
	ValidatePushURL func(string) error
	// ValidateEndpoint checks a Web Push endpoint under the same
	// push.Policy (push.Policy.ValidateEndpoint).
	ValidateEndpoint func(string) error
	// VAPIDPublicKey is the key devices subscribe to Web Push with
	// (base64url of the uncompressed P-256 point).
	VAPIDPublicKey string
}

// New returns the service on d, or an error naming each field of d that is
// not set.
func New(d Deps) (*Service, error) {
	if err := core.CheckDeps("device.New", d); err != nil {
		return nil, err
	}
	return &Service{d}, nil
}

// Limits bound enrollment.
type Limits struct {
	EnrollmentsPerHour  int           // enrollment codes per user per hour (10)
	EnrollFailuresPerIP int           // wrong enrollment codes per client IP (20)
	EnrollFailureWindow time.Duration // 15 min
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{EnrollmentsPerHour: 10, EnrollFailuresPerIP: 20, EnrollFailureWindow: 15 * time.Minute}
}

// StartEnrollment returns a single-use enrollment code for userID.
func (s *Service) StartEnrollment(ctx context.Context, userID string) (code string, expiresIn time.Duration, err error) {
	now := s.Clock.Now()
	d, err := s.Limiter.Hit(ctx, "enroll:user:"+userID, s.Limits.EnrollmentsPerHour, time.Hour, now)
	if err != nil {
		return "", 0, err
	}
	if !d.Allowed {
		return "", 0, core.RateLimited(d.RetryAfter)
	}
	code = core.NewSecret(16)
	e := &core.Enrollment{CodeHash: hashCode(code), UserID: userID, ExpiresAt: now.Add(EnrollmentTTL), CreatedAt: now}
	if err := s.Devices.CreateEnrollment(ctx, e); err != nil {
		return "", 0, err
	}
	s.notify(ctx, userID, "a code to add an authenticator device was created. If this was not you, change your password.")
	return code, EnrollmentTTL, nil
}

// notify texts the user a notice; the change it reports is already made.
func (s *Service) notify(ctx context.Context, userID, text string) {
	if u, err := s.Users.UserByID(ctx, userID); err == nil {
		s.Notices.Notify(ctx, u.Phone, text)
	}
}

// Registration is what a device sends to enroll.
type Registration struct {
	EnrollmentCode string
	Name           string
	PublicKey      string // base64url of a raw 32-byte Ed25519 key
	PushURL        string
	// WebPush is a PushSubscription's endpoint and keys (base64url), or nil.
	WebPush *WebPushSubscription
}

// WebPushSubscription is a PushSubscription as a browser serializes it
// (toJSON): the push service's endpoint and the keys to encrypt for.
type WebPushSubscription struct {
	Endpoint string
	P256dh   string // base64url of the uncompressed P-256 point (65 bytes)
	Auth     string // base64url of the 16-byte auth secret
}

// Registered is what the device gets back, once.
type Registered struct {
	DeviceID        string
	TOTPSecret      string // base32
	ServerPublicKey string // base64url
	ServerKeyID     string // its kid
	// NextKey announces the push key that replaces ServerPublicKey during
	// a rotation, signed by it; nil otherwise.
	NextKey        *signing.KeyStatement
	VAPIDPublicKey string // base64url; the applicationServerKey for Web Push
}

// checkWebPush validates a subscription: its endpoint as a push_url is,
// its keys by what they must decode to.
func (s *Service) checkWebPush(w *WebPushSubscription) (core.WebPush, error) {
	if w == nil {
		return core.WebPush{}, nil
	}
	if err := s.ValidateEndpoint(w.Endpoint); err != nil {
		return core.WebPush{}, err
	}
	p256dh, err := signing.DecodeB64(w.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(p256dh)
	}
	if err != nil {
		return core.WebPush{}, core.FieldError(core.EInvalidRequest, "web_push.keys.p256dh",
			"web_push.keys.p256dh must be the base64url of an uncompressed P-256 point (65 bytes)")
	}
	auth, err := signing.DecodeB64(w.Auth)
	if err != nil || len(auth) != 16 {
		return core.WebPush{}, core.FieldError(core.EInvalidRequest, "web_push.keys.auth",
			"web_push.keys.auth must be the base64url of 16 bytes")
	}
	return core.WebPush{Endpoint: w.Endpoint, P256dh: p256dh, Auth: auth}, nil
}

// Register enrolls a device with a valid enrollment code.
func (s *Service) Register(ctx context.Context, r Registration) (*Registered, error) {
	name := strings.TrimSpace(r.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return nil, core.FieldError(core.EInvalidRequest, "name", "name must be 1 to 64 characters")
	}
	pub, err := signing.DecodeB64(r.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, core.FieldError(core.EInvalidRequest, "public_key", "public_key must be the base64url of a raw 32-byte Ed25519 key")
	}
	if r.PushURL != "" {
		if err := s.ValidatePushURL(r.PushURL); err != nil {
			return nil, err
		}
	}
	webPush, err := s.checkWebPush(r.WebPush)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	// The code takes one of the client's wrong codes before it is tried,
	// so a burst of guesses gets no more tries than the limit; a right one
	// gives it back.
	failKey := "enrollfail:ip:" + core.ClientFrom(ctx).LimitKey()
	gate, token, err := s.Limiter.Reserve(ctx, failKey, s.Limits.EnrollFailuresPerIP, s.Limits.EnrollFailureWindow, now)
	if err != nil {
		return nil, err
	}
	if !gate.Allowed {
		return nil, core.RateLimited(gate.RetryAfter)
	}
	var e *core.Enrollment
	if r.EnrollmentCode == "" {
		err = core.FieldError(core.EInvalidCode, "enrollment_code", "the enrollment code is not valid")
	} else {
		e, err = s.Devices.UseEnrollment(ctx, hashCode(r.EnrollmentCode), now)
	}
	if err != nil {
		return nil, err
	}
	if rerr := s.Limiter.Release(ctx, failKey, token); rerr != nil {
		s.Log.WarnContext(ctx, "a reserved enrollment failure could not be given back", "err", rerr)
	}
	secret := otp.NewTOTPSecret()
	serverKey := s.ServerKey
	var next *signing.KeyStatement
	if s.PushKeys != nil {
		_, private := s.PushKeys.Active()
		serverKey = private.Public().(ed25519.PublicKey)
		if next = s.PushKeys.Announcement(signing.KeyID(serverKey)); next != nil && next.SignedBy != signing.KeyID(serverKey) {
			next = nil // a statement the device could not check with its pin
		}
	}
	serverKID := signing.KeyID(serverKey)
	d := &core.Device{
		ID: core.NewID(core.PrefixDevice), UserID: e.UserID, Name: name, PublicKey: pub,
		PushURL: r.PushURL, WebPush: webPush, CreatedAt: now, PushKeySeen: serverKID,
	}
	d.TOTPSecretEnc = s.Secrets.Seal(secret, []byte(d.ID))
	if err := s.Devices.CreateDevice(ctx, d); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "device added", "user_id", d.UserID, "device_id", d.ID, "push", d.PushURL != "", "web_push", d.WebPush.Endpoint != "")
	s.Audit.Record(ctx, d.UserID, core.EventDeviceAdded, name)
	s.notify(ctx, d.UserID, "a new authenticator device \""+name+"\" was added to your account.")
	return &Registered{
		DeviceID:        d.ID,
		TOTPSecret:      otp.EncodeSecret(secret),
		ServerPublicKey: base64.RawURLEncoding.EncodeToString(serverKey),
		ServerKeyID:     serverKID,
		NextKey:         next,
		VAPIDPublicKey:  s.VAPIDPublicKey,
	}, nil
}

// SetWebPush makes w the Web Push subscription of dev, a device that signed
// its request: a browser renews its subscription (pushsubscriptionchange)
// or a device moves to another push service without enrolling again. w is
// checked as at registration. The same subscription again changes nothing
// and records nothing. It returns the device as stored.
func (s *Service) SetWebPush(ctx context.Context, dev *core.Device, w *WebPushSubscription) (*core.Device, error) {
	if w == nil {
		return nil, core.FieldError(core.EInvalidRequest, "web_push", "web_push is required (DELETE drops the subscription)")
	}
	webPush, err := s.checkWebPush(w)
	if err != nil {
		return nil, err
	}
	if sameWebPush(dev.WebPush, webPush) {
		return dev, nil
	}
	if err := s.Devices.SetWebPush(ctx, dev.ID, webPush); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "web push subscription set", "user_id", dev.UserID, "device_id", dev.ID)
	// On the trail, as a dropped one is: a new endpoint is where the
	// user's logins now go (encrypted for the device alone).
	s.Audit.Record(ctx, dev.UserID, core.EventWebPushChanged, dev.Name)
	out := *dev
	out.WebPush = webPush
	return &out, nil
}

// RemoveWebPush drops the Web Push subscription of dev, a device that
// signed its request: it pulls (or keeps its push_url) from then on. A
// device without one changes nothing.
func (s *Service) RemoveWebPush(ctx context.Context, dev *core.Device) error {
	if dev.WebPush.Endpoint == "" {
		return nil
	}
	if err := s.Devices.SetWebPush(ctx, dev.ID, core.WebPush{}); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "web push subscription removed", "user_id", dev.UserID, "device_id", dev.ID)
	s.Audit.Record(ctx, dev.UserID, core.EventWebPushRemoved, dev.Name)
	return nil
}

func sameWebPush(a, b core.WebPush) bool {
	return a.Endpoint == b.Endpoint && bytes.Equal(a.P256dh, b.P256dh) && bytes.Equal(a.Auth, b.Auth)
}

// List returns the user's devices.
func (s *Service) List(ctx context.Context, userID string) ([]*core.Device, error) {
	return s.Devices.DevicesByUser(ctx, userID)
}

// Remove deletes one of the user's devices and tells the user.
func (s *Service) Remove(ctx context.Context, userID, deviceID string) error {
	if !core.HasPrefix(deviceID, core.PrefixDevice) {
		return core.Errorf(core.ENotFound, "no such device")
	}
	if err := s.Devices.DeleteDevice(ctx, userID, deviceID); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "device removed", "user_id", userID, "device_id", deviceID)
	s.Audit.Record(ctx, userID, core.EventDeviceRemoved, deviceID)
	s.notify(ctx, userID, "an authenticator device was removed from your account.")
	return nil
}

func hashCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}
