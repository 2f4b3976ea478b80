// Package sms holds the core.SMSSender implementations: console (for
// development), a generic JSON webhook, Twilio and Yunpian. Every failure is
// core.Unavailable("sms", cause) with a cause naming the vendor's status and
// error code, never the message or the phone number.
package sms

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Config is the SMS part of the server's settings (SMS_PROVIDER and the
// provider's variables).
type Config struct {
	Provider         string // console (default), webhook, twilio, yunpian
	WebhookURL       string
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioBaseURL    string
	YunpianAPIKey    string
	YunpianBaseURL   string
	Timeout          time.Duration // per send; DefaultTimeout when zero
}

// FromConfig builds the sender cfg.Provider names; the console provider
// writes to console. Missing settings are reported by their environment
// variable names.
func FromConfig(cfg Config, console io.Writer) (core.SMSSender, error) {
	switch provider := strings.ToLower(strings.TrimSpace(cfg.Provider)); provider {
	case "", "console":
		if console == nil {
			return nil, errors.New("sms: the console provider needs a writer")
		}
		return NewConsole(console), nil
	case "webhook":
		return NewWebhook(WebhookConfig{URL: cfg.WebhookURL, Timeout: cfg.Timeout})
	case "twilio":
		return NewTwilio(TwilioConfig{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			BaseURL: cfg.TwilioBaseURL, Timeout: cfg.Timeout,
		})
	case "yunpian":
		return NewYunpian(YunpianConfig{APIKey: cfg.YunpianAPIKey, BaseURL: cfg.YunpianBaseURL, Timeout: cfg.Timeout})
	default:
		return nil, fmt.Errorf("sms: SMS_PROVIDER %q is not one of console, webhook, twilio, yunpian", provider)
	}
}

func missing(provider string, variables ...string) error {
	return fmt.Errorf("sms: SMS_PROVIDER=%s needs %s", provider, strings.Join(variables, ", "))
}
