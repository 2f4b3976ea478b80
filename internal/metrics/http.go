package metrics

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// Middleware times every request by its route pattern (e.g.
// /api/v1/approvals/:id), never the raw path, so ids and probes of unknown
// paths cannot blow up the number of series. It belongs first in the
// chain: the status it reads is final once the inner handlers returned.
func (m *Metrics) Middleware() fiber.Handler {
	if m == nil {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		// After Next, Route is the last route that handled the request;
		// fasthttp reuses its strings, hence the clones.
		route := strings.Clone(c.Route().Path)
		method := strings.Clone(c.Method())
		code := c.Response().StatusCode()
		if err != nil {
			// An error not yet turned into a response: the error handler
			// decides the status later; count it as what it most likely is.
			code = fiber.StatusInternalServerError
			if fe, ok := err.(*fiber.Error); ok {
				code = fe.Code
			}
		}
		m.httpDuration.WithLabelValues(method, route, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
		return err
	}
}

// Authorized reports whether an Authorization header carries the bearer
// token, in constant time.
func Authorized(header, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(header), []byte("Bearer "+token)) == 1
}

// FiberHandler serves the registry inside the Fiber app (the main port).
func (m *Metrics) FiberHandler() fiber.Handler {
	return adaptor.HTTPHandler(m.Handler())
}
