package account

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// SMSLimits bound the code messages one phone receives, across signups,
// resends and approvals. Notices are not codes and are not counted.
type SMSLimits struct {
	PerHour int
	PerDay  int
}

// DefaultSMSLimits are the contract's.
var DefaultSMSLimits = SMSLimits{PerHour: 8, PerDay: 20}

// Texter sends the service's text messages: codes, charged to the phone's
// budget, and notices, which are not. The approval loop sends its codes
// through it too, so a phone has one budget.
type Texter struct {
	SMS     core.SMSSender
	Limiter core.Limiter
	Clock   core.Clock
	Limits  SMSLimits
	Log     *slog.Logger
}

type smsWindow struct {
	key    string
	limit  int
	window time.Duration
}

func (t *Texter) windows(phone string) []smsWindow {
	return []smsWindow{
		{"sms:h:" + phone, t.Limits.PerHour, time.Hour},
		{"sms:d:" + phone, t.Limits.PerDay, 24 * time.Hour},
	}
}

// SendCode texts code to phone unless the phone's hourly or daily budget is
// spent (429). Every window is checked before any is charged, so a refusal
// by the daily window does not use up the hourly one.
func (t *Texter) SendCode(ctx context.Context, phone, code string, ttl time.Duration) error {
	now := t.Clock.Now()
	for _, w := range t.windows(phone) {
		d, err := t.Limiter.Check(ctx, w.key, w.limit, w.window, now)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return core.RateLimited(d.RetryAfter)
		}
	}
	for _, w := range t.windows(phone) {
		d, err := t.Limiter.Hit(ctx, w.key, w.limit, w.window, now)
		if err != nil {
			return err
		}
		if !d.Allowed { // a concurrent send took the last place
			return core.RateLimited(d.RetryAfter)
		}
	}
	body := fmt.Sprintf("Your approvald code is %s. It expires in %d minutes. Do not share it.", code, int(ttl.Round(time.Minute).Minutes()))
	return t.SMS.Send(ctx, phone, body)
}

// Notify sends a notice. A failure is logged, not returned: the change it
// reports has already happened.
func (t *Texter) Notify(ctx context.Context, phone, text string) {
	if err := t.SMS.Send(ctx, phone, "approvald: "+text); err != nil {
		t.Log.WarnContext(ctx, "notice not sent", "err", err)
	}
}
