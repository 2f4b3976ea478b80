// Package web holds the browser pages approvald serves, embedded in the binary.
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
func Handler() fiber.Handler {
	return filesystem.New(filesystem.Config{
		Root:       http.FS(static),
		PathPrefix: "static",
		Index:      "index.html",
	})
}
