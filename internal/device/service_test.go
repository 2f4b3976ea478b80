package device_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

var t0 = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// sentNotices keeps the notices texted, by phone.
type sentNotices struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (n *sentNotices) Notify(_ context.Context, phone, text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sent == nil {
		n.sent = map[string][]string{}
	}
	n.sent[phone] = append(n.sent[phone], text)
}

// to is every notice texted to phone, oldest first.
func (n *sentNotices) to(phone string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent[phone])
}

// triedCodes is a device store that counts the enrollment codes tried.
// With hold set, each try waits until hold registrations have either tried
// or been refused (settle), so every refusal is decided while the tries
// are still open, the widest window simultaneous guesses can have.
type triedCodes struct {
	core.DeviceStore
	n    atomic.Int32
	hold int

	mu      sync.Mutex
	settled int
	all     chan struct{}
}

func (c *triedCodes) UseEnrollment(ctx context.Context, codeHash string, now time.Time) (*core.Enrollment, error) {
	c.n.Add(1)
	if c.hold > 0 {
		c.settle()
		<-c.all
	}
	return c.DeviceStore.UseEnrollment(ctx, codeHash, now)
}

// settle counts one registration as having tried or been refused.
func (c *triedCodes) settle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settled++; c.settled == c.hold {
		close(c.all)
	}
}

// fixture is a device service on a fresh database of one dialect, its
// limiter on the matching ephemeral store, a manual clock, the security
// trail in the database and the notices kept; user is a verified account.
type fixture struct {
	svc     *device.Service
	db      *store.DB
	box     *secretbox.Box
	clock   *clocktest.Clock
	notices *sentNotices
	tried   *triedCodes
	user    *core.User
}

func newFixture(t *testing.T, dialect string, kind ephemeraltest.Kind) *fixture {
	t.Helper()
	ctx := context.Background()
	url := "sqlite:" + t.TempDir() + "/db"
	if dialect == "postgres" {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, clock: clocktest.New(t0), notices: &sentNotices{}, tried: &triedCodes{DeviceStore: db}}
	eph := ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":")
	f.box, err = secretbox.New(core.RandomBytes(secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	serverKey, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f.svc, err = device.New(device.Deps{
		Devices: f.tried, Users: db, Secrets: f.box, Notices: f.notices, ServerKey: serverKey, Limiter: eph,
		Audit: &store.Auditor{Events: db, Clock: f.clock, Log: log}, Limits: device.DefaultLimits(), Clock: f.clock, Log: log,
		ValidatePushURL: push.Policy{}.ValidatePushURL, ValidateEndpoint: push.Policy{}.ValidateEndpoint,
		VAPIDPublicKey: "vapid-public-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.user = f.newUser(t)
	return f
}

// newUser stores a verified account.
func (f *fixture) newUser(t *testing.T) *core.User {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
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
	if _, err := f.db.CompleteVerification(ctx, v.ID, now); err != nil {
		t.Fatal(err)
	}
	return u
}

// newService is a device service on SQLite and the in-process limiter,
// allowing failures wrong enrollment codes per client, and a user of it.
func newService(t *testing.T, failures int) (*device.Service, *triedCodes, *core.User) {
	t.Helper()
	f := newFixture(t, "sqlite", ephemeraltest.InProcess)
	f.svc.Limits.EnrollFailuresPerIP = failures
	return f.svc, f.tried, f.user
}

// enrolled registers a device for user with a fresh enrollment code.
func (f *fixture) enrolled(t *testing.T, user *core.User, r device.Registration) *device.Registered {
	t.Helper()
	code, _, err := f.svc.StartEnrollment(context.Background(), user.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.EnrollmentCode = code
	reg, err := f.svc.Register(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// trail is the user's security events, oldest first.
func (f *fixture) trail(t *testing.T, userID string) []*core.SecurityEvent {
	t.Helper()
	events, err := f.db.EventsByUser(context.Background(), userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(events)
	return events
}

func forEachStore(t *testing.T, test func(t *testing.T, dialect string, kind ephemeraltest.Kind)) {
	for _, c := range []struct {
		dialect string
		kind    ephemeraltest.Kind
	}{{"sqlite", ephemeraltest.InProcess}, {"postgres", ephemeraltest.OnRedis}} {
		t.Run(c.dialect, func(t *testing.T) {
			t.Parallel()
			test(t, c.dialect, c.kind)
		})
	}
}

func registration(code string) device.Registration {
	return device.Registration{
		EnrollmentCode: code, Name: "phone",
		PublicKey: base64.RawURLEncoding.EncodeToString(core.RandomBytes(ed25519.PublicKeySize)),
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error %v; want %s", err, code)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Forty wrong enrollment codes at once from one client, every refusal
// decided before any code is found wrong: each takes one of the client's
// failures before it is tried, so as many are tried as the limit allows
// and the rest are refused untried.
func TestConcurrentWrongEnrollmentCodesAreTriedUpToTheLimit(t *testing.T) {
	t.Parallel()
	const limit, n = 3, 40
	svc, tried, _ := newService(t, limit)
	tried.hold, tried.all = n, make(chan struct{})
	ctx := core.WithClient(context.Background(), core.Client{IP: "198.51.100.7"})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = svc.Register(ctx, registration("guess"))
			if !core.IsCode(errs[i], core.EInvalidCode) {
				tried.settle() // refused before its code was tried
			}
		})
	}
	wg.Wait()
	wrong := 0
	for i, err := range errs {
		switch {
		case core.IsCode(err, core.EInvalidCode):
			wrong++
		case !core.IsCode(err, core.ERateLimited):
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	if got := tried.n.Load(); got != limit || wrong != limit {
		t.Fatalf("%d codes tried, %d answered wrong; want %d each and the rest refused", got, wrong, limit)
	}
}

// Only wrong codes count: a right one gives back what it took.
func TestRightEnrollmentCodeIsNotCounted(t *testing.T) {
	t.Parallel()
	svc, _, u := newService(t, 2)
	ctx := core.WithClient(context.Background(), core.Client{IP: "198.51.100.7"})
	code, _, err := svc.StartEnrollment(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Register(ctx, registration("guess"))
	wantCode(t, err, core.EInvalidCode)
	if _, err := svc.Register(ctx, registration(code)); err != nil {
		t.Fatalf("the right code: %v", err)
	}
	_, err = svc.Register(ctx, registration("guess"))
	wantCode(t, err, core.EInvalidCode)
	_, err = svc.Register(ctx, registration("guess"))
	wantCode(t, err, core.ERateLimited)
}

// New refuses a service with a dependency left out, and names it.
func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, 20)
	d := svc.Deps
	d.ValidatePushURL, d.ServerKey = nil, nil
	if _, err := device.New(d); err == nil || err.Error() != "device.New: missing ServerKey, ValidatePushURL" {
		t.Fatalf("without ServerKey and ValidatePushURL: %v", err)
	}
}
