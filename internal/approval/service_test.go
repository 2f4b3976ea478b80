package approval_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/signing"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// textedCode is one code SMS the service asked for.
type textedCode struct {
	Phone, Code string
	TTL         time.Duration
	Kind        string
}

// fakeTexter records codes instead of sending them.
type fakeTexter struct {
	mu   sync.Mutex
	sent []textedCode
}

func (f *fakeTexter) SendCode(_ context.Context, c core.CodeText) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, textedCode{c.Phone, c.Code, c.TTL, c.Kind})
	return nil
}

func (f *fakeTexter) all() []textedCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// fakePusher hands every push to send.
type fakePusher struct {
	send func(ctx context.Context, pushURL string, payload []byte) error
}

func (p *fakePusher) Send(ctx context.Context, pushURL string, payload []byte) error {
	return p.send(ctx, pushURL, payload)
}

// fixture is a Service on real adapters: SQLite, the in-process KV,
// limiter and broker, real code hashing, sealing and sessions.
type fixture struct {
	svc    *approval.Service
	db     *store.DB
	dbPath string // the SQLite file, for what no transition writes
	clock  *clocktest.Clock
	texts  *fakeTexter
	pusher *fakePusher
	box    *secretbox.Box
	tokens *session.Service
	sub    core.Subscriber
	deps   approval.Deps // what svc was built on, for another instance

	keysMu sync.Mutex
	keys   map[string]ed25519.PrivateKey // device id → its signing key
}

var start = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, "sqlite")
}

