package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/web"
)

// addRoutes maps the whole API surface. Every route here is in openapi.json
// (openapi_test.go checks).
func addRoutes(app *fiber.App, cfg Config, d Deps) {
	bearer := requireBearer(d.Tokens)
	risky := recentAuth(d.Accounts, d.Tokens)
	signedPrefix := pathPrefixOf(cfg.PublicURL)

	app.Get("/healthz", handleHealthz())
	app.Get("/readyz", handleReadyz(d.Ready))
	app.Get("/.well-known/jwks.json", handleJWKS(d.JWKS))
	app.Get("/api/v1/openapi.json", handleOpenAPI(openAPIDoc))

	app.Post("/api/v1/signup", handleSignup(d.Accounts))
	app.Post("/api/v1/signup/verify", handleSignupVerify(d.Accounts))
	app.Post("/api/v1/signup/resend", handleSignupResend(d.Accounts))

	app.Post("/api/v1/login", handleLogin(d.Accounts, d.Tokens, approvalLogin{d.Approvals, d.Log}, d.Clock))
	app.Get("/api/v1/approvals/:id", handleGetApproval(d.Approvals, d.Clock))
	app.Get("/api/v1/approvals/:id/ws", wsGate(d.Approvals, cfg.AllowedOrigins),
		handleApprovalWS(d.Hub, d.Store, d.Clock, cfg.AllowedOrigins, d.Closing, d.Log))
	app.Post("/api/v1/approvals/:id/sms", handleRequestSMS(d.Approvals))
	app.Post("/api/v1/approvals/:id/verify", handleVerifyApproval(d.Approvals))
	app.Post("/api/v1/approvals/:id/session", handleExchange(d.Approvals))

	app.Post("/api/v1/token/refresh", handleRefresh(d.Tokens))
	app.Post("/api/v1/logout", bearer, handleLogout(d.Tokens))
	app.Post("/api/v1/logout/others", bearer, handleLogoutOthers(d.Tokens))
	app.Post("/api/v1/password", bearer, handleChangePassword(d.Accounts, d.Tokens))
	app.Get("/api/v1/me", bearer, handleGetMe(d.Accounts))
	app.Patch("/api/v1/me", bearer, handlePatchMe(d.Accounts, d.Tokens))

	app.Post("/api/v1/devices/enrollments", bearer, risky, handleStartEnrollment(d.Devices))
	app.Post("/api/v1/devices", handleRegisterDevice(d.Devices))
	app.Get("/api/v1/devices", bearer, handleListDevices(d.Devices))
	app.Delete("/api/v1/devices/:id", bearer, risky, handleDeleteDevice(d.Devices))
	app.Get("/api/v1/devices/:id/approvals", handlePullApprovals(d.Approvals, signedPrefix))
	app.Post("/api/v1/callbacks/approval", handleCallback(d.Approvals, signedPrefix))

	app.Use("/", web.Handler())
}
