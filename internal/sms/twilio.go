package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// TwilioBaseURL is Twilio's REST API.
const TwilioBaseURL = "https://api.twilio.com"

// TwilioConfig configures a Twilio sender.
type TwilioConfig struct {
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164) or a Messaging Service SID
	// ("MG…"), which is then sent as MessagingServiceSid.
	From    string
	BaseURL string        // TwilioBaseURL when empty
	Timeout time.Duration // DefaultTimeout when zero
}

// Twilio sends through Twilio's Messages API.
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
	http     vendorHTTP
}

var _ core.SMSSender = (*Twilio)(nil)

// NewTwilio returns a Twilio sender, or an error naming every missing
// setting's environment variable.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	var absent []string
	if cfg.AccountSID == "" {
		absent = append(absent, "TWILIO_ACCOUNT_SID")
	}
	if cfg.AuthToken == "" {
		absent = append(absent, "TWILIO_AUTH_TOKEN")
	}
	if cfg.From == "" {
		absent = append(absent, "TWILIO_FROM")
	}
	if len(absent) > 0 {
		return nil, missing("twilio", absent...)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = TwilioBaseURL
	}
	if err := checkBaseURL(cfg.BaseURL, "TWILIO_BASE_URL"); err != nil {
		return nil, err
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Twilio{cfg: cfg, endpoint: endpoint, http: newVendorHTTP("twilio", cfg.Timeout)}, nil
}

// twilioMessage is the part of the created Message resource (2xx) read.
type twilioMessage struct {
	Status    string `json:"status"`
	ErrorCode *int   `json:"error_code"`
}

// twilioError is Twilio's error document (4xx/5xx). Its "message" often
// quotes the phone number, so it is deliberately not read.
type twilioError struct {
	Code int `json:"code"`
}

// Send creates one outbound Message.
func (t *Twilio) Send(ctx context.Context, to, body string) error {
	form := url.Values{"To": {to}, "Body": {body}}
	if isMessagingServiceSID(t.cfg.From) {
		form.Set("MessagingServiceSid", t.cfg.From)
	} else {
		form.Set("From", t.cfg.From)
	}
	resp, err := t.http.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
		return req, nil
	})
	if err != nil {
		return core.Unavailable("sms", err)
	}
	if !resp.ok() {
		var e twilioError
		if json.Unmarshal(resp.body, &e) == nil && e.Code != 0 {
			return core.Unavailable("sms", fmt.Errorf("twilio: HTTP %d, error code %d", resp.status, e.Code))
		}
		return core.Unavailable("sms", fmt.Errorf("twilio: HTTP %d", resp.status))
	}
	var m twilioMessage
	switch {
	case json.Unmarshal(resp.body, &m) != nil:
		return core.Unavailable("sms", fmt.Errorf("twilio: HTTP %d with an unreadable body", resp.status))
	case m.ErrorCode != nil && *m.ErrorCode != 0:
		return core.Unavailable("sms", fmt.Errorf("twilio: message %s, error code %d", m.Status, *m.ErrorCode))
	case m.Status == "failed" || m.Status == "undelivered":
		return core.Unavailable("sms", fmt.Errorf("twilio: message %s", m.Status))
	}
	return nil
}

// isMessagingServiceSID recognizes "MG" followed by 32 hex digits.
func isMessagingServiceSID(s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, "MG") {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