// newFixtureOn is newFixture on a fresh database of dialect ("sqlite" or
// "postgres"); dbPath is "" on PostgreSQL.
func newFixtureOn(t *testing.T, dialect string) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := clocktest.New(start)
	dbPath := t.TempDir() + "/db"
	url := "sqlite:" + dbPath
	if dialect == "postgres" {
		url, dbPath = testenv.PostgresURL(t), ""
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	eph := inmem.New(clock)
	t.Cleanup(func() { _ = eph.Close() })
	sub, err := eph.Subscriber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Load(ctx, db, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := session.NewService(session.Config{Issuer: "https://approvald.test"}, keys, db, clock)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(core.RandomBytes(secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	_, serverKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		dbPath: dbPath,
		db:     db, clock: clock, texts: &fakeTexter{}, box: box, tokens: tokens, sub: sub,
		keys:   map[string]ed25519.PrivateKey{},
		pusher: &fakePusher{send: func(context.Context, string, []byte) error { return nil }},
	}
	cfg := approval.DefaultConfig()
	cfg.CallbackURL = "https://approvald.test/api/v1/callbacks/approval"
	f.deps = approval.Deps{
		Config: cfg, Approvals: db, Devices: db, Users: db, Broker: eph, KV: eph, Limiter: eph,
		Texts: f.texts, Codes: otp.NewCodeHasher(core.RandomBytes(32)), Pusher: f.pusher,
		Secrets: box, Tokens: tokens, Audit: &store.Auditor{Events: db, Clock: clock, Log: log},
		Clock: clock, Log: log, ServerKey: serverKey,
	}
	f.svc, err = approval.New(f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// user signs up and verifies a user with a random phone.
func (f *fixture) user(t *testing.T) *core.User {
	t.Helper()
	ctx, now := context.Background(), f.clock.Now()
	u := &core.User{
		ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: testenv.RandomPhone(),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", TwoFactor: true, CreatedAt: now, UpdatedAt: now,
	}
	v := &core.Verification{
		ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "unused",
		Status: core.VerificationPending, ExpiresAt: now.Add(10 * time.Minute), LastSentAt: now, CreatedAt: now,
	}
	if err := f.db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	verified, err := f.db.CompleteVerification(ctx, v.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	return verified
}

// device enrolls a device for u ("" pushURL: it pulls) and returns it with
// its TOTP secret; the fixture keeps its signing key (callback).
func (f *fixture) device(t *testing.T, u *core.User, pushURL string) (*core.Device, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	secret := otp.NewTOTPSecret()
	d := &core.Device{
		ID: core.NewID(core.PrefixDevice), UserID: u.ID, Name: "phone", PublicKey: pub,
		PushURL: pushURL, CreatedAt: f.clock.Now(),
	}
	d.TOTPSecretEnc = f.box.Seal(secret, []byte(d.ID))
	if err := f.db.CreateDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	f.keysMu.Lock()
	f.keys[d.ID] = priv
	f.keysMu.Unlock()
	return d, secret
}

// callbackPath is where a device posts its answer (PUBLIC_URL has no path).
const callbackPath = "/api/v1/callbacks/approval"

// callback answers for device d as its authenticator does: cb as the JSON
// body, signed with d's key at the clock's now, handed to the service as
// the HTTP layer hands over /api/v1/callbacks/approval.
func (f *fixture) callback(t *testing.T, ctx context.Context, d *core.Device, cb approval.Callback) (core.ApprovalStatus, error) {
	t.Helper()
	f.keysMu.Lock()
	priv, known := f.keys[d.ID]
	f.keysMu.Unlock()
	if !known {
		t.Fatalf("device %s was not enrolled by the fixture: no key to sign with", d.ID)
	}
	body, err := json.Marshal(struct {
		ApprovalID  string `json:"approval_id"`
		DeviceID    string `json:"device_id"`
		Decision    string `json:"decision"`
		MatchNumber *int   `json:"match_number,omitempty"`
		Report      bool   `json:"report"`
	}{cb.ApprovalID, d.ID, cb.Decision, cb.MatchNumber, cb.Report})
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	h := signing.Sign(priv, http.MethodPost, callbackPath, d.ID, body, f.clock.Now())
	h.Apply(header)
	return f.svc.HandleSignedCallback(ctx, approval.SignedCallback{
		Request:  approval.SignedRequest{Method: http.MethodPost, PathWithQuery: callbackPath, Header: header.Get, Body: body},
		DeviceID: d.ID,
		Callback: cb,
	})
}

func (f *fixture) start(t *testing.T, u *core.User) *approval.Started {
	t.Helper()
	st, err := f.svc.Start(context.Background(), u, approval.StartInput{IP: "203.0.113.7", UserAgent: "test-browser"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return st
}

// stored reads the approval as the database holds it.
func (f *fixture) stored(t *testing.T, id string) *core.Approval {
	t.Helper()
	a, err := f.db.Approval(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// follow subscribes to the frames of approval id.
func (f *fixture) follow(t *testing.T, id string) {
	t.Helper()
	if err := f.sub.Subscribe(context.Background(), approval.Topic(id)); err != nil {
		t.Fatal(err)
	}
}

// published is one frame on the channel of an approval.
type published struct {
	ID    string
	Frame approval.Frame
}

// frames returns what was published on the followed channels since the
// last call. The in-process broker enqueues before Publish returns, so all
// a finished call published is there.
func (f *fixture) frames(t *testing.T) []published {
	t.Helper()
	var out []published
	for {
		select {
		case ev := <-f.sub.Events():
			msg, err := approval.DecodeEnvelope(ev.Payload)
			if err != nil {
				t.Fatalf("broker message %q: %v", ev.Payload, err)
			}
			out = append(out, published{strings.TrimPrefix(ev.Channel, "approval:"), msg.Frame})
		default:
			return out
		}
	}
}

func (f *fixture) wantFrames(t *testing.T, want ...published) {
	t.Helper()
	if got := f.frames(t); !slices.Equal(got, want) {
		t.Fatalf("published %+v; want %+v", got, want)
	}
}

func statusFrame(status core.ApprovalStatus, reason string) approval.Frame {
	return approval.Frame{Type: "status", Status: string(status), Reason: reason}
}

func fallbackFrame(reason string) approval.Frame {
	return approval.Frame{Type: "fallback", Channel: "sms", Reason: reason}
}

// lastCode is the code of the last SMS, which must have gone to phone.
func (f *fixture) lastCode(t *testing.T, phone string) string {
	t.Helper()
	sent := f.texts.all()
	if len(sent) == 0 {
		t.Fatal("no code was texted")
	}
	last := sent[len(sent)-1]
	if last.Phone != phone {
		t.Fatalf("code texted to %s; want %s", last.Phone, phone)
	}
	return last.Code
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

func wantCode(t *testing.T, err error, code string) *core.Error {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v; want code %s", err, code)
	}
	return e
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStartWithoutDeviceTextsACode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user(t)
	st := f.start(t, u)
	a := f.stored(t, st.Approval.ID)
	if a.Channel != core.ChannelSMS || a.Reason != core.ReasonNoDevice || a.MatchNumber != 0 {
		t.Fatalf("channel, reason, match = %s, %q, %d; want sms, no_device, none", a.Channel, a.Reason, a.MatchNumber)
	}
	if !a.ExpiresAt.Equal(start.Add(f.svc.Config.CodeTTL)) || a.CodeHash == "" {
		t.Fatalf("expires %v, code hash %q; want the code's life and a stored code", a.ExpiresAt, a.CodeHash)
	}
	if len(st.Devices) != 0 {
		t.Fatalf("devices to push to: %d; want none", len(st.Devices))
	}
	sent := f.texts.all()
	if len(sent) != 1 || sent[0].Phone != u.Phone || sent[0].TTL != f.svc.Config.CodeTTL {
		t.Fatalf("texts = %+v; want one code to %s", sent, u.Phone)
	}
	ok(t, f.svc.VerifyCode(context.Background(), a, sent[0].Code))
	if a := f.stored(t, a.ID); a.Status != core.ApprovalApproved || a.Method != core.MethodSMS {
		t.Fatalf("after the texted code: %s by %q; want approved by sms", a.Status, a.Method)
	}
}

func TestStartWithDevicePushes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	a := f.stored(t, st.Approval.ID)
	if a.Channel != core.ChannelPush || a.Reason != "" || a.MatchNumber < 10 || a.MatchNumber > 99 {
		t.Fatalf("channel, reason, match = %s, %q, %d; want push, none, 10–99", a.Channel, a.Reason, a.MatchNumber)
	}
	if !a.ExpiresAt.Equal(start.Add(f.svc.Config.ApprovalTTL)) || a.PushSentAt == nil || !a.PushSentAt.Equal(start) {
		t.Fatalf("expires %v, push sent %v; want the push life from %v", a.ExpiresAt, a.PushSentAt, start)
	}
	if len(st.Devices) != 1 || st.Devices[0].ID != d.ID {
		t.Fatalf("devices to push to: %+v; want %s", st.Devices, d.ID)
	}
	if sent := f.texts.all(); len(sent) != 0 {
		t.Fatalf("a push login texted %d codes", len(sent))
	}
	got, err := f.svc.ByTicket(context.Background(), a.ID, st.Ticket)
	if err != nil || got.ID != a.ID {
		t.Fatalf("ByTicket = %v, %v", got, err)
	}
	_, err = f.svc.ByTicket(context.Background(), a.ID, st.Ticket+"x")
	wantCode(t, err, core.EUnauthorized)
}

// TestPushLimit: five push logins within 15 minutes; the sixth uses a code
// (push_limited) until the first leaves the window. Each push supersedes
// the push before it.
func TestPushLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user(t)
	f.device(t, u, "https://push.example/1")
	var previous string
	for i := range f.svc.Config.PushesPerWindow {
		if previous != "" {
			f.follow(t, previous)
		}
		st := f.start(t, u)
		if st.Approval.Channel != core.ChannelPush {
			t.Fatalf("push %d of %d went to %s (%s)", i+1, f.svc.Config.PushesPerWindow, st.Approval.Channel, st.Approval.Reason)
		}
		if previous != "" {
			f.wantFrames(t, published{previous, statusFrame(core.ApprovalDenied, core.ReasonSuperseded)})
			if a := f.stored(t, previous); a.Status != core.ApprovalDenied || a.Reason != core.ReasonSuperseded {
				t.Fatalf("the superseded approval is %s/%s", a.Status, a.Reason)
			}
		}
		previous = st.Approval.ID
		f.clock.Advance(time.Minute)
	}
	f.follow(t, previous)
	st := f.start(t, u)
	if st.Approval.Channel != core.ChannelSMS || st.Approval.Reason != core.ReasonPushLimited {
		t.Fatalf("login %d: %s/%s; want sms/push_limited", f.svc.Config.PushesPerWindow+1, st.Approval.Channel, st.Approval.Reason)
	}
	f.wantFrames(t) // an SMS login supersedes nothing
	if n := len(f.texts.all()); n != 1 {
		t.Fatalf("%d codes texted; want 1", n)
	}

	f.clock.Set(start.Add(f.svc.Config.PushWindow - time.Nanosecond))
	if st := f.start(t, u); st.Approval.Channel != core.ChannelSMS {
		t.Fatal("a push was allowed before the first one left the window")
	}
	f.clock.Set(start.Add(f.svc.Config.PushWindow))
	if st := f.start(t, u); st.Approval.Channel != core.ChannelPush {
		t.Fatalf("login after the window: %s/%s; want push", st.Approval.Channel, st.Approval.Reason)
	}
}

func TestReportPausesPushes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "deny", Report: true})
	ok(t, err)
	if status != core.ApprovalDenied {
		t.Fatalf("status = %s; want denied", status)
	}
	f.wantFrames(t, published{st.Approval.ID, statusFrame(core.ApprovalDenied, core.ReasonReported)})

	if st := f.start(t, u); st.Approval.Channel != core.ChannelSMS || st.Approval.Reason != core.ReasonPushLimited {
		t.Fatalf("login after a report: %s/%s; want sms/push_limited", st.Approval.Channel, st.Approval.Reason)
	}
	f.clock.Advance(f.svc.Config.ReportPause - time.Nanosecond)
	if st := f.start(t, u); st.Approval.Channel != core.ChannelSMS {
		t.Fatal("pushes resumed before the pause ended")
	}
	f.clock.Advance(time.Nanosecond)
	if st := f.start(t, u); st.Approval.Channel != core.ChannelPush {
		t.Fatalf("login after the pause: %s/%s; want push", st.Approval.Channel, st.Approval.Reason)
	}
}

// TestStaleReportDoesNotPause: a report on an approval decided already
// changes nothing, so it cannot switch a user's pushes off.
func TestStaleReportDoesNotPause(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
	ok(t, err)
	_, err = f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "deny", Report: true})
	wantCode(t, err, core.EAlreadyDecided)
	if a := f.stored(t, st.Approval.ID); a.Status != core.ApprovalApproved {
		t.Fatalf("status = %s; want it still approved", a.Status)
	}
	if st := f.start(t, u); st.Approval.Channel != core.ChannelPush {
		t.Fatalf("login after a stale report: %s/%s; want push", st.Approval.Channel, st.Approval.Reason)
	}
}

func TestSweepExpiresOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	st := f.start(t, f.user(t)) // no device: an SMS approval, no push_timeout
	id := st.Approval.ID
	f.follow(t, id)

	f.clock.Set(st.Approval.ExpiresAt.Add(-time.Nanosecond))
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t)
	if a := f.stored(t, id); a.Status != core.ApprovalPending {
		t.Fatalf("1 ns before expiry: %s; want pending", a.Status)
	}

	f.clock.Set(st.Approval.ExpiresAt)
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t, published{id, statusFrame(core.ApprovalExpired, "")})
	if a := f.stored(t, id); a.Status != core.ApprovalExpired {
		t.Fatalf("at expiry: %s; want expired", a.Status)
	}
	ok(t, f.svc.Sweep(ctx))
	f.clock.Advance(time.Hour)
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t) // announced once
}

func TestPushTimeoutAnnouncedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	id := st.Approval.ID
	f.follow(t, id)

	f.clock.Set(start.Add(f.svc.Config.PushTimeout - time.Nanosecond))
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t)

	f.clock.Set(start.Add(f.svc.Config.PushTimeout))
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t, published{id, fallbackFrame(core.ReasonPushTimeout)})
	a := f.stored(t, id)
	if a.Status != core.ApprovalPending || a.TimeoutAnnouncedAt == nil || a.Channel != core.ChannelSMS {
		t.Fatalf("after push_timeout: %s on %s, announced %v; want pending on sms and announced", a.Status, a.Channel, a.TimeoutAnnouncedAt)
	}
	// It moved to the code channel: its life is now CODE_TTL from the timeout.
	if want := start.Add(f.svc.Config.PushTimeout + f.svc.Config.CodeTTL); !a.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at %v, want %v", a.ExpiresAt, want)
	}
	if fr := approval.StateFrame(a, f.clock.Now()); fr.Reason != core.ReasonPushTimeout || fr.Channel != string(core.ChannelSMS) {
		t.Fatalf("a browser connecting now gets %+v; want sms with the push_timeout reason", fr)
	}

	f.clock.Advance(time.Second)
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t) // announced once

	f.clock.Set(st.Approval.ExpiresAt)
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t) // the push's original expiry no longer applies

	f.clock.Set(a.ExpiresAt)
	ok(t, f.svc.Sweep(ctx))
	f.wantFrames(t, published{id, statusFrame(core.ApprovalExpired, "")})
}

