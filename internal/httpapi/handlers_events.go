package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
)

// EventsShown is how many security events GET /api/v1/me/events returns.
const EventsShown = 50

func handleEvents(events core.SecurityEventStore) fiber.Handler {
	type event struct {
		Kind      string    `json:"kind"`
		Detail    string    `json:"detail,omitempty"`
		IP        string    `json:"ip,omitempty"`
		UserAgent string    `json:"user_agent,omitempty"`
		Time      time.Time `json:"time"`
	}
	return func(c *fiber.Ctx) error {
		list, err := events.EventsByUser(c.UserContext(), claimsOf(c).UserID, EventsShown)
		if err != nil {
			return err
		}
		out := make([]event, len(list))
		for i, e := range list {
			out[i] = event{e.Kind, e.Detail, e.IP, e.UserAgent, e.CreatedAt.UTC()}
		}
		return c.JSON(fiber.Map{"events": out})
	}
}
