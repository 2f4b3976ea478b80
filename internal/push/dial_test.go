package push

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/approvald/approvald/internal/core"
)

// loopbackDNS is a resolver whose DNS answers every A query with
// 127.0.0.1 (and nothing else), as an attacker's own domain may: such a
// push_url passes validation, which does not resolve names, so only the
// dialer stands between it and the server's loopback.
func loopbackDNS() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe() // not a PacketConn: the resolver speaks DNS over TCP framing
		go answerDNS(server)
		return client, nil
	}}
}

func answerDNS(c net.Conn) {
	defer c.Close()
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return
	}
	query := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, query); err != nil {
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return
	}
	q, err := p.Question()
	if err != nil {
		return
	}
	b := dnsmessage.NewBuilder(make([]byte, 2, 512), dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	if q.Type == dnsmessage.TypeA {
		_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	}
	msg, err := b.Finish()
	if err != nil {
		return
	}
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	_, _ = c.Write(msg)
}

// TestSendRefusesANameThatResolvesToLoopback: https://example.com:PORT
// passes validation under every Policy, its name resolves to 127.0.0.1
// where a device listens (with a certificate for example.com); only a
// server on loopback itself, or PUSH_ALLOW_PRIVATE, may connect there.
func TestSendRefusesANameThatResolvesToLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	pushURL := "https://example.com:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:] + "/push"

	for _, c := range loopbackPolicies {
		t.Run(c.name, func(t *testing.T) {
			if err := c.policy.ValidatePushURL(pushURL); err != nil {
				t.Fatalf("ValidatePushURL = %v: the name must pass validation", err)
			}
			client := newClient(t, Config{RootCAs: pool, Attempts: 3, Policy: c.policy})
			client.dialer.Resolver = loopbackDNS()
			var dials atomic.Int32
			guard := client.dialer.Control
			client.dialer.Control = func(network, address string, rc syscall.RawConn) error {
				dials.Add(1)
				if !strings.HasPrefix(address, "127.0.0.1:") {
					return errors.New("test: the name did not resolve through the test's DNS")
				}
				return guard(network, address, rc)
			}
			before := hits.Load()
			err := client.Send(context.Background(), pushURL, payload)
			if c.ok {
				if err != nil || hits.Load() != before+1 {
					t.Fatalf("Send = %v, device hit %d times; want delivered once", err, hits.Load()-before)
				}
				return
			}
			if !core.IsCode(err, core.EUnavailable) || !errors.Is(err, errRefusedAddress) {
				t.Fatalf("Send = %v, want the address refused", err)
			}
			if hits.Load() != before || dials.Load() != 1 {
				t.Fatalf("device hit %d times after %d dials; want none after one (no retry)", hits.Load()-before, dials.Load())
			}
		})
	}
}

// TestDialRefusesLocalhostOutsideDevelopment goes below Send (whose
// validation refuses the name localhost already) to the transport: the
// name resolves to loopback, which the dialer refuses unless the Policy
// allows it.
func TestDialRefusesLocalhostOutsideDevelopment(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	target := "http://localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:] + "/actuator/shutdown"
	for _, c := range loopbackPolicies {
		t.Run(c.name, func(t *testing.T) {
			client := newClient(t, Config{Policy: c.policy})
			before := hits.Load()
			req, err := http.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.http.Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			if c.ok {
				if err != nil || hits.Load() != before+1 {
					t.Fatalf("Do = %v, server hit %d times; want once", err, hits.Load()-before)
				}
				return
			}
			if !errors.Is(err, errRefusedAddress) || hits.Load() != before {
				t.Fatalf("Do = %v, server hit %d times; want the address refused", err, hits.Load()-before)
			}
		})
	}
}

// loopbackPolicies are the three ways a server may be set up, and whether
// each lets a push reach loopback.
var loopbackPolicies = []struct {
	name   string
	policy Policy
	ok     bool
}{
	{"production", Policy{}, false},
	{"development", Policy{AllowLoopback: true}, true},
	{"allow private", Policy{AllowPrivate: true}, true},
}
