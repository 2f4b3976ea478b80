package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/metrics"
)

// handleMetrics serves Prometheus metrics on the main port to holders of
// the metrics token. Without a token (none configured, or the metrics live
// on METRICS_ADDR) the route answers as if it did not exist.
func handleMetrics(m *metrics.Metrics, token string) fiber.Handler {
	if m == nil || token == "" {
		return func(c *fiber.Ctx) error {
			return core.Errorf(core.ENotFound, "no such page")
		}
	}
	serve := m.FiberHandler()
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		if !metrics.Authorized(c.Get(fiber.HeaderAuthorization), token) {
			return core.Errorf(core.EUnauthorized, "the metrics token is required")
		}
		return serve(c)
	}
}
