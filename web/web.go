// Package web holds the browser pages approvald serves, embedded in the
// binary: plain HTML, CSS and JavaScript modules under static/, with no build
// step and nothing loaded from elsewhere (the server's CSP allows only 'self').
package web

import (
	"embed"
	"net/http"

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
		if m := c.Method(); m == fiber.MethodGet || m == fiber.MethodHead {
			c.Set(fiber.HeaderCacheControl, "no-cache")
		}
		return files(c)
	}
}
