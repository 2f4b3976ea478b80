// Package web holds the browser pages approvald serves, embedded in the
// binary: plain HTML, CSS and JavaScript modules under static/, with no build
// step and nothing loaded from elsewhere (the server's CSP allows only 'self').
package web

import (
	"embed"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

//go:embed static
var static embed.FS

// Handler serves the pages; unknown paths fall through to the API's 404.
// Browsers revalidate every file (no-cache), since the names carry no
// version and a new release must not mix with cached scripts.
func Handler() fiber.Handler {
	files := filesystem.New(filesystem.Config{
		Root:       http.FS(static),
		PathPrefix: "static",
		Index:      "index.html",
	})
	return func(c *fiber.Ctx) error {
		m := c.Method()
		if m != fiber.MethodGet && m != fiber.MethodHead {
			return files(c)
		}
		// The web authenticator's page refers to its files relatively, so
		// it must be addressed as a folder (a relative Location keeps
		// PUBLIC_URL's path prefix and the ?code= of an enroll link).
		if c.Path() == "/authenticator" {
			target := "authenticator/"
			if q := string(c.Request().URI().QueryString()); q != "" {
				target += "?" + q
			}
			return c.Redirect(target, fiber.StatusMovedPermanently)
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		if err := files(c); err != nil {
			return err
		}
		if strings.HasSuffix(c.Path(), ".webmanifest") && c.Response().StatusCode() == fiber.StatusOK {
			c.Set(fiber.HeaderContentType, "application/manifest+json")
		}
		return nil
	}
}
