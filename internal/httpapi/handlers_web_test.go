package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestWebCookieFor(t *testing.T) {
	for _, tc := range []struct {
		publicURL, name string
		secure          bool
	}{
		{"https://login.example.com", "__Host-approvald_refresh", true},
		{"https://login.example.com/auth", "__Host-approvald_refresh", true},
		{"http://127.0.0.1:8080", "approvald_refresh", false},
		{"http://localhost:8080", "approvald_refresh", false},
		{"http://[::1]:8080", "approvald_refresh", false},
		{"http://127.9.9.9", "approvald_refresh", false},
		// Plain http elsewhere keeps Secure: the browser refuses the cookie
		// rather than sending a refresh token in clear text.
		{"http://login.example.com", "approvald_refresh", true},
		{"http://10.0.0.5:8080", "approvald_refresh", true},
	} {
		got := webCookieFor(tc.publicURL)
		if got.name != tc.name || got.secure != tc.secure {
			t.Errorf("webCookieFor(%q) = %+v, want %s secure=%v", tc.publicURL, got, tc.name, tc.secure)
		}
	}
}

func TestWebGuard(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(nil)})
	app.Post("/web/x", webGuard("https://login.example.com", []string{"https://app.example.com"}),
		func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"same origin", map[string]string{WebHeader: "1", "Origin": "https://login.example.com", "Sec-Fetch-Site": "same-origin"}, 204},
		{"no browser headers", map[string]string{WebHeader: "1"}, 204},
		{"allowed origin", map[string]string{WebHeader: "1", "Origin": "https://app.example.com"}, 204},
		{"without the header", map[string]string{"Origin": "https://login.example.com"}, 403},
		{"cross-site", map[string]string{WebHeader: "1", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site, other origin", map[string]string{WebHeader: "1", "Sec-Fetch-Site": "same-site"}, 403},
		{"foreign origin", map[string]string{WebHeader: "1", "Origin": "https://evil.example"}, 403},
	} {
		req := httptest.NewRequest(http.MethodPost, "/web/x", nil)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, res.StatusCode, tc.want)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, res.Header.Get("Cache-Control"))
		}
	}
}

func TestEnrollURI(t *testing.T) {
	u, err := url.Parse(EnrollURI("https://login.example.com/auth", "abc-_123"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "approvald" || u.Host != "enroll" || u.Query().Get("server") != "https://login.example.com/auth" ||
		u.Query().Get("code") != "abc-_123" {
		t.Fatalf("EnrollURI = %s", u)
	}
}