// pushLog records the pushes the service sent.
type pushLog struct {
	mu     sync.Mutex
	pushes map[string]approval.PushRequest // by push URL
}

func (l *pushLog) record(t *testing.T, fail bool) func(context.Context, string, []byte) error {
	l.pushes = map[string]approval.PushRequest{}
	return func(_ context.Context, url string, payload []byte) error {
		var req approval.PushRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			t.Errorf("push body %q: %v", payload, err)
		}
		l.mu.Lock()
		l.pushes[url] = req
		l.mu.Unlock()
		if fail {
			return errors.New("device unreachable")
		}
		return nil
	}
}

func TestDeliverFallsBackWhenEveryPushFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d1, _ := f.device(t, u, "https://push.example/1")
	d2, _ := f.device(t, u, "https://push.example/2")
	var log pushLog
	f.pusher.send = log.record(t, true)
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	f.clock.Advance(time.Second)

	f.svc.Deliver(ctx, st)

	for _, d := range []*core.Device{d1, d2} {
		req, sent := log.pushes[d.PushURL]
		if !sent || req.ApprovalID != st.Approval.ID || req.DeviceID != d.ID || req.CallbackURL != f.svc.Config.CallbackURL ||
			!req.ExpiresAt.Equal(st.Approval.ExpiresAt) || req.Details.IP != "203.0.113.7" {
			t.Fatalf("push to %s: %+v (sent %v)", d.PushURL, req, sent)
		}
	}
	f.wantFrames(t, published{st.Approval.ID, fallbackFrame(core.ReasonPushFailed)})
	if sent := f.texts.all(); len(sent) != 1 || sent[0].Phone != u.Phone {
		t.Fatalf("texts = %+v; want one code to %s", sent, u.Phone)
	}
	a := f.stored(t, st.Approval.ID)
	if a.Channel != core.ChannelSMS || a.Reason != core.ReasonPushFailed || !a.ExpiresAt.Equal(f.clock.Now().Add(f.svc.Config.CodeTTL)) {
		t.Fatalf("after the fallback: %s/%s expiring %v; want sms/push_failed for the code's life", a.Channel, a.Reason, a.ExpiresAt)
	}
	ok(t, f.svc.VerifyCode(ctx, a, f.lastCode(t, u.Phone)))
}

