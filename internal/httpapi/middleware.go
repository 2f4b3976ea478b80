package httpapi

import (
	"context"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/clientip"
	"github.com/approvald/approvald/internal/core"
)

type ctxKey int

const requestIDKey ctxKey = iota

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestContext gives every request an id (the caller's X-Request-Id
// when it is sane), its client (core.Client: the address resolved once here,
// for limits, audit and logs alike) and a context that ends with the
// request's time budget.
func withRequestContext(budget time.Duration, ips *clientip.Resolver) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = core.NewSecret(9)
		} else {
			id = strings.Clone(id)
		}
		c.Set("X-Request-Id", id)
		ctx := context.WithValue(context.Background(), requestIDKey, id)
		// Copies: the context may outlive the request (push goroutines).
		ctx = core.WithClient(ctx, core.Client{IP: clientAddr(c, ips), UserAgent: strings.Clone(c.Get(fiber.HeaderUserAgent))})
		ctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// clientAddr is the client's address as text, a fresh string; "" only when
// the connection has no IP address.
func clientAddr(c *fiber.Ctx, ips *clientip.Resolver) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	var forwardedFor []string
	if ips.Trusts(peer) { // the header is read from trusted proxies only
		for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
			forwardedFor = append(forwardedFor, string(v))
		}
	}
	a := ips.Client(peer, forwardedFor)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// RequestID returns the request id carried by ctx, for log lines.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ContextHandler adds the request id of the context to every log record.
type ContextHandler struct{ slog.Handler }

func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ContextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(as)}
}

func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

// accessLog writes one line per request. It logs the path only, never the
// query string, which may carry a websocket ticket.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler write the response now so the status is right.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		log.InfoContext(c.UserContext(), "http",
			"method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
			"ms", float64(time.Since(start).Microseconds())/1000, "ip", core.ClientFrom(c.UserContext()).IP)
		return nil
	}
}

// securityHeaders are sent on every response.
func securityHeaders(https bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("Referrer-Policy", "no-referrer")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
		if https {
			c.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if strings.HasPrefix(c.Path(), "/api/") {
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
		return c.Next()
	}
}
