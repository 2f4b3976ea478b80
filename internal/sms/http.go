package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds one send when the config gives none.
const DefaultTimeout = 10 * time.Second

// maxResponseBytes caps how much of a vendor's answer is read.
const maxResponseBytes = 64 << 10

// vendorHTTP is the HTTP plumbing the gateway senders share: a deadline on
// every call (ctx and client alike), no redirects, a capped response read,
// and causes that never carry the request URL (it may hold a token).
type vendorHTTP struct {
	vendor  string
	client  *http.Client
	timeout time.Duration
}

func newVendorHTTP(vendor string, timeout time.Duration) vendorHTTP {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return vendorHTTP{
		vendor:  vendor,
		timeout: timeout,
		client: &http.Client{
			Timeout: timeout,
			// A gateway that redirects is misconfigured; following it would
			// resend the message (or its credentials) elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// response is a vendor's answer, body capped at maxResponseBytes.
type response struct {
	status int
	body   []byte
}

func (r response) ok() bool { return r.status >= 200 && r.status < 300 }

// do builds a request with a deadline-bound ctx and sends it.
func (v vendorHTTP) do(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	req, err := build(ctx)
	if err != nil {
		return response{}, fmt.Errorf("%s: building request: %w", v.vendor, withoutURL(err))
	}
	req.Header.Set("User-Agent", "approvald")
	resp, err := v.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s: request failed: %w", v.vendor, withoutURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return response{}, fmt.Errorf("%s: reading response (HTTP %d): %w", v.vendor, resp.StatusCode, withoutURL(err))
	}
	return response{status: resp.StatusCode, body: body}, nil
}

// withoutURL drops the URL net/http puts into its errors.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkBaseURL reports whether s is an absolute http(s) URL; the message
// names the setting, never the value (a webhook URL may carry a token).
func checkBaseURL(s, setting string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("sms: %s is not an http(s) URL", setting)
	}
	return nil
}