func TestDeliverDoesNotFallBackWhileADevicePulls(t *testing.T) {
	t.Parallel()
	for _, withPushDevice := range []bool{false, true} {
		t.Run(fmt.Sprintf("failing push device %v", withPushDevice), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			u := f.user(t)
			puller, _ := f.device(t, u, "")
			if withPushDevice {
				f.device(t, u, "https://push.example/1")
			}
			var log pushLog
			f.pusher.send = log.record(t, true)
			st := f.start(t, u)
			f.follow(t, st.Approval.ID)

			f.svc.Deliver(ctx, st)

			if want := map[bool]int{false: 0, true: 1}[withPushDevice]; len(log.pushes) != want {
				t.Fatalf("%d pushes sent; want %d", len(log.pushes), want)
			}
			f.wantFrames(t)
			if n := len(f.texts.all()); n != 0 {
				t.Fatalf("%d codes texted; want none", n)
			}
			if a := f.stored(t, st.Approval.ID); a.Channel != core.ChannelPush || a.Reason != "" {
				t.Fatalf("approval is %s/%s; want it still on push", a.Channel, a.Reason)
			}
			list, err := f.svc.Pending(ctx, puller)
			ok(t, err)
			if len(list) != 1 || list[0].ApprovalID != st.Approval.ID || list[0].DeviceID != puller.ID {
				t.Fatalf("pull listing = %+v; want the approval", list)
			}
		})
	}
}

