package push

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/approvald/approvald/internal/signing"
)

// NewHTTPClient is the client every push goes out on, to a push_url or a
// Web Push service: each connection under p's dial control (after DNS, so
// no rebinding reaches a refused address), never through a proxy (it would
// connect on our behalf, past the control), redirects not followed (a
// redirect is a failed push), connects and handshakes bounded by timeout.
func NewHTTPClient(p Policy, timeout time.Duration, rootCAs *x509.CertPool) *http.Client {
	return httpClientOn(newDialer(p, timeout), timeout, rootCAs)
}

func newDialer(p Policy, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: dialControl(p)}
}

// httpClientOn is NewHTTPClient's client on dialer, which push.Client keeps
// so that its tests can wrap the dial control and the resolver.
func httpClientOn(dialer *net.Dialer, timeout time.Duration, rootCAs *x509.CertPool) *http.Client {
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: rootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseBytes,
		// The body is discarded; do not ask for (or inflate) compression.
		DisableCompression: true,
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Retry calls try until it succeeds, says another attempt cannot, or
// attempts tries are made, pausing backoff before the second and doubling
// after, within ctx; it returns try's last error.
func Retry(ctx context.Context, attempts int, backoff time.Duration, try func() (retry bool, err error)) error {
	pause := backoff
	for attempt := 1; ; attempt++ {
		retry, err := try()
		if err == nil || !retry || attempt >= attempts || !sleep(ctx, pause) {
			return err
		}
		pause *= 2
	}
}

// IsRetryable says whether another attempt may get past a transport error:
// not a refused address, an untrusted certificate or the end of the budget.
func IsRetryable(ctx context.Context, err error) bool {
	var certErr *tls.CertificateVerificationError
	switch {
	case ctx.Err() != nil,
		errors.Is(err, errRefusedAddress),
		errors.As(err, &certErr):
		return false
	}
	return true
}

// SignHeaders signs a push (a POST of payload to requestURI) into h, with
// the active key of keys or, without keys, with key; X-Key-Id names it.
func SignHeaders(h http.Header, key ed25519.PrivateKey, keys Keys, requestURI string, payload []byte, now time.Time) {
	if keys != nil {
		var kid string
		kid, key = keys.Active()
		h.Set(signing.HeaderKeyID, kid)
	} else {
		h.Set(signing.HeaderKeyID, signing.KeyID(key.Public().(ed25519.PublicKey)))
	}
	signing.Sign(key, http.MethodPost, requestURI, "", payload, now).Apply(h)
}

// sleep waits d before another attempt; false, at once, when the budget
// ends before d has passed (another attempt would have no time left).
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
