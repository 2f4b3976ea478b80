package webpush

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/push"
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
	// Subject is the VAPID sub claim: a mailto: or https: contact for
	// the push services' operators (VAPID_SUBJECT).
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
	// Clock stamps the signatures inside pushes; SystemClock when nil.
	// (The VAPID token's expiry is the library's: 12 hours from the
	// system clock.)
	Clock core.Clock
}

// Client sends Web Push messages: the encryption (RFC 8291), the VAPID
// token (RFC 8292) and the request are github.com/SherClockHolmes/webpush-go's;
// around it, the push signed inside, the SSRF policy, timeouts and retries.
// It is safe for concurrent use.
type Client struct {
	cfg        Config
	publicKey  string
	privateKey string // the VAPID key's scalar, base64url, as the library takes it
	subscriber string // Subject as the library takes it: it adds mailto: itself
	http       *http.Client
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
	scalar, err := cfg.VAPID.Bytes()
	if err != nil {
		return nil, fmt.Errorf("webpush: the VAPID key: %w", err)
	}
	subscriber, err := librarySubscriber(cfg.Subject)
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
	hc := push.NewHTTPClient(cfg.Policy, cfg.Timeout, cfg.RootCAs)
	hc.Transport = userAgent{hc.Transport}
	return &Client{cfg: cfg, publicKey: pub, privateKey: base64.RawURLEncoding.EncodeToString(scalar),
		subscriber: subscriber, http: hc}, nil
}

// CheckSubject says whether s can be a VAPID subject: RFC 8292 §2.1 asks
// for a mailto: address or an https: URL the push service's operator can
// use to reach the sender.
func CheckSubject(s string) error {
	_, err := librarySubscriber(s)
	return err
}

// librarySubscriber is subject as webpush-go's Options.Subscriber takes it:
// an https: URL as it is, an address without its mailto: (the library puts
// mailto: before anything that is not https:).
func librarySubscriber(subject string) (string, error) {
	if strings.HasPrefix(subject, "https://") {
		if u, err := url.Parse(subject); err == nil && u.Host != "" {
			return subject, nil
		}
	}
	if addr, ok := strings.CutPrefix(subject, "mailto:"); ok && strings.Contains(addr, "@") && !strings.ContainsAny(addr, " \t\r\n") {
		return addr, nil
	}
	return "", fmt.Errorf("webpush: the VAPID subject %q is neither a mailto: address nor an https: URL", subject)
}

// userAgent names approvald in every request to a push service.
type userAgent struct{ next http.RoundTripper }

func (t userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "approvald-push/1")
	return t.next.RoundTrip(r)
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
// tries within Timeout; each attempt is encrypted afresh, but carries the
// same signed push, so a device that got it already refuses the repeat by
// its nonce.
func (c *Client) SendWebPush(ctx context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error {
	if err := c.cfg.Policy.ValidateEndpoint(sub.Endpoint); err != nil {
		return err
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil {
		return core.Unavailable("push endpoint", errors.New("webpush: unparsable endpoint"))
	}
	h := http.Header{}
	push.SignHeaders(h, c.cfg.ServerKey, c.cfg.Keys, u.RequestURI(), payload, c.cfg.Clock.Now())
	headers := make(map[string]string, len(h))
	for k := range h {
		headers[k] = h.Get(k)
	}
	plaintext, err := json.Marshal(Signed{Headers: headers, Body: string(payload)})
	if err != nil {
		return err
	}
	subscription := &webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{
		P256dh: base64.RawURLEncoding.EncodeToString(sub.P256dh),
		Auth:   base64.RawURLEncoding.EncodeToString(sub.Auth),
	}}
	opts := &webpushgo.Options{
		HTTPClient:      c.http,
		Subscriber:      c.subscriber,
		Topic:           Topic(deviceID),
		TTL:             int(max(ttl, 0) / time.Second),
		Urgency:         webpushgo.UrgencyHigh,
		VAPIDPublicKey:  c.publicKey,
		VAPIDPrivateKey: c.privateKey,
	}

	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	return push.Retry(ctx, c.cfg.Attempts, c.cfg.Backoff, func() (bool, error) { return c.try(ctx, plaintext, subscription, opts) })
}

// try makes one POST; retry says whether another attempt may succeed (a
// transport error but a refused address or an untrusted certificate, a
// 5xx, a 429).
func (c *Client) try(ctx context.Context, plaintext []byte, sub *webpushgo.Subscription, opts *webpushgo.Options) (retry bool, err error) {
	resp, err := webpushgo.SendNotificationWithContext(ctx, plaintext, sub, opts)
	if err != nil {
		var ue *url.Error
		if !errors.As(err, &ue) {
			// Refused before anything was sent: the keys or the payload.
			return false, core.Unavailable("push endpoint", fmt.Errorf("webpush: %w", err))
		}
		err = fmt.Errorf("webpush: %s: %w", ue.Op, ue.Err)
		return push.IsRetryable(ctx, err), core.Unavailable("push endpoint", err)
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

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
