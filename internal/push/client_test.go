package push

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

var payload = []byte(`{"approval_id":"apr_1","device_id":"dev_1","message":"Login request"}`)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var clockNow = time.Unix(1764000000, 0).UTC()

// device is a fake authenticator endpoint: it checks each push as a real
// device would and answers with statuses in turn (the last one repeats).
type device struct {
	t        *testing.T
	pub      ed25519.PublicKey
	statuses []int

	mu       sync.Mutex
	received []pushRequest
}

type pushRequest struct {
	requestURI string
	headers    signing.Headers
	verifyErr  error
}

func (d *device) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h, err := signing.ParseHeaders(r.Header.Get)
	if err == nil {
		err = signing.Verify(d.pub, r.Method, r.RequestURI, h, body)
	}
	if err == nil {
		err = signing.CheckTimestamp(h.Timestamp, clockNow, signing.MaxSkew)
	}
	if err == nil && (r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get(signing.HeaderDeviceID) != "" || string(body) != string(payload)) {
		err = errors.New("not the expected request")
	}
	d.mu.Lock()
	d.received = append(d.received, pushRequest{requestURI: r.RequestURI, headers: h, verifyErr: err})
	status := d.statuses[min(len(d.received), len(d.statuses))-1]
	d.mu.Unlock()
	if err != nil {
		d.t.Errorf("device rejected the push: %v", err)
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
}

func (d *device) requests() []pushRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]pushRequest(nil), d.received...)
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.ServerKey == nil {
		_, cfg.ServerKey = newKey(t)
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Millisecond
	}
	cfg.Clock = fixedClock{clockNow}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// development is the Policy of a server on loopback: the test devices
// listen there too.
var development = Policy{AllowLoopback: true}

// tlsDevice starts an https device on loopback and a client that trusts it
// (and may reach loopback).
func tlsDevice(t *testing.T, cfg Config, statuses ...int) (*device, *httptest.Server, *Client) {
	t.Helper()
	cfg.Policy = development
	pub, priv := newKey(t)
	d := &device{t: t, pub: pub, statuses: statuses}
	srv := httptest.NewTLSServer(d)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg.ServerKey, cfg.RootCAs = priv, pool
	return d, srv, newClient(t, cfg)
}

func TestSendSignsThePushOverHTTPS(t *testing.T) {
	d, srv, c := tlsDevice(t, Config{}, http.StatusNoContent)
	const path = "/push/dev%201/notify?token=a%2Fb&x=1"
	if err := c.Send(context.Background(), srv.URL+path, payload); err != nil {
		t.Fatalf("Send = %v", err)
	}
	got := d.requests()
	if len(got) != 1 {
		t.Fatalf("device got %d requests, want 1", len(got))
	}
	if got[0].requestURI != path {
		t.Fatalf("request URI %q, want %q", got[0].requestURI, path)
	}
	if got[0].headers.Timestamp != "1764000000" {
		t.Fatalf("timestamp %q, want the injected clock's", got[0].headers.Timestamp)
	}
}

func TestSendOverHTTPToLoopback(t *testing.T) {
	pub, priv := newKey(t)
	d := &device{t: t, pub: pub, statuses: []int{http.StatusOK}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	c := newClient(t, Config{ServerKey: priv, Policy: development})
	if err := c.Send(context.Background(), srv.URL+"/push", payload); err != nil {
		t.Fatalf("Send(127.0.0.1) = %v", err)
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	if err := c.Send(context.Background(), "http://localhost"+port+"/push", payload); err != nil {
		t.Fatalf("Send(localhost) = %v", err)
	}
	if n := len(d.requests()); n != 2 {
		t.Fatalf("device got %d requests, want 2", n)
	}
}

func TestSendRetriesServerErrorsWithFreshNonces(t *testing.T) {
	for _, first := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		d, srv, c := tlsDevice(t, Config{Attempts: 3}, first, http.StatusOK)
		if err := c.Send(context.Background(), srv.URL+"/push", payload); err != nil {
			t.Fatalf("%d then 200: Send = %v", first, err)
		}
		got := d.requests()
		if len(got) != 2 {
			t.Fatalf("%d then 200: %d requests, want 2", first, len(got))
		}
		if got[0].headers.Nonce == got[1].headers.Nonce {
			t.Fatalf("%d then 200: both attempts used one nonce", first)
		}
	}
}

func TestSendGivesUpAfterAttempts(t *testing.T) {
	d, srv, c := tlsDevice(t, Config{Attempts: 3}, http.StatusInternalServerError)
	err := c.Send(context.Background(), srv.URL+"/push?token=device-secret", payload)
	if !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Send = %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), "device-secret") {
		t.Fatalf("error %q repeats the push URL", err)
	}
	if n := len(d.requests()); n != 3 {
		t.Fatalf("device got %d requests, want 3", n)
	}
}

func TestSendDoesNotRetryClientErrors(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone} {
		d, srv, c := tlsDevice(t, Config{Attempts: 3}, status)
		if err := c.Send(context.Background(), srv.URL+"/push", payload); !core.IsCode(err, core.EUnavailable) {
			t.Fatalf("%d: Send = %v, want unavailable", status, err)
		}
		if n := len(d.requests()); n != 1 {
			t.Fatalf("%d: device got %d requests, want 1", status, n)
		}
	}
}

