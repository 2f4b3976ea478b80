package device_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

type noNotices struct{}

func (noNotices) Notify(context.Context, string, string) {}

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

// newService is a device service on SQLite and the in-process limiter,
// allowing failures wrong enrollment codes per client, and a user of it.
func newService(t *testing.T, failures int) (*device.Service, *triedCodes, *core.User) {
	t.Helper()
	ctx := context.Background()
	clock := core.SystemClock{}
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	eph := inmem.New(clock)
	t.Cleanup(func() { _ = eph.Close() })
	box, err := secretbox.New(core.RandomBytes(secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	serverKey, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	limits := device.DefaultLimits()
	limits.EnrollFailuresPerIP = failures
	tried := &triedCodes{DeviceStore: db}
	svc, err := device.New(device.Deps{
		Devices: tried, Users: db, Secrets: box, Notices: noNotices{}, ServerKey: serverKey, Limiter: eph,
		Audit: &store.Auditor{Events: db, Clock: clock, Log: log}, Limits: limits, Clock: clock, Log: log,
		ValidatePushURL: func(string) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}

	now := clock.Now()
	u := &core.User{
		ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: testenv.RandomPhone(),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", TwoFactor: true, CreatedAt: now, UpdatedAt: now,
	}
	v := &core.Verification{
		ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "unused",
		Status: core.VerificationPending, ExpiresAt: now.Add(10 * time.Minute), LastSentAt: now, CreatedAt: now,
	}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CompleteVerification(ctx, v.ID, now); err != nil {
		t.Fatal(err)
	}
	return svc, tried, u
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
