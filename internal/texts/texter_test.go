package texts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/testenv"
	"github.com/approvald/approvald/internal/texts"
)

var roomy = texts.SMSLimits{PerHour: 100, PerDay: 100, ResendsPerIPPerHour: 100, BudgetPerHour: 100}

func code(kind, userID, to string) core.CodeText {
	return core.CodeText{Kind: kind, UserID: userID, Phone: to, Code: "123456", TTL: 10 * time.Minute}
}

// The budget is one for the whole service: two instances sharing the
// limiter (Redis; in process, one instance) draw on it together, whatever
// the kind of message and whoever it is for. Past it, each refused code is
// a 429, an sms_budget_exhausted event in the user's trail (a log line when
// there is no user) and a count, and nothing reaches the provider.
func TestSMSBudgetIsServiceWide(t *testing.T) {
	for _, kind := range []ephemeraltest.Kind{ephemeraltest.InProcess, ephemeraltest.OnRedis} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			prefix := "test:" + core.NewSecret(8) + ":"
			limits := roomy
			limits.BudgetPerHour = 3
			a := f.texter(ephemeraltest.Open(t, kind, f.clock, prefix), limits, nil)
			b := a
			if kind == ephemeraltest.OnRedis {
				b = f.texter(ephemeraltest.Open(t, kind, f.clock, prefix), limits, nil)
			}
			ctx := context.Background()
			mustOK(t, a.SendCode(ctx, code(core.SMSSignup, "usr_1", testenv.RandomPhone())))
			mustOK(t, b.SendCode(ctx, code(core.SMSLogin, "usr_2", testenv.RandomPhone())))
			mustOK(t, a.SendCode(ctx, code(core.SMSSignupResend, "usr_3", testenv.RandomPhone())))
			if f.sms.total() != 3 {
				t.Fatalf("%d messages sent, want 3", f.sms.total())
			}

			err := b.SendCode(ctx, code(core.SMSLoginRequested, "usr_4", testenv.RandomPhone()))
			wantCode(t, err, core.ERateLimited)
			if ra := err.(*core.Error).RetryAfter; ra <= 0 || ra > time.Hour {
				t.Fatalf("Retry-After %v", ra)
			}
			wantCode(t, a.SendCode(ctx, code(core.SMSSignup, "", testenv.RandomPhone())), core.ERateLimited)
			if f.sms.total() != 3 {
				t.Fatalf("%d messages sent past the budget", f.sms.total()-3)
			}
			ev := f.audit.Of(core.EventSMSBudgetExhausted)
			if len(ev) != 1 || ev[0].UserID != "usr_4" {
				t.Fatalf("budget events %+v, want one for usr_4", ev)
			}
			if f.count.get(core.SMSLoginRequested, texts.SMSResultBudgetExhausted) != 1 ||
				f.count.get(core.SMSSignup, texts.SMSResultBudgetExhausted) != 1 ||
				f.count.get(core.SMSSignup, texts.SMSResultSent) != 1 {
				t.Fatalf("counts %v", f.count.n)
			}
			if logs := f.logs(); !containsAll(logs, "sms budget exhausted", "kind=signup") {
				t.Fatalf("no log line for the refusal without a user: %q", logs)
			}

			// The window slides: an hour after the first, one more fits.
			f.clock.Advance(time.Hour)
			mustOK(t, b.SendCode(ctx, code(core.SMSLogin, "usr_5", testenv.RandomPhone())))
		})
	}
}

// A refusal by the budget charges no phone's window, and one by a phone's
// window does not use the budget.
func TestSMSLimitsRefuseWithoutCharging(t *testing.T) {
	f := newFixture()
	limits := roomy
	limits.PerHour, limits.BudgetPerHour = 1, 2
	tx := f.texter(ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, ""), limits, nil)
	ctx := context.Background()
	p := testenv.RandomPhone()
	mustOK(t, tx.SendCode(ctx, code(core.SMSSignup, "usr_1", p)))
	wantCode(t, tx.SendCode(ctx, code(core.SMSLogin, "usr_1", p)), core.ERateLimited) // the phone's hour
	if f.count.get(core.SMSLogin, texts.SMSResultLimited) != 1 || len(f.audit.Of(core.EventSMSBudgetExhausted)) != 0 {
		t.Fatalf("a per-phone refusal: counts %v, events %v", f.count.n, f.audit.All())
	}
	mustOK(t, tx.SendCode(ctx, code(core.SMSLogin, "usr_2", testenv.RandomPhone()))) // the budget's second
}