func TestSendRetriesTransportErrors(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close() // now nothing listens there: every dial is refused
	c := newClient(t, Config{Attempts: 3, Policy: development})
	var dials atomic.Int32
	guard := c.dialer.Control
	c.dialer.Control = func(network, address string, rc syscall.RawConn) error {
		dials.Add(1)
		return guard(network, address, rc)
	}
	err = c.Send(context.Background(), "http://"+closed+"/push?token=device-secret", payload)
	if !core.IsCode(err, core.EUnavailable) || strings.Contains(err.Error(), "device-secret") {
		t.Fatalf("Send = %v, want unavailable without the URL", err)
	}
	if n := dials.Load(); n != 3 {
		t.Fatalf("%d dials, want 3", n)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
	}))
	t.Cleanup(target.Close)
	var redirects atomic.Int32
	redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	pool := x509.NewCertPool()
	pool.AddCert(redirector.Certificate())
	pool.AddCert(target.Certificate())
	c := newClient(t, Config{RootCAs: pool, Attempts: 3, Policy: development})

	if err := c.Send(context.Background(), redirector.URL+"/push", payload); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Send = %v, want unavailable", err)
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("the redirect target was hit %d times", n)
	}
	if n := redirects.Load(); n != 1 {
		t.Fatalf("the redirecting device was tried %d times, want 1", n)
	}
}

func TestSendGivesUpOnAHangingDeviceWithinTheBudget(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	// Three attempts that each had the whole budget would take 3 s: the
	// bound below tells one budget from three with a second to spare.
	const budget = time.Second
	c := newClient(t, Config{RootCAs: pool, Timeout: budget, Attempts: 3, Policy: development})

	start := time.Now()
	err := c.Send(context.Background(), srv.URL+"/push", payload)
	elapsed := time.Since(start)
	if !core.IsCode(err, core.EUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want unavailable after the deadline", err)
	}
	if elapsed < budget || elapsed > 2*budget {
		t.Fatalf("Send took %v, want about %v", elapsed, budget)
	}
}

func TestSendHonoursTheCallersContext(t *testing.T) {
	_, srv, c := tlsDevice(t, Config{}, http.StatusOK)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(ctx, srv.URL+"/push", payload); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send(cancelled) = %v", err)
	}
}

func TestSendReadsAtMost64KiBOfTheAnswer(t *testing.T) {
	const offered = 256 << 20
	written := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 32<<10)
		var n int64
		for n < offered {
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				break
			}
		}
		written <- n
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, Config{Policy: development})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := c.Send(context.Background(), srv.URL+"/push", payload); err != nil {
		t.Fatalf("Send = %v", err)
	}
	runtime.ReadMemStats(&after)
	select {
	case n := <-written:
		if n >= offered {
			t.Fatalf("the client read the whole %d-byte answer", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the device kept writing: the connection was not closed")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("Send allocated %d bytes for a huge answer", grew)
	}
}

func TestSendRejectsInvalidURLsWithoutDialing(t *testing.T) {
	c := newClient(t, Config{})
	c.dialer.Control = func(string, string, syscall.RawConn) error {
		t.Error("dialed")
		return errors.New("no dialing in this test")
	}
	for _, u := range []string{"http://push.example.com/p", "https://10.0.0.1/p", "https://u:p@push.example.com/",
		"https://127.0.0.1:9000/push", "http://localhost:8080/push"} {
		if err := c.Send(context.Background(), u, payload); !core.IsCode(err, core.EInvalidPushURL) {
			t.Errorf("Send(%q) = %v, want invalid_push_url", u, err)
		}
	}
}

// TestDialRefusesPrivateAddressesBeforeConnecting goes below Send (which
// would already reject these IP literals) to the transport, as a push URL
// whose name resolves to such an address would. A safety net around the
// guard makes sure no connect(2) — so no packet — can happen even if the
// guard were broken: this machine must not send to non-loopback addresses.
func TestDialRefusesPrivateAddressesBeforeConnecting(t *testing.T) {
	for _, target := range []string{"https://10.255.255.1/push", "http://169.254.169.254/latest/meta-data", "https://[fd00::1]/push"} {
		c := newClient(t, Config{Attempts: 3})
		guard := c.dialer.Control
		var calls, passed atomic.Int32
		c.dialer.Control = func(network, address string, rc syscall.RawConn) error {
			calls.Add(1)
			if err := guard(network, address, rc); err != nil {
				return err
			}
			passed.Add(1)
			return errors.New("test safety net: the guard let a private address through")
		}
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		if !errors.Is(err, errRefusedAddress) {
			t.Fatalf("%s: Do = %v, want the address refused", target, err)
		}
		if calls.Load() != 1 || passed.Load() != 0 {
			t.Fatalf("%s: guard called %d times, let %d through", target, calls.Load(), passed.Load())
		}
		if retry := IsRetryable(context.Background(), err); retry {
			t.Fatalf("%s: a refused address would be retried", target)
		}
	}
}

func TestSendDoesNotTrustUnknownCertificates(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	c := newClient(t, Config{Attempts: 3, Policy: development}) // system roots only
	var dials atomic.Int32
	guard := c.dialer.Control
	c.dialer.Control = func(network, address string, rc syscall.RawConn) error {
		dials.Add(1)
		return guard(network, address, rc)
	}
	if err := c.Send(context.Background(), srv.URL+"/push", payload); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Send = %v, want unavailable", err)
	}
	if hits.Load() != 0 || dials.Load() != 1 {
		t.Fatalf("handler hits %d, dials %d; want 0 and 1 (no retry)", hits.Load(), dials.Load())
	}
}

func TestNewRejectsAMalformedKey(t *testing.T) {
	for _, n := range []int{0, 32, 63} {
		if _, err := New(Config{ServerKey: make([]byte, n)}); err == nil {
			t.Errorf("New(%d-byte key) accepted", n)
		}
	}
}

// A proxy would connect on the client's behalf, past the dial guard, so the
// environment's HTTPS_PROXY must not apply.
func TestClientUsesNoProxy(t *testing.T) {
	c := newClient(t, Config{})
	if tr, ok := c.http.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Fatal("the push transport may use a proxy")
	}
}
