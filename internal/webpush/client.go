package webpush

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/signing"
)

// DefaultTimeout bounds one Send, as push.DefaultTimeout does a push.
const DefaultTimeout = push.DefaultTimeout

// maxResponseBytes is how much of a push service's answer is read.
const maxResponseBytes = 64 << 10

// Config configures a Client.
type Config struct {
	// ServerKey signs the push inside the encryption, as push.Client
	// signs a push_url's: devices verify it with server_public_key.
	ServerKey ed25519.PrivateKey
	// Keys, when set, picks the key that signs each push instead of
	// ServerKey, as push.Config.Keys does (a rotated push key signs
	// without a restart); its kid goes in the X-Key-Id header.
	Keys push.Keys
	// VAPID signs the VAPID tokens (a P-256 key of keyring purpose vapid).
	VAPID *ecdsa.PrivateKey
	// Subject is the VAPID sub claim: a mailto: or https: contact (the
	// server's PUBLIC_URL).
	Subject string
	// Timeout bounds one Send, every attempt and pause included
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// Attempts is the most tries per Send (push.DefaultAttempts when
	// zero); Backoff the pause before the second, doubling after
	// (push.DefaultBackoff when zero).
	Attempts int
	Backoff  time.Duration
	// Policy is where pushes may go: the same push.Policy that validated
	// the endpoints, checked again at connect time.
	Policy push.Policy
	// RootCAs replaces the system roots (tests).
	RootCAs *x509.CertPool
	// Clock stamps signatures and tokens; SystemClock when nil.
	Clock core.Clock
}

// Client sends Web Push messages. It is safe for concurrent use.
type Client struct {
	cfg       Config
	publicKey string
	http      *http.Client
}

// New builds a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Keys == nil && len(cfg.ServerKey) != ed25519.PrivateKeySize {
		return nil, errors.New("webpush: ServerKey must be a 64-byte Ed25519 private key")
	}
	if cfg.VAPID == nil {
		return nil, errors.New("webpush: no VAPID key")
	}
	pub, err := PublicKey(cfg.VAPID)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = push.DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = push.DefaultBackoff
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: cfg.Policy.DialControl()}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would connect past the dial control
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.Timeout,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseBytes,
		DisableCompression:     true,
	}
	return &Client{cfg: cfg, publicKey: pub, http: &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// PublicKey is the VAPID public key devices subscribe with (base64url of
// the uncompressed point).
func (c *Client) PublicKey() string { return c.publicKey }

// Signed is the plaintext of a Web Push: the push JSON a push_url gets as
// Body (exact bytes) and the signature headers it gets beside it (X-Key-Id,
// X-Timestamp, X-Nonce, X-Signature), signed for a POST to the endpoint's
// path and query (its RequestURI).
type Signed struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// Topic is a device's Topic header: a stable hash of its id in 22
// base64url characters (RFC 8030 §5.4 allows 32), so a newer push to the
// device replaces an older one the push service still holds.
func Topic(deviceID string) string {
	sum := sha256.Sum256([]byte("approvald/webpush-topic/" + deviceID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// SendWebPush signs payload (the push JSON), encrypts it for sub and POSTs
// it to sub.Endpoint with a VAPID token, TTL ttl (whole seconds, at least
// 0), Urgency high and Topic(deviceID). It succeeds on a 2xx answer (201, as a
// rule). A 404 or 410 is an error wrapping core.ErrWebPushGone; anything
// else is core.Unavailable("push endpoint", …) with a cause without the
// URL, or EInvalidPushURL for an endpoint the Policy refuses. Transport
// errors, 5xx and 429 are tried again, as push.Client does, up to Attempts
// tries within Timeout; the same encrypted body each time, so a device
// that got it already refuses the repeat by its nonce.
func (c *Client) SendWebPush(ctx context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error {
	if err := c.cfg.Policy.ValidateEndpoint(sub.Endpoint); err != nil {
		return err
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil {
		return core.Unavailable("push endpoint", errors.New("webpush: unparsable endpoint"))
	}
	now := c.cfg.Clock.Now()
	h := http.Header{}
	key := c.cfg.ServerKey
	if c.cfg.Keys != nil {
		var kid string
		kid, key = c.cfg.Keys.Active()
		h.Set(signing.HeaderKeyID, kid)
	} else {
		h.Set(signing.HeaderKeyID, signing.KeyID(key.Public().(ed25519.PublicKey)))
	}
	signing.Sign(key, http.MethodPost, u.RequestURI(), "", payload, now).Apply(h)
	headers := make(map[string]string, len(h))
	for k := range h {
		headers[k] = h.Get(k)
	}
	plaintext, err := json.Marshal(Signed{Headers: headers, Body: string(payload)})
	if err != nil {
		return err
	}
	body, err := Encrypt(plaintext, sub.P256dh, sub.Auth)
	if err != nil {
		return core.Unavailable("push endpoint", err)
	}
	aud, err := Origin(sub.Endpoint)
	if err != nil {
		return core.Unavailable("push endpoint", err)
	}
	token, err := vapidToken(c.cfg.VAPID, aud, c.cfg.Subject, now)
	if err != nil {
		return core.Unavailable("push endpoint", err)
	}

	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	pause := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := c.try(ctx, sub.Endpoint, body, token, ttl, deviceID)
		if err == nil || !retry || attempt >= c.cfg.Attempts || !sleep(ctx, pause) {
			return err
		}
		pause *= 2
	}
}

// try makes one POST of the encrypted body; retry says whether another
// attempt may succeed (a transport error but a refused address or an
// untrusted certificate, a 5xx, a 429).
func (c *Client) try(ctx context.Context, endpoint string, body []byte, token string, ttl time.Duration, deviceID string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return false, core.Unavailable("push endpoint", errors.New("webpush: cannot build the request"))
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.FormatInt(int64(max(ttl, 0)/time.Second), 10))
	req.Header.Set("Urgency", "high")
	req.Header.Set("Topic", Topic(deviceID))
	req.Header.Set("Authorization", "vapid t="+token+", k="+c.publicKey)
	req.Header.Set("User-Agent", "approvald-push/1")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("webpush: %s: %w", ue.Op, ue.Err)
		}
		var certErr *tls.CertificateVerificationError
		retry = ctx.Err() == nil && !push.IsRefusedAddress(err) && !errors.As(err, &certErr)
		return retry, core.Unavailable("push endpoint", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return false, fmt.Errorf("webpush: push service answered %d: %w", resp.StatusCode, core.ErrWebPushGone)
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return retry, core.Unavailable("push endpoint", fmt.Errorf("webpush: push service answered %d", resp.StatusCode))
}

// sleep waits d before another attempt; false, at once, when the budget
// ends before d has passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
