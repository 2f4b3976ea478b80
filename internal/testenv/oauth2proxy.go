package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// OAuth2ProxyPath returns the oauth2-proxy binary named by
// TEST_OAUTH2_PROXY, which `make test` sets after building it (v7.15.6,
// the version in .ci/services). Without it the test is Missing.
func OAuth2ProxyPath(t TB) string {
	t.Helper()
	p := os.Getenv("TEST_OAUTH2_PROXY")
	if p == "" {
		Missing(t, "oauth2-proxy (TEST_OAUTH2_PROXY; `.ci/services oauth2-proxy` builds it)")
	}
	if err := executable(p); err != nil {
		Missing(t, fmt.Sprintf("oauth2-proxy (TEST_OAUTH2_PROXY: %v)", err))
	}
	return p
}

// StartOAuth2Proxy runs oauth2-proxy on a free loopback port with args, the
// test's flags (provider, client, upstream, email domain …), in which every
// {{PORT}} becomes that port (for --redirect-url, say). It waits until /ping
// answers 200, stops it in Cleanup (printing its log when the test failed)
// and returns its base URL, "http://127.0.0.1:PORT".
//
// Before args come --http-address, which is StartOAuth2Proxy's (args must
// not set it), and defaults that args may override: a random
// --cookie-secret, --cookie-secure=false (the test speaks plain HTTP) and
// --silence-ping-logging. OAUTH2_PROXY_* variables of the test's
// environment are not passed on.
func StartOAuth2Proxy(t TB, args ...string) string {
	t.Helper()
	return startOAuth2Proxy(t, 0, args)
}

// StartOAuth2ProxyOn is StartOAuth2Proxy on port, chosen by the test (with
// FreePort) because the OpenID provider must know the callback address
// before oauth2-proxy starts, and oauth2-proxy reads the provider's
// discovery document when it starts.
func StartOAuth2ProxyOn(t TB, port int, args ...string) string {
	t.Helper()
	return startOAuth2Proxy(t, port, args)
}

func startOAuth2Proxy(t TB, port int, args []string) string {
	t.Helper()
	for _, a := range args {
		if a == "--http-address" || strings.HasPrefix(a, "--http-address=") {
			t.Fatalf("StartOAuth2Proxy chooses --http-address itself")
		}
	}
	bin := OAuth2ProxyPath(t)
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OAUTH2_PROXY_") {
			env = append(env, kv)
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	addr := startOnPort(t, "oauth2-proxy", port, func(port int) *exec.Cmd {
		p := strconv.Itoa(port)
		full := []string{
			"--http-address=127.0.0.1:" + p,
			"--cookie-secret=" + hex.EncodeToString(secret), // 32 bytes: AES-256
			"--cookie-secure=false",
			"--silence-ping-logging",
		}
		for _, a := range args {
			full = append(full, strings.ReplaceAll(a, PortPlaceholder, p))
		}
		cmd := exec.Command(bin, full...)
		cmd.Env = env
		return cmd
	}, func(addr string) bool {
		resp, err := client.Get("http://" + addr + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return "http://" + addr
}