// Resends are counted per client address (an IPv6 /64 as one), signups
// and logins' own codes are not: those have limits of their own.
func TestResendsArePerClient(t *testing.T) {
	for _, kind := range []ephemeraltest.Kind{ephemeraltest.InProcess, ephemeraltest.OnRedis} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			limits := roomy
			limits.ResendsPerIPPerHour = 2
			tx := f.texter(ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":"), limits, nil)
			one := core.WithClient(context.Background(), core.Client{IP: "2001:db8:1:2::10"})
			sameNet := core.WithClient(context.Background(), core.Client{IP: "2001:db8:1:2:ffff::1"})
			other := core.WithClient(context.Background(), core.Client{IP: "2001:db8:1:3::10"})
			mustOK(t, tx.SendCode(one, code(core.SMSSignupResend, "usr_1", testenv.RandomPhone())))
			mustOK(t, tx.SendCode(sameNet, code(core.SMSLoginRequested, "usr_2", testenv.RandomPhone())))
			wantCode(t, tx.SendCode(one, code(core.SMSLoginRequested, "usr_3", testenv.RandomPhone())), core.ERateLimited)
			wantCode(t, tx.SendCode(sameNet, code(core.SMSSignupResend, "usr_3", testenv.RandomPhone())), core.ERateLimited)
			mustOK(t, tx.SendCode(other, code(core.SMSSignupResend, "usr_4", testenv.RandomPhone())))
			for _, k := range []string{core.SMSSignup, core.SMSLogin} {
				mustOK(t, tx.SendCode(one, code(k, "usr_5", testenv.RandomPhone())))
			}
			if len(f.audit.Of(core.EventSMSBudgetExhausted)) != 0 {
				t.Fatal("a per-client refusal was recorded as the budget's")
			}
		})
	}
}

// The Texter refuses what the policy refuses, whatever asks: a number
// stored before SMS_COUNTRIES was narrowed gets no codes and no notices.
func TestTexterAppliesThePhonePolicy(t *testing.T) {
	f := newFixture()
	onlyGB, err := phone.NewSMSPolicy([]string{"GB"})
	mustOK(t, err)
	tx := f.texter(ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, ""), roomy, onlyGB)
	ctx := context.Background()
	us := testenv.RandomPhone()
	wantCode(t, tx.SendCode(ctx, code(core.SMSLogin, "usr_1", us)), core.EInvalidPhone)
	wantCode(t, tx.SendCode(ctx, code(core.SMSLogin, "usr_1", "+448712345678")), core.EInvalidPhone) // GB premium rate
	tx.Notify(ctx, us, "your password was changed.")
	if f.sms.total() != 0 {
		t.Fatalf("%d messages sent to refused numbers", f.sms.total())
	}
	if f.count.get(core.SMSLogin, texts.SMSResultRefusedNumber) != 2 {
		t.Fatalf("counts %v", f.count.n)
	}
	mustOK(t, tx.SendCode(ctx, code(core.SMSLogin, "usr_2", "+447400123456")))
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// racedBudget is a limiter on which concurrent sends have taken the
// service budget's last place.
type racedBudget struct{ ephemeraltest.Store }

func (r racedBudget) Reserve(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, string, error) {
	if key == texts.BudgetKey {
		return core.LimitDecision{Count: limit, RetryAfter: time.Minute}, "", nil
	}
	return r.Store.Reserve(ctx, key, limit, window, now)
}

// A message refused by the budget after its phone's windows took their
// places gives those places back: a phone's limits count only messages
// sent to it.
func TestARefusedMessageChargesNothing(t *testing.T) {
	for _, kind := range []ephemeraltest.Kind{ephemeraltest.InProcess, ephemeraltest.OnRedis} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			eph := ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":")
			limits := roomy
			limits.PerHour = 1
			ctx := context.Background()
			p := testenv.RandomPhone()
			wantCode(t, f.texter(racedBudget{eph}, limits, nil).SendCode(ctx, code(core.SMSLogin, "usr_1", p)), core.ERateLimited)
			if f.sms.total() != 0 {
				t.Fatal("a refused message was sent")
			}
			// The phone's hour of one is still whole.
			mustOK(t, f.texter(eph, limits, nil).SendCode(ctx, code(core.SMSLogin, "usr_1", p)))
		})
	}
}
