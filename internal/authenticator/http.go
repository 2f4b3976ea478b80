package authenticator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// DefaultTimeout bounds every call to the server, retries of the transport
// included, when the caller's context sets no earlier deadline.
const DefaultTimeout = 10 * time.Second

// maxResponseBody bounds how much of a success answer is read; a pending
// list is a few KiB.
const maxResponseBody = 1 << 20

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// newRequest builds a request to the server's base URL + path; the body is
// sent as JSON when not nil.
func newRequest(ctx context.Context, method, server, path string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, server+path, r)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "approvald-authenticator/1")
	return req, nil
}

// do sends req and decodes a 2xx JSON answer into out (unless nil). A
// non-2xx answer is an *APIError; no answer at all is unavailable.
func do(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return core.Unavailable("the approvald server", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(out); err != nil {
		return fmt.Errorf("reading the server's answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
