package httpapi

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/core"
)

// EventsShown is how many security events GET /api/v1/me/events returns.
const EventsShown = 50

func handleEvents(events core.SecurityEventStore, loc *clientcontext.Locator) fiber.Handler {
	type event struct {
		Kind      string                 `json:"kind"`
		Detail    string                 `json:"detail,omitempty"`
		IP        string                 `json:"ip,omitempty"`
		UserAgent string                 `json:"user_agent,omitempty"`
		Context   *clientcontext.Context `json:"context,omitempty"`
		Time      time.Time              `json:"time"`
	}
	return func(c *fiber.Ctx) error {
		list, err := events.EventsByUser(c.UserContext(), claimsOf(c).UserID, EventsShown)
		if err != nil {
			return err
		}
		out := make([]event, len(list))
		for i, e := range list {
			out[i] = event{e.Kind, e.Detail, e.IP, e.UserAgent, eventContext(loc, e), e.CreatedAt.UTC()}
		}
		return c.JSON(fiber.Map{"events": out})
	}
}

// eventContext is the context of the client that caused e, read from its
// IP and user agent when it is shown (so a newer GEOIP_DB names places
// anew), with the application a login's entry names in its detail.
func eventContext(loc *clientcontext.Locator, e *core.SecurityEvent) *clientcontext.Context {
	if e.IP == "" && e.UserAgent == "" {
		return nil
	}
	return clientcontext.Of(loc, e.IP, e.UserAgent, eventApp(e))
}

// appSuffix ends the detail of the entries a login to another application
// writes (approval.forApp).
const appSuffix = ", sign in to "

// eventApp is the application a login's entry names, "" for the others.
func eventApp(e *core.SecurityEvent) string {
	switch e.Kind {
	case core.EventLoginStarted, core.EventPushSent, core.EventPushFailed, core.EventRateLimited:
		if i := strings.LastIndex(e.Detail, appSuffix); i >= 0 {
			return e.Detail[i+len(appSuffix):]
		}
	}
	return ""
}
