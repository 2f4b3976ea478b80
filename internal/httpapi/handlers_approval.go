package httpapi

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// approvalLogin is the second factor of a login: it starts an approval,
// answers 202, and pushes to the devices after the answer.
type approvalLogin struct {
	approvals *approval.Service
	log       *slog.Logger
}

type loginStarted struct {
	ApprovalID   string    `json:"approval_id"`
	Ticket       string    `json:"ticket"`
	Channel      string    `json:"channel"`
	MatchNumber  int       `json:"match_number,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	WebsocketURL string    `json:"websocket_url"`
}

// PushBudget bounds the background delivery of one login's pushes.
const PushBudget = 15 * time.Second

func (l approvalLogin) StartLogin(c *fiber.Ctx, u *core.User) error {
	// Copies: the approval outlives this request in the push goroutine.
	ip, ua := strings.Clone(c.IP()), strings.Clone(c.Get(fiber.HeaderUserAgent))
	st, err := l.approvals.Start(c.UserContext(), u, ip, ua)
	if err != nil {
		return err
	}
	a := st.Approval
	if err := c.Status(fiber.StatusAccepted).JSON(loginStarted{
		ApprovalID: a.ID, Ticket: st.Ticket, Channel: string(a.Channel), MatchNumber: a.MatchNumber,
		ExpiresAt: a.ExpiresAt.UTC(), WebsocketURL: "/api/v1/approvals/" + a.ID + "/ws",
	}); err != nil {
		return err
	}
	if len(st.Devices) > 0 {
		ctx := context.WithValue(context.Background(), requestIDKey, RequestID(c.UserContext()))
		go func() {
			ctx, cancel := context.WithTimeout(ctx, PushBudget)
			defer cancel()
			l.approvals.Deliver(ctx, st)
		}()
	}
	return nil
}

// withTicket loads the approval named by :id that the X-Approval-Ticket opens.
func withTicket(approvals *approval.Service, c *fiber.Ctx) (*core.Approval, error) {
	return approvals.ByTicket(c.UserContext(), c.Params("id"), c.Get("X-Approval-Ticket"))
}

type approvalView struct {
	Status      string    `json:"status"`
	Channel     string    `json:"channel"`
	ExpiresAt   time.Time `json:"expires_at"`
	MatchNumber int       `json:"match_number,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}

func viewOf(a *core.Approval) approvalView {
	v := approvalView{Status: string(a.Status), Channel: string(a.Channel), ExpiresAt: a.ExpiresAt.UTC(),
		MatchNumber: a.MatchNumber, Reason: a.Reason}
	if v.Reason == "" && a.TimeoutAnnouncedAt != nil && a.Status == core.ApprovalPending {
		v.Reason = core.ReasonPushTimeout
	}
	return v
}

func handleGetApproval(approvals *approval.Service, clock core.Clock) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := withTicket(approvals, c)
		if err != nil {
			return err
		}
		if a.Status == core.ApprovalPending && !clock.Now().Before(a.ExpiresAt) {
			a.Status = core.ApprovalExpired // the sweeper will record it; do not show it as pending
		}
		return c.JSON(viewOf(a))
	}
}

func handleRequestSMS(approvals *approval.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := withTicket(approvals, c)
		if err != nil {
			return err
		}
		if err := approvals.RequestSMS(c.UserContext(), a); err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "sent"})
	}
}

func handleVerifyApproval(approvals *approval.Service) fiber.Handler {
	type request struct {
		Code string `json:"code"`
	}
	return func(c *fiber.Ctx) error {
		a, err := withTicket(approvals, c)
		if err != nil {
			return err
		}
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := approvals.VerifyCode(c.UserContext(), a, strings.TrimSpace(req.Code)); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": core.ApprovalApproved})
	}
}

func handleExchange(approvals *approval.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := withTicket(approvals, c)
		if err != nil {
			return err
		}
		pair, err := approvals.Exchange(c.UserContext(), a)
		if err != nil {
			return err
		}
		return c.JSON(pair)
	}
}
