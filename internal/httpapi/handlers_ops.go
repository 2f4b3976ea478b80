package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
)

// Dependency is something /readyz checks.
type Dependency struct {
	Name string
	core.Pinger
}

func handleHealthz() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

func handleReadyz(deps []Dependency) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		for _, d := range deps {
			if err := d.Ping(ctx); err != nil {
				return core.Unavailable(d.Name, err)
			}
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}

func handleOpenAPI(doc []byte) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(doc)
	}
}
