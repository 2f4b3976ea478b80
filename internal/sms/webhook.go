package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	URL     string
	Timeout time.Duration // DefaultTimeout when zero
}

// Webhook POSTs {"to": "+…", "body": "…"} as JSON to a URL of the
// operator's; any 2xx answer means sent.
type Webhook struct {
	url  string
	http vendorHTTP
}

var _ core.SMSSender = (*Webhook)(nil)

// NewWebhook returns a Webhook, or an error naming SMS_WEBHOOK_URL when the
// URL is missing or not http(s).
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.URL == "" {
		return nil, missing("webhook", "SMS_WEBHOOK_URL")
	}
	if err := checkBaseURL(cfg.URL, "SMS_WEBHOOK_URL"); err != nil {
		return nil, err
	}
	return &Webhook{url: cfg.URL, http: newVendorHTTP("webhook", cfg.Timeout)}, nil
}

type webhookMessage struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// Send delivers one message through the webhook.
func (w *Webhook) Send(ctx context.Context, to, body string) error {
	payload, err := json.Marshal(webhookMessage{To: to, Body: body})
	if err != nil {
		return core.Unavailable("sms", fmt.Errorf("webhook: encoding: %w", err))
	}
	resp, err := w.http.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		return req, nil
	})
	if err != nil {
		return core.Unavailable("sms", err)
	}
	if !resp.ok() {
		return core.Unavailable("sms", fmt.Errorf("webhook: HTTP %d", resp.status))
	}
	return nil
}
