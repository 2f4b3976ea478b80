package httpapi

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// passwordLogin is a login as both login endpoints (the API's and the
// pages') run it: the password, then a token pair for a user with
// two-factor off, or a started approval whose pushes go out in the
// background, so the answer never waits for a device.
type passwordLogin struct {
	accounts  *account.Service
	tokens    *session.Service
	approvals *approval.Service
	// authRequests names the application of an OpenID Connect
	// authorization request; nil when this server is no OpenID provider.
	authRequests AppNamer
	clock        core.Clock
}

// AppNamer resolves the id of an OpenID Connect authorization request in
// progress to the name of the application (the client) it signs in to.
// The OpenID provider implements it.
type AppNamer interface {
	// AppName returns the client's name; an id that is unknown or expired
	// is a core.Error of code EInvalidRequest, which the login answers as
	// it is.
	AppName(ctx context.Context, authRequestID string) (string, error)
}

// MaxAuthRequestID bounds the auth_request a login may carry (characters).
const MaxAuthRequestID = 128

// loginStarted is the 202 answer of a login that needs a second factor.
type loginStarted struct {
	ApprovalID   string    `json:"approval_id"`
	Ticket       string    `json:"ticket"`
	Channel      string    `json:"channel"`
	MatchNumber  int       `json:"match_number,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	WebsocketURL string    `json:"websocket_url"`
	// App names the application signed in to ("Sign in to Grafana") when
	// the login carried an auth_request.
	App string `json:"app,omitempty"`
	// Devices names the devices asked (the pages' "Approve on Ada's
	// phone"); the API's answer leaves it out, and so does a passwordless
	// login's, which must not tell who has devices.
	Devices []string `json:"devices,omitempty"`
	// Passwordless is true on the answer of a login without a password:
	// the same for everyone, whether anybody was asked or not.
	Passwordless bool `json:"passwordless,omitempty"`
}

// PushBudget bounds the background delivery of one login's pushes.
const PushBudget = 15 * time.Second

// login reads the request and runs the login: exactly one of pair and
// started is set on success.
func (p passwordLogin) login(c *fiber.Ctx) (pair *session.TokenPair, started *loginStarted, err error) {
	var req struct {
		Phone       string `json:"phone"`
		CountryCode string `json:"country_code"`
		Email       string `json:"email"`
		Password    string `json:"password"`
		AuthRequest string `json:"auth_request"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return nil, nil, err
	}
	// The application comes first: a login for a request that cannot go
	// on costs no password check and counts no attempt.
	app, err := p.appName(c.UserContext(), req.AuthRequest)
	if err != nil {
		return nil, nil, err
	}
	in := account.LoginInput{Phone: req.Phone, CountryCode: req.CountryCode, Email: req.Email, Password: req.Password}
	if req.Password == "" {
		started, err := p.passwordless(c, in, app)
		return nil, started, err
	}
	u, err := p.accounts.CheckPassword(c.UserContext(), in)
	if err != nil {
		return nil, nil, err
	}
	if !u.TwoFactor {
		pair, err := p.tokens.Issue(c.UserContext(), u.ID, []string{"pwd"}, p.clock.Now())
		return pair, nil, err
	}
	// The push shows where the login came from: the resolved address
	// (the context's copies outlive the request, as the push goroutine does).
	cl := core.ClientFrom(c.UserContext())
	st, err := p.approvals.Start(c.UserContext(), u, approval.StartInput{IP: cl.IP, UserAgent: cl.UserAgent, AppName: app})
	if err != nil {
		return nil, nil, err
	}
	a := st.Approval
	started = &loginStarted{
		ApprovalID: a.ID, Ticket: st.Ticket, Channel: string(a.Channel), MatchNumber: a.MatchNumber,
		ExpiresAt: a.ExpiresAt.UTC(), WebsocketURL: "/api/v1/approvals/" + a.ID + "/ws", App: a.AppName,
	}
	if len(st.Devices) > 0 {
		ctx := context.WithValue(context.Background(), requestIDKey, RequestID(c.UserContext()))
		go func() {
			ctx, cancel := context.WithTimeout(ctx, PushBudget)
			defer cancel()
			p.approvals.Deliver(ctx, st)
		}()
		for _, d := range st.Devices {
			started.Devices = append(started.Devices, d.Name)
		}
	}
	return nil, started, nil
}

// passwordless starts a login without a password (issue 13): the same 202
// for everyone, an approval on the user's passwordless channel when they
// have it on, else a placeholder of the same shape that simply expires.
func (p passwordLogin) passwordless(c *fiber.Ctx, in account.LoginInput, app string) (*loginStarted, error) {
	t, err := p.accounts.Passwordless(c.UserContext(), in)
	if err != nil {
		return nil, err
	}
	cl := core.ClientFrom(c.UserContext())
	st, err := p.approvals.StartPasswordless(c.UserContext(), t.User, t.Mode, approval.StartInput{IP: cl.IP, UserAgent: cl.UserAgent, AppName: app, Identifier: t.Key})
	if err != nil {
		return nil, err
	}
	a := st.Approval
	started := &loginStarted{
		ApprovalID: a.ID, Ticket: st.Ticket, Channel: string(a.Channel), MatchNumber: a.MatchNumber,
		ExpiresAt: a.ExpiresAt.UTC(), WebsocketURL: "/api/v1/approvals/" + a.ID + "/ws", App: a.AppName,
		Passwordless: true,
	}
	if st.Undelivered() {
		ctx := context.WithValue(context.Background(), requestIDKey, RequestID(c.UserContext()))
		go func() {
			ctx, cancel := context.WithTimeout(ctx, PushBudget)
			defer cancel()
			p.approvals.Deliver(ctx, st)
		}()
	}
	return started, nil
}

// appName is the name of the application that the authorization request
// id signs in to, "" when the login carries none.
func (p passwordLogin) appName(ctx context.Context, id string) (string, error) {
	switch {
	case id == "":
		return "", nil
	case utf8.RuneCountInString(id) > MaxAuthRequestID:
		return "", core.FieldError(core.EInvalidRequest, "auth_request", fmt.Sprintf("auth_request must be at most %d characters", MaxAuthRequestID))
	case p.authRequests == nil:
		return "", core.FieldError(core.EInvalidRequest, "auth_request", "this server is not an OpenID provider")
	}
	return p.authRequests.AppName(ctx, id)
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
	App         string    `json:"app,omitempty"`
}

func viewOf(a *core.Approval, now time.Time) approvalView {
	v := approval.ViewAt(a, now)
	return approvalView{Status: string(v.Status), Channel: string(v.Channel), ExpiresAt: v.ExpiresAt.UTC(),
		MatchNumber: v.MatchNumber, Reason: v.Reason, App: v.AppName}
}

func handleGetApproval(approvals *approval.Service, clock core.Clock) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := withTicket(approvals, c)
		if err != nil {
			return err
		}
		return c.JSON(viewOf(a, clock.Now()))
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