func TestRequestSMSCooldown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	id := st.Approval.ID
	f.follow(t, id)

	ok(t, f.svc.RequestSMS(ctx, f.stored(t, id)))
	f.wantFrames(t, published{id, fallbackFrame(core.ReasonRequested)})
	first := f.lastCode(t, u.Phone)

	e := wantCode(t, f.svc.RequestSMS(ctx, f.stored(t, id)), core.ERateLimited)
	if e.RetryAfter != f.svc.Config.SMSCooldown {
		t.Fatalf("Retry-After %v; want %v", e.RetryAfter, f.svc.Config.SMSCooldown)
	}
	f.clock.Advance(f.svc.Config.SMSCooldown - time.Nanosecond)
	wantCode(t, f.svc.RequestSMS(ctx, f.stored(t, id)), core.ERateLimited)
	if n := len(f.texts.all()); n != 1 {
		t.Fatalf("%d codes texted during the cooldown; want 1", n)
	}

	f.clock.Advance(time.Nanosecond)
	ok(t, f.svc.RequestSMS(ctx, f.stored(t, id)))
	f.wantFrames(t) // a re-send is not a second fallback
	second := f.lastCode(t, u.Phone)
	if n := len(f.texts.all()); n != 2 {
		t.Fatalf("%d codes texted; want 2", n)
	}
	if first != second {
		// The new code replaced the old one.
		wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), first), core.EInvalidCode)
	}
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, id), second))
}

func TestWrongCodesLockTheApproval(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	st := f.start(t, u)
	id := st.Approval.ID
	f.follow(t, id)
	code := f.lastCode(t, u.Phone)

	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), "12345"), core.EInvalidRequest) // not counted
	for left := core.MaxCodeAttempts - 1; left > 0; left-- {
		e := wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), otherCode(code)), core.EInvalidCode)
		if e.AttemptsLeft == nil || *e.AttemptsLeft != left {
			t.Fatalf("attempts_left = %v; want %d", e.AttemptsLeft, left)
		}
	}
	f.wantFrames(t)
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), otherCode(code)), core.ELocked)
	f.wantFrames(t, published{id, statusFrame(core.ApprovalDenied, core.ReasonTooManyAttempts)})
	a := f.stored(t, id)
	if a.Status != core.ApprovalDenied || a.Reason != core.ReasonTooManyAttempts || a.Attempts != core.MaxCodeAttempts {
		t.Fatalf("after %d wrong codes: %s/%s, %d attempts", core.MaxCodeAttempts, a.Status, a.Reason, a.Attempts)
	}
	wantCode(t, f.svc.VerifyCode(ctx, a, code), core.EAlreadyDecided) // the right code is too late
}

// TestWrongCodesPerHourBlockLogin: ten wrong codes across approvals make
// Start answer 429 until the first of them is an hour old.
func TestWrongCodesPerHourBlockLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	// startSMS starts an SMS login and returns its id and a code that is not its code.
	startSMS := func() (string, string) {
		t.Helper()
		id := f.start(t, u).Approval.ID
		return id, otherCode(f.lastCode(t, u.Phone))
	}
	wrong := func(id, code string, n int) {
		t.Helper()
		for range n {
			err := f.svc.VerifyCode(ctx, f.stored(t, id), code)
			if !core.IsCode(err, core.EInvalidCode) && !core.IsCode(err, core.ELocked) {
				t.Fatalf("wrong code: %v", err)
			}
		}
	}
	first, firstWrong := startSMS()
	wrong(first, firstWrong, core.MaxCodeAttempts)
	second, secondWrong := startSMS()
	wrong(second, secondWrong, f.svc.Config.WrongCodesPerHour-core.MaxCodeAttempts-1)
	startSMS() // nine wrong codes: still allowed
	wrong(second, secondWrong, 1)

	_, err := f.svc.Start(ctx, u, approval.StartInput{IP: "203.0.113.7", UserAgent: "test-browser"})
	if e := wantCode(t, err, core.ERateLimited); e.RetryAfter != time.Hour {
		t.Fatalf("Retry-After %v; want 1h", e.RetryAfter)
	}
	f.clock.Advance(time.Hour - time.Nanosecond)
	_, err = f.svc.Start(ctx, u, approval.StartInput{IP: "203.0.113.7", UserAgent: "test-browser"})
	wantCode(t, err, core.ERateLimited)
	f.clock.Advance(time.Nanosecond)
	f.start(t, u)
}

func TestTOTPStepIsNotAcceptedTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, secret := f.device(t, u, "https://push.example/1")
	code := otp.TOTPCode(secret, start)

	first := f.start(t, u).Approval.ID
	f.follow(t, first)
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, first), code))
	f.wantFrames(t, published{first, statusFrame(core.ApprovalApproved, "")})
	if a := f.stored(t, first); a.Method != core.MethodOTP || a.DecidedBy != d.ID {
		t.Fatalf("decided by %q/%q; want otp by %s", a.Method, a.DecidedBy, d.ID)
	}

	second := f.start(t, u).Approval.ID
	e := wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, second), code), core.EInvalidCode)
	if e.AttemptsLeft == nil || *e.AttemptsLeft != core.MaxCodeAttempts-1 {
		t.Fatalf("attempts_left = %v; want the reused code counted as wrong", e.AttemptsLeft)
	}
	earlier := otp.TOTPCode(secret, start.Add(-otp.TOTPPeriod))
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, second), earlier), core.EInvalidCode)

	f.clock.Advance(otp.TOTPPeriod)
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, second), otp.TOTPCode(secret, f.clock.Now())))
}

func TestExchange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	approve := func(st *approval.Started) *core.Approval {
		t.Helper()
		_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
		ok(t, err)
		a, err := f.svc.ByTicket(ctx, st.Approval.ID, st.Ticket)
		ok(t, err)
		return a
	}

	st := f.start(t, u)
	_, err := f.svc.Exchange(ctx, f.stored(t, st.Approval.ID))
	wantCode(t, err, core.ENotApproved)

	f.clock.Advance(10 * time.Second)
	a := approve(st)
	f.clock.Advance(time.Minute)
	pair, err := f.svc.Exchange(ctx, a)
	ok(t, err)
	claims, err := f.tokens.Authenticate(ctx, pair.AccessToken)
	ok(t, err)
	if claims.UserID != u.ID || !slices.Equal(claims.AMR, []string{"pwd", "push"}) || !claims.AuthTime.Equal(a.DecidedAt.Truncate(time.Second)) {
		t.Fatalf("claims = %+v; want %s, [pwd push], auth_time %v", claims, u.ID, a.DecidedAt)
	}
	_, err = f.svc.Exchange(ctx, a) // the copy read before the exchange
	wantCode(t, err, core.EAlreadyExchanged)
	_, err = f.svc.Exchange(ctx, f.stored(t, a.ID))
	wantCode(t, err, core.EAlreadyExchanged)

	late := approve(f.start(t, u))
	f.clock.Advance(approval.ExchangeWindow + time.Nanosecond)
	_, err = f.svc.Exchange(ctx, late)
	wantCode(t, err, core.EExpired)
	if a := f.stored(t, late.ID); a.ExchangedAt != nil {
		t.Fatal("a refused exchange was recorded")
	}
}

func TestCallbackForAnotherUsersApprovalIsNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	owner, other := f.user(t), f.user(t)
	f.device(t, owner, "https://push.example/owner")
	stranger, _ := f.device(t, other, "https://push.example/other")
	st := f.start(t, owner)
	f.follow(t, st.Approval.ID)

	for _, cb := range []approval.Callback{
		{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber},
		{ApprovalID: st.Approval.ID, Decision: "deny", Report: true},
	} {
		_, err := f.callback(t, ctx, stranger, cb)
		wantCode(t, err, core.ENotFound)
	}
	f.wantFrames(t)
	if a := f.stored(t, st.Approval.ID); a.Status != core.ApprovalPending {
		t.Fatalf("status = %s; want pending", a.Status)
	}
	// The stranger's report paused nobody's pushes.
	if st := f.start(t, owner); st.Approval.Channel != core.ChannelPush {
		t.Fatalf("owner's next login: %s/%s; want push", st.Approval.Channel, st.Approval.Reason)
	}
}

func TestCallbackWithTheWrongNumberDenies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	guess := st.Approval.MatchNumber%90 + 10 // another two-digit number
	status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &guess})
	ok(t, err)
	if status != core.ApprovalDenied {
		t.Fatalf("status = %s; want denied", status)
	}
	f.wantFrames(t, published{st.Approval.ID, statusFrame(core.ApprovalDenied, core.ReasonNumberMismatch)})
	_, err = f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
	wantCode(t, err, core.EAlreadyDecided) // no second guess
}

