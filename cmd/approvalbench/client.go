package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// newHTTPClient is an HTTP client with keep-alive connections from the
// bench's source addresses: at most conns at once (more requests queue in
// the client), all of them kept idle between requests.
func newHTTPClient(src *sourceAddrs, conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         src.DialContext,
			MaxConnsPerHost:     conns,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			// Below approvald's 10 s read timeout, which also ends idle
			// keep-alive connections (with an unsolicited 400).
			IdleConnTimeout:    5 * time.Second,
			DisableCompression: true,
		},
	}
}

// api calls approvald's JSON API at base.
type api struct {
	base string
	http *http.Client
}

// statusError is an answer with another status than the one expected.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s = %d %s", e.method, e.path, e.status, e.body)
}

// call sends body (nil: none) as JSON and decodes a want answer into out.
func (a *api) call(ctx context.Context, method, path string, header http.Header, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return &statusError{method, path, res.StatusCode, string(raw)}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func ticketHeader(ticket string) http.Header { return http.Header{"X-Approval-Ticket": {ticket}} }

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
