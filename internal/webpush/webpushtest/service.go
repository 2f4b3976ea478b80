// Package webpushtest is a Web Push service for tests: it stores each
// message it receives, checks its headers and VAPID token (RFC 8292) and
// decrypts it (RFC 8291) with the private keys of the subscription it was
// sent to, as a browser would.
package webpushtest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/webpush"
)

// Subscription is what a browser's PushManager.subscribe gives, with the
// private halves the service decrypts with.
type Subscription struct {
	Endpoint string
	P256dh   string // base64url, as in the PushSubscription's keys
	Auth     string
	private  *ecdh.PrivateKey
	auth     []byte
}

// WebPush is the subscription as the server stores it.
func (s *Subscription) WebPush() core.WebPush {
	return core.WebPush{Endpoint: s.Endpoint, P256dh: s.private.PublicKey().Bytes(), Auth: s.auth}
}

// Claims are a VAPID token's.
type Claims struct {
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Sub string `json:"sub"`
}

// Message is one request the service received.
type Message struct {
	Endpoint  string
	Header    http.Header
	TTL       int
	Claims    Claims
	K         string // the Authorization's k: the VAPID public key
	BodySize  int    // bytes of the encrypted body
	Plaintext []byte
	Signed    webpush.Signed
	// Err is why the service refused it (nil when it answered Status).
	Err error
}

// Service is the test push service. Build it with New.
type Service struct {
	*httptest.Server
	// Now is the clock a token's exp is checked against.
	Now func() time.Time

	mu       sync.Mutex
	subs     map[string]*Subscription
	received []Message
	status   int
	arrived  chan struct{}
}

// New starts a push service on loopback over http; Close it when done
// (t.Cleanup does).
func New(tb testing.TB) *Service {
	s := &Service{Now: time.Now, subs: map[string]*Subscription{}, status: http.StatusCreated, arrived: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(s)
	tb.Cleanup(s.Close)
	return s
}

// Subscribe makes a subscription with fresh keys at a new endpoint.
func (s *Service) Subscribe(tb testing.TB) *Subscription {
	tb.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	auth := make([]byte, webpush.AuthSecretSize)
	_, _ = rand.Read(auth)
	sub := &Subscription{
		Endpoint: s.URL + "/push/" + core.NewSecret(16),
		P256dh:   base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
		private:  priv, auth: auth,
	}
	s.mu.Lock()
	s.subs[sub.Endpoint] = sub
	s.mu.Unlock()
	return sub
}

// SetStatus is the status of the next answers (201 at first) to messages
// that pass the checks.
func (s *Service) SetStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

// Messages are what the service received, in order.
func (s *Service) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

// Next waits up to timeout for the n-th message (counting from 1).
func (s *Service) Next(tb testing.TB, n int, timeout time.Duration) Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m[n-1]
		}
		select {
		case <-s.arrived:
		case <-deadline:
			tb.Fatalf("webpushtest: message %d did not arrive within %v", n, timeout)
		}
	}
}

var topicPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
	endpoint := s.URL + r.URL.Path
	m := Message{Endpoint: endpoint, Header: r.Header.Clone()}
	s.mu.Lock()
	sub := s.subs[endpoint]
	status := s.status
	s.mu.Unlock()
	m.Err = s.check(r, body, sub, &m)
	s.mu.Lock()
	s.received = append(s.received, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	if m.Err != nil {
		http.Error(w, m.Err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(status)
}

func (s *Service) check(r *http.Request, body []byte, sub *Subscription, m *Message) error {
	if sub == nil {
		return errors.New("no such subscription")
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		return errors.New("not a POST with Content-Encoding aes128gcm")
	}
	m.BodySize = len(body)
	if len(body) > 4096 {
		return fmt.Errorf("body of %d bytes, over 4096", len(body))
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return errors.New("no valid TTL")
	}
	m.TTL = ttl
	if u := r.Header.Get("Urgency"); u != "" && u != "very-low" && u != "low" && u != "normal" && u != "high" {
		return errors.New("bad Urgency")
	}
	if t := r.Header.Get("Topic"); t != "" && !topicPattern.MatchString(t) {
		return errors.New("bad Topic")
	}
	if err := s.checkVAPID(r.Header.Get("Authorization"), m); err != nil {
		return fmt.Errorf("vapid: %w", err)
	}
	plain, err := webpush.Decrypt(body, sub.private, sub.auth)
	if err != nil {
		return err
	}
	m.Plaintext = plain
	if err := json.Unmarshal(plain, &m.Signed); err != nil {
		return fmt.Errorf("plaintext is not the signed push JSON: %w", err)
	}
	return nil
}

// checkVAPID reads "vapid t=<jwt>, k=<key>" and checks the token: ES256,
// signed by k, aud this service's origin, exp in the future and within 24 h.
func (s *Service) checkVAPID(authz string, m *Message) error {
	rest, ok := strings.CutPrefix(authz, "vapid ")
	if !ok {
		return errors.New("no vapid Authorization")
	}
	var t string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "k":
			m.K = v
		}
	}
	kb, err := base64.RawURLEncoding.DecodeString(m.K)
	if err != nil {
		return errors.New("k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return fmt.Errorf("k is not a P-256 point: %w", err)
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return errors.New("t is not a JWS")
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header struct{ Alg, Typ string }
	if json.Unmarshal(hb, &header) != nil || header.Alg != "ES256" {
		return errors.New("header alg is not ES256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("signature is not 64 bytes")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("signature does not verify with k")
	}
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &m.Claims); err != nil {
		return errors.New("claims are not JSON")
	}
	if m.Claims.Aud != s.URL {
		return fmt.Errorf("aud %q, want %q", m.Claims.Aud, s.URL)
	}
	now := s.Now()
	if exp := time.Unix(m.Claims.Exp, 0); !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		return fmt.Errorf("exp %v not within 24 h of %v", exp, now)
	}
	if m.Claims.Sub != "" && !strings.HasPrefix(m.Claims.Sub, "mailto:") && !strings.HasPrefix(m.Claims.Sub, "https:") {
		return fmt.Errorf("sub %q is no contact URI", m.Claims.Sub)
	}
	return nil
}
