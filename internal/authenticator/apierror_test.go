package authenticator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestAPIErrorReadsTheEnvelope(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "17")
	rec.WriteHeader(http.StatusTooManyRequests)
	rec.WriteString(`{"error":{"code":"rate_limited","message":"too many requests"},"attempts_left":2}`)
	e := apiError(rec.Result())
	if e.Status != 429 || !core.IsCode(e, core.ERateLimited) || e.Err.RetryAfter != 17*time.Second ||
		e.Err.AttemptsLeft == nil || *e.Err.AttemptsLeft != 2 {
		t.Fatalf("apiError = %+v / %+v", e, e.Err)
	}
	if got := e.Error(); got != "the server answered 429 rate_limited: too many requests" {
		t.Fatalf("Error() = %q", got)
	}
}

// A proxy's HTML error page still gives the caller the status.
func TestAPIErrorWithoutEnvelope(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.WriteHeader(http.StatusBadGateway)
	rec.WriteString("<html>bad gateway</html>")
	e := apiError(rec.Result())
	if e.Status != http.StatusBadGateway || e.Err.Code != "" {
		t.Fatalf("apiError = %+v / %+v", e, e.Err)
	}
	if !strings.Contains(e.Error(), "502 Bad Gateway") {
		t.Fatalf("Error() = %q", e.Error())
	}
}