// TestDeviceDecisionsAreInTheTrail: whichever way a device's answer is
// decided (the one guarded update, or from the stored approval when the
// number is wrong), the trail gets one entry for it, from the device's
// address, and the device's last use is now.
func TestDeviceDecisionsAreInTheTrail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := core.WithClient(context.Background(), core.Client{IP: "198.51.100.9", UserAgent: "authenticator/1"})
	cases := []struct {
		name         string
		cb           func(a *core.Approval) approval.Callback
		kind, detail string
	}{
		{"approve", func(a *core.Approval) approval.Callback {
			return approval.Callback{ApprovalID: a.ID, Decision: "approve", MatchNumber: &a.MatchNumber}
		}, core.EventApproved, "by push"},
		{"deny", func(a *core.Approval) approval.Callback {
			return approval.Callback{ApprovalID: a.ID, Decision: "deny"}
		}, core.EventDenied, core.ReasonUserDenied},
		{"report", func(a *core.Approval) approval.Callback {
			return approval.Callback{ApprovalID: a.ID, Decision: "deny", Report: true}
		}, core.EventReported, "a login was reported as not the user; pushes paused"},
		{"wrong number", func(a *core.Approval) approval.Callback {
			guess := a.MatchNumber%90 + 10
			return approval.Callback{ApprovalID: a.ID, Decision: "approve", MatchNumber: &guess}
		}, core.EventDenied, core.ReasonNumberMismatch},
	}
	for _, c := range cases {
		u := f.user(t)
		d, _ := f.device(t, u, "https://push.example/1")
		st := f.start(t, u)
		f.clock.Advance(time.Second)
		_, err := f.callback(t, ctx, d, c.cb(st.Approval))
		ok(t, err)
		evs, err := f.db.EventsByUser(context.Background(), u.ID, 50)
		ok(t, err)
		var decisions []*core.SecurityEvent
		for _, e := range evs {
			switch e.Kind {
			case core.EventApproved, core.EventDenied, core.EventReported:
				decisions = append(decisions, e)
			}
		}
		if len(decisions) != 1 {
			t.Fatalf("%s: %d decision entries in the trail; want 1: %+v", c.name, len(decisions), decisions)
		}
		if e := decisions[0]; e.Kind != c.kind || e.Detail != c.detail || e.IP != "198.51.100.9" || e.UserAgent != "authenticator/1" || !e.CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("%s: trail entry %+v; want %s %q from the device's client at now", c.name, e, c.kind, c.detail)
		}
		stored, err := f.db.Device(context.Background(), d.ID)
		ok(t, err)
		if stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("%s: device last used %v; want now", c.name, stored.LastUsedAt)
		}
	}
}

// deliveries is a Deliverer that writes down what it is handed.
type deliveries struct {
	mu  sync.Mutex
	got []core.BrokerMessage
}

func (d *deliveries) Deliver(channel string, payload []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, core.BrokerMessage{Channel: channel, Payload: payload})
}

// TestLocalDeliveryGetsWhatIsPublished: the waiters here are handed the
// decision byte for byte as the broker is, so the hub can tell the
// broker's copy for a repeat.
func TestLocalDeliveryGetsWhatIsPublished(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	local := &deliveries{}
	f.svc.Local = local
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	_, err := f.callback(t, context.Background(), d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
	ok(t, err)
	var ev core.BrokerMessage
	select {
	case ev = <-f.sub.Events():
	default:
		t.Fatal("nothing published")
	}
	local.mu.Lock()
	defer local.mu.Unlock()
	// The approval's frame, then the change frame of the device's websocket.
	if len(local.got) != 2 || local.got[0].Channel != ev.Channel || !bytes.Equal(local.got[0].Payload, ev.Payload) ||
		local.got[1].Channel != approval.DeviceTopic(d.ID) {
		t.Fatalf("delivered here %+v; published %s %q", local.got, ev.Channel, ev.Payload)
	}
}

// New refuses a service with a dependency left out, and names it; Local
// alone may be left out.
func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.svc.Deps
	d.Local = nil
	if _, err := approval.New(d); err != nil {
		t.Fatalf("without Local: %v", err)
	}
	d.Tokens, d.ServerKey = nil, nil
	if _, err := approval.New(d); err == nil || err.Error() != "approval.New: missing Tokens, ServerKey" {
		t.Fatalf("without Tokens and ServerKey: %v", err)
	}
}
