package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/httpapi"
	"github.com/approvald/approvald/internal/passkey"
	"github.com/approvald/approvald/internal/texts"
)

// limits are the abuse limits; each has a documented default (README
// "Security"), defined by the package that enforces it, and an environment
// variable to tune it.
type limits struct {
	Account    account.Limits
	SMS        texts.SMSLimits
	Device     device.Limits
	Passkey    passkey.Limits
	Approval   approval.Config // only its limit fields are read from here
	Websockets httpapi.WebsocketLimits
}

func loadLimits(getenv func(string) string) (*limits, error) {
	l := &limits{
		Account: account.DefaultLimits(), SMS: texts.DefaultSMSLimits, Device: device.DefaultLimits(),
		Passkey:    passkey.DefaultLimits(),
		Approval:   approval.DefaultConfig(),
		Websockets: httpapi.DefaultWebsocketLimits(),
	}
	counts := []struct {
		name string
		dst  *int
	}{
		{"LIMIT_LOGIN_FAILURES_PER_ACCOUNT", &l.Account.LoginFailuresPerAccount},
		{"LIMIT_LOGIN_DELAY_AFTER", &l.Account.LoginDelayAfter},
		{"LIMIT_LOGIN_FAILURES_PER_IP", &l.Account.LoginFailuresPerIP},
		{"LIMIT_SIGNUPS_PER_IP_PER_HOUR", &l.Account.SignupsPerIPPerHour},
		{"LIMIT_PASSWORDLESS_PER_IDENTIFIER", &l.Account.PasswordlessPerIdentifier},
		{"LIMIT_PASSWORDLESS_PER_IP", &l.Account.PasswordlessPerIP},
		{"LIMIT_SMS_PER_PHONE_PER_HOUR", &l.SMS.PerHour},
		{"LIMIT_SMS_PER_PHONE_PER_DAY", &l.SMS.PerDay},
		{"LIMIT_RESENDS_PER_IP_PER_HOUR", &l.SMS.ResendsPerIPPerHour},
		{"SMS_BUDGET_PER_HOUR", &l.SMS.BudgetPerHour},
		{"LIMIT_WRONG_CODES_PER_USER_PER_HOUR", &l.Approval.WrongCodesPerHour},
		{"LIMIT_PUSHES_PER_USER", &l.Approval.PushesPerWindow},
		{"LIMIT_CALLBACK_FAILURES_PER_DEVICE", &l.Approval.CallbackFailures},
		{"LIMIT_ENROLLMENTS_PER_USER_PER_HOUR", &l.Device.EnrollmentsPerHour},
		{"LIMIT_ENROLL_FAILURES_PER_IP", &l.Device.EnrollFailuresPerIP},
		{"LIMIT_PASSKEY_LOGINS_PER_IP_PER_MINUTE", &l.Passkey.OptionsPerIP},
		{"LIMIT_PASSKEY_FAILURES_PER_IP", &l.Passkey.FailuresPerIP},
		{"LIMIT_PASSKEY_REGISTRATIONS_PER_USER_PER_HOUR", &l.Passkey.RegistrationsPerHour},
		{"LIMIT_WEBSOCKETS_PER_APPROVAL", &l.Websockets.PerApproval},
		{"LIMIT_WEBSOCKETS_PER_IP", &l.Websockets.PerIP},
		{"MAX_WEBSOCKETS", &l.Websockets.Total},
	}
	for _, c := range counts {
		v := getenv(c.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, &configError{c.name, fmt.Sprintf("must be a whole number of at least 1, not %q", v)}
		}
		*c.dst = n
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"LIMIT_LOGIN_WINDOW", &l.Account.LoginWindow},
		{"LIMIT_PASSWORDLESS_WINDOW", &l.Account.PasswordlessWindow},
		{"LIMIT_LOGIN_DELAY_BASE", &l.Account.LoginDelayBase},
		{"LIMIT_LOGIN_DELAY_MAX", &l.Account.LoginDelayMax},
		{"LIMIT_PUSH_WINDOW", &l.Approval.PushWindow},
		{"LIMIT_REPORT_PAUSE", &l.Approval.ReportPause},
		{"LIMIT_FAILURE_WINDOW", &l.Approval.CallbackFailureWindow},
	}
	for _, d := range durations {
		v, err := parseDuration(d.name, getenv(d.name), *d.dst)
		if err != nil {
			return nil, err
		}
		*d.dst = v
	}
	l.Device.EnrollFailureWindow = l.Approval.CallbackFailureWindow
	return l, nil
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
