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

// YunpianBaseURL is Yunpian's API host.
const YunpianBaseURL = "https://sms.yunpian.com"

// YunpianConfig configures a Yunpian sender.
type YunpianConfig struct {
	APIKey  string
	BaseURL string        // YunpianBaseURL when empty
	Timeout time.Duration // DefaultTimeout when zero
}

// Yunpian sends through Yunpian's v2 single_send API. The text must match a
// template approved in the Yunpian console, signature 【…】 included.
type Yunpian struct {
	apiKey   string
	endpoint string
	http     vendorHTTP
}

var _ core.SMSSender = (*Yunpian)(nil)

// NewYunpian returns a Yunpian sender, or an error naming YUNPIAN_API_KEY
// when it is missing.
func NewYunpian(cfg YunpianConfig) (*Yunpian, error) {
	if cfg.APIKey == "" {
		return nil, missing("yunpian", "YUNPIAN_API_KEY")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = YunpianBaseURL
	}
	if err := checkBaseURL(cfg.BaseURL, "YUNPIAN_BASE_URL"); err != nil {
		return nil, err
	}
	return &Yunpian{
		apiKey:   cfg.APIKey,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/v2/sms/single_send.json",
		http:     newVendorHTTP("yunpian", cfg.Timeout),
	}, nil
}

// yunpianAnswer is both the success and the error document; code 0 means
// sent. msg and detail are not read: they may quote the number.
type yunpianAnswer struct {
	Code *int `json:"code"`
}

// Send sends one message.
func (y *Yunpian) Send(ctx context.Context, to, body string) error {
	form := url.Values{"apikey": {y.apiKey}, "mobile": {yunpianMobile(to)}, "text": {body}}
	resp, err := y.http.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, y.endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
		req.Header.Set("Accept", "application/json;charset=utf-8")
		return req, nil
	})
	if err != nil {
		return core.Unavailable("sms", err)
	}
	var answer yunpianAnswer
	if json.Unmarshal(resp.body, &answer) != nil || answer.Code == nil {
		return core.Unavailable("sms", fmt.Errorf("yunpian: HTTP %d with an unreadable body", resp.status))
	}
	if !resp.ok() || *answer.Code != 0 {
		return core.Unavailable("sms", fmt.Errorf("yunpian: HTTP %d, code %d", resp.status, *answer.Code))
	}
	return nil
}

// yunpianMobile writes a number as Yunpian's docs ask: mainland China
// numbers without +86 (a number without + is taken as Chinese), others in
// E.164 with the + (which form encoding sends as %2B).
func yunpianMobile(e164 string) string {
	if national, ok := strings.CutPrefix(e164, "+86"); ok {
		return national
	}
	return e164
}
