package authenticator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// APIError is a non-2xx answer of the server. It unwraps to a *core.Error
// with the server's code, so core.IsCode(err, core.EAlreadyDecided) works;
// a code this client does not know is still told apart by Status.
type APIError struct {
	Status int
	Err    *core.Error // Code is "" when the answer had no error body
}

func (e *APIError) Error() string {
	if e.Err.Code == "" {
		return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("the server answered %d %s: %s", e.Status, e.Err.Code, e.Err.Message)
}

func (e *APIError) Unwrap() error { return e.Err }

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// apiError reads the contract's error envelope from a non-2xx response.
func apiError(resp *http.Response) *APIError {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
		AttemptsLeft *int `json:"attempts_left"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = json.Unmarshal(b, &body)
	e := &core.Error{
		Code:         body.Error.Code,
		Message:      body.Error.Message,
		Field:        body.Error.Field,
		AttemptsLeft: body.AttemptsLeft,
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return &APIError{Status: resp.StatusCode, Err: e}
}
