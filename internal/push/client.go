package push

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Defaults of Config.
const (
	DefaultTimeout  = 10 * time.Second // the contract's bound on one push
	DefaultAttempts = 3
	DefaultBackoff  = 200 * time.Millisecond
)

// maxResponseBytes is how much of a device's answer is read (and discarded).
const maxResponseBytes = 64 << 10

// Config configures a Client. Zero values take the defaults.
type Config struct {
	// ServerKey signs every push; devices know its public half as
	// server_public_key.
	ServerKey ed25519.PrivateKey
	// Keys, when set, picks the key that signs each push instead of
	// ServerKey (keyring.Ring's Active: a rotated push key starts to sign
	// without a restart); its kid goes in the X-Key-Id header.
	Keys Keys
	// Timeout bounds one Send, every attempt and backoff included.
	Timeout time.Duration
	// Attempts is the most tries per Send.
	Attempts int
	// Backoff is the pause before the second attempt; it doubles after.
	Backoff time.Duration
	// RootCAs replaces the system roots (tests).
	RootCAs *x509.CertPool
	// Policy is which non-public destinations pushes may reach; give the
	// same Policy that validated the push URLs.
	Policy Policy
	// Clock stamps the signatures; SystemClock when nil.
	Clock core.Clock
}

// Keys name the push key that signs now.
type Keys interface {
	Active() (kid string, key ed25519.PrivateKey)
}

// Client sends signed pushes. It is safe for concurrent use.
type Client struct {
	key      ed25519.PrivateKey
	keys     Keys
	timeout  time.Duration
	attempts int
	backoff  time.Duration
	clock    core.Clock
	policy   Policy
	dialer   *net.Dialer
	http     *http.Client
}

// New builds a Client; the only error is a malformed ServerKey (without
// Keys).
func New(cfg Config) (*Client, error) {
	if cfg.Keys == nil && len(cfg.ServerKey) != ed25519.PrivateKeySize {
		return nil, errors.New("push: ServerKey must be a 64-byte Ed25519 private key")
	}
	c := &Client{
		key:      cfg.ServerKey,
		keys:     cfg.Keys,
		timeout:  orDefault(cfg.Timeout, DefaultTimeout),
		attempts: cfg.Attempts,
		backoff:  orDefault(cfg.Backoff, DefaultBackoff),
		clock:    cfg.Clock,
		policy:   cfg.Policy,
	}
	if c.attempts <= 0 {
		c.attempts = DefaultAttempts
	}
	if c.clock == nil {
		c.clock = core.SystemClock{}
	}
	c.dialer = newDialer(cfg.Policy, c.timeout)
	c.http = httpClientOn(c.dialer, c.timeout, cfg.RootCAs)
	return c, nil
}

// Send POSTs payload (JSON) to pushURL, signed by the server, and succeeds
// on a 2xx answer. Transport errors, 5xx and 429 are retried with a growing
// pause, up to Attempts tries within Timeout; any other answer fails at
// once. Errors are core.Unavailable("push endpoint", …) with a cause that
// never contains the URL (it may hold a device's token), or
// EInvalidPushURL for a URL that the Client's Policy refuses (one enrolled
// under a laxer Policy, say).
func (c *Client) Send(ctx context.Context, pushURL string, payload []byte) error {
	if err := c.policy.ValidatePushURL(pushURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	err := Retry(ctx, c.attempts, c.backoff, func() (bool, error) { return c.try(ctx, pushURL, payload) })
	if err != nil {
		return core.Unavailable("push endpoint", err)
	}
	return nil
}

// try makes one signed POST with a fresh timestamp and nonce; retry says
// whether another attempt may succeed.
func (c *Client) try(ctx context.Context, pushURL string, payload []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pushURL, bytes.NewReader(payload))
	if err != nil {
		return false, errors.New("push: cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "approvald-push/1")
	// RequestURI is exactly the path and raw query net/http writes on the
	// request line, which is what the device verifies.
	SignHeaders(req.Header, c.key, c.keys, req.URL.RequestURI(), payload, c.clock.Now())

	resp, err := c.http.Do(req)
	if err != nil {
		return IsRetryable(ctx, err), withoutURL(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return retry, fmt.Errorf("push: device endpoint answered %d", resp.StatusCode)
}

// withoutURL drops the *url.Error layer, whose message repeats the URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("push: %s: %w", ue.Op, ue.Err)
	}
	return err
}

// Close releases idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
