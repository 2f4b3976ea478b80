// Package texts sends the service's text messages: codes, under the
// phone's, the asking client's and the whole service's limits, and
// notices. Signup, the approval loop and device changes all text through
// it, so every message meets the same rules wherever it comes from.
package texts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/phone"
)

// SMSLimits bound the code messages approvald sends, across signups,
// resends and approvals. Notices are not codes and are not counted.
type SMSLimits struct {
	PerHour int // per phone
	PerDay  int // per phone
	// ResendsPerIPPerHour bounds the codes clients ask for again (signup
	// resends and a login's SMS), per client address, as signups are.
	ResendsPerIPPerHour int
	// BudgetPerHour is the whole service's: every instance draws on it.
	// When SMS pumping gets past every other limit, it caps the bill.
	BudgetPerHour int
}

// DefaultSMSLimits are the documented defaults. The budget of 300 code
// messages an hour (5 a minute, sustained) is several times the busiest
// hour of a service that serves thousands of users, most of whom approve
// logins by push; a pumping attack that gets past the other limits is held
// to 7,200 messages a day. Operators size it to their own peak (the
// approvald_sms_codes_total metric shows it).
var DefaultSMSLimits = SMSLimits{PerHour: 8, PerDay: 20, ResendsPerIPPerHour: 20, BudgetPerHour: 300}

// Results of a code message (the "result" label of approvald_sms_codes_total).
const (
	SMSResultSent            = "sent"
	SMSResultFailed          = "failed"           // the provider did not take it
	SMSResultLimited         = "limited"          // a per-phone or per-client limit
	SMSResultBudgetExhausted = "budget_exhausted" // the service-wide budget
	SMSResultRefusedNumber   = "refused_number"   // not a number approvald texts
)

// SMSResults lists every result.
var SMSResults = []string{SMSResultSent, SMSResultFailed, SMSResultLimited, SMSResultBudgetExhausted, SMSResultRefusedNumber}

// Texter sends the service's text messages: codes, charged to the phone's
// budget, the asking client's and the whole service's, and notices, which
// are not. The approval loop sends its codes through it too, so every code
// message meets the same limits, wherever it comes from.
type Texter struct {
	SMS     core.SMSSender
	Limiter core.Limiter
	Audit   core.Auditor
	Clock   core.Clock
	Limits  SMSLimits
	// Phones says which numbers are texted (SMS_COUNTRIES and the number
	// types); nil texts every valid number.
	Phones *phone.SMSPolicy
	// Count, when set, is told each code message's kind and result.
	Count func(kind, result string)
	Log   *slog.Logger
}

// BudgetKey is the limiter key of the service-wide budget: one key, so
// every instance sharing the limiter (Redis) shares the budget.
const BudgetKey = "sms:budget"

type smsWindow struct {
	key    string
	limit  int
	window time.Duration
}

// windows are the limits a message is charged to, the most specific first,
// so a refusal names the narrowest limit that applies.
func (t *Texter) windows(ctx context.Context, c core.CodeText) []smsWindow {
	w := []smsWindow{
		{"sms:h:" + c.Phone, t.Limits.PerHour, time.Hour},
		{"sms:d:" + c.Phone, t.Limits.PerDay, 24 * time.Hour},
	}
	if ip := core.ClientFrom(ctx).LimitKey(); ip != "" && c.RequestedByClient() {
		w = append(w, smsWindow{"resend:ip:" + ip, t.Limits.ResendsPerIPPerHour, time.Hour})
	}
	return append(w, smsWindow{BudgetKey, t.Limits.BudgetPerHour, time.Hour})
}

// Textable refuses (400 invalid_phone) a number approvald does not text.
func (t *Texter) Textable(e164 string) error {
	return t.Phones.Check(e164)
}

// SendCode texts c.Code to c.Phone unless the number is not one approvald
// texts (400) or a limit is reached (429): the phone's hourly or daily one,
// the client's resends, or the service's budget, whose exhaustion is also
// recorded in the user's trail. Each window takes its place, the narrowest
// first, so a refusal names the narrowest limit that applies; a refused
// message gives back the places it took, so it is charged nowhere.
func (t *Texter) SendCode(ctx context.Context, c core.CodeText) error {
	if err := t.Phones.Check(c.Phone); err != nil {
		t.count(c.Kind, SMSResultRefusedNumber)
		return err
	}
	now := t.Clock.Now()
	windows := t.windows(ctx, c)
	taken := make([]string, 0, len(windows))
	for i, w := range windows {
		d, token, err := t.Limiter.Reserve(ctx, w.key, w.limit, w.window, now)
		if err == nil && !d.Allowed {
			err = t.refuse(ctx, c, w, d)
		}
		if err != nil {
			for j, token := range taken {
				if rerr := t.Limiter.Release(context.WithoutCancel(ctx), windows[j].key, token); rerr != nil {
					t.Log.WarnContext(ctx, "an sms limit's place not given back", "window", windows[i].key, "err", rerr)
				}
			}
			return err
		}
		taken = append(taken, token)
	}
	body := fmt.Sprintf("Your approvald code is %s. It expires in %d minutes. Do not share it.", c.Code, max(1, int(c.TTL.Round(time.Minute).Minutes())))
	err := t.SMS.Send(ctx, c.Phone, body)
	if err != nil {
		t.count(c.Kind, SMSResultFailed)
		return err
	}
	t.count(c.Kind, SMSResultSent)
	return nil
}

// refuse answers 429 for window w; a spent budget is also recorded, once
// per refused message.
func (t *Texter) refuse(ctx context.Context, c core.CodeText, w smsWindow, d core.LimitDecision) error {
	if w.key != BudgetKey {
		t.count(c.Kind, SMSResultLimited)
		return core.RateLimited(d.RetryAfter)
	}
	t.count(c.Kind, SMSResultBudgetExhausted)
	if c.UserID != "" {
		t.Audit.Record(ctx, c.UserID, core.EventSMSBudgetExhausted, c.Kind+" code not sent")
	} else {
		t.Log.WarnContext(ctx, "sms budget exhausted: code not sent", "kind", c.Kind, "budget_per_hour", w.limit)
	}
	return core.RateLimited(d.RetryAfter)
}

func (t *Texter) count(kind, result string) {
	if t.Count != nil {
		t.Count(kind, result)
	}
}

// Notify sends a notice. A failure is logged, not returned: the change it
// reports has already happened. A number approvald does not text (one that
// signed up before SMS_COUNTRIES was narrowed) gets no notices either.
func (t *Texter) Notify(ctx context.Context, phone, text string) {
	if err := t.Phones.Check(phone); err != nil {
		t.Log.WarnContext(ctx, "notice not sent: the number is not one approvald texts")
		return
	}
	if err := t.SMS.Send(ctx, phone, "approvald: "+text); err != nil {
		t.Log.WarnContext(ctx, "notice not sent", "err", err)
	}
}
