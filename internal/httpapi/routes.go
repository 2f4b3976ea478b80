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
	app.Get("/metrics", handleMetrics(d.Metrics, cfg.MetricsToken))
	app.Get("/.well-known/jwks.json", handleJWKS(d.JWKS))
	app.Get("/api/v1/openapi.json", handleOpenAPI(openAPIDoc))

	app.Post("/api/v1/signup", handleSignup(d.Accounts))
	app.Post("/api/v1/signup/verify", handleSignupVerify(d.Accounts))
	app.Post("/api/v1/signup/resend", handleSignupResend(d.Accounts))

	login := passwordLogin{d.Accounts, d.Tokens, d.Approvals, d.AuthRequests, d.Clock}
	app.Post("/api/v1/login", handleLogin(login))
	app.Get("/api/v1/approvals/:id", handleGetApproval(d.Approvals, d.Clock))
	slots := newWSSlots(cfg.Websockets)
	slots.watch(app.Server())
	app.Get("/api/v1/approvals/:id/ws", wsGate(d.Approvals, slots, cfg.AllowedOrigins),
		handleApprovalWS(d.Hub, d.Store, slots, d.Clock, cfg.AllowedOrigins, d.Closing, d.Log, d.Metrics))
	app.Post("/api/v1/approvals/:id/sms", handleRequestSMS(d.Approvals))
	app.Post("/api/v1/approvals/:id/verify", handleVerifyApproval(d.Approvals))
	app.Post("/api/v1/approvals/:id/session", handleExchange(d.Approvals))

	app.Post("/api/v1/token/refresh", handleRefresh(d.Tokens))
	app.Post("/api/v1/logout", bearer, handleLogout(d.Tokens, d.Audit))
	app.Post("/api/v1/logout/others", bearer, handleLogoutOthers(d.Tokens, d.Audit))
	app.Post("/api/v1/password", bearer, handleChangePassword(d.Accounts, d.Tokens))
	app.Get("/api/v1/me", bearer, handleGetMe(d.Accounts))
	app.Patch("/api/v1/me", bearer, handlePatchMe(d.Accounts, d.Tokens))
	app.Get("/api/v1/me/events", bearer, handleEvents(d.Events, d.Locator))

	app.Post("/api/v1/devices/enrollments", bearer, risky, handleStartEnrollment(d.Devices))
	app.Post("/api/v1/devices", handleRegisterDevice(d.Devices))
	app.Get("/api/v1/devices", bearer, handleListDevices(d.Devices))
	app.Get("/api/v1/push/vapid", handleVAPIDKey(d.Devices))
	app.Delete("/api/v1/devices/:id", bearer, risky, handleDeleteDevice(d.Devices, d.Approvals))
	app.Post("/api/v1/passkeys/registration", bearer, risky, handleStartPasskeyRegistration(d.Passkeys))
	app.Post("/api/v1/passkeys", bearer, risky, handleAddPasskey(d.Passkeys))
	app.Get("/api/v1/passkeys", bearer, handleListPasskeys(d.Passkeys))
	app.Delete("/api/v1/passkeys/:id", bearer, risky, handleDeletePasskey(d.Passkeys))
	app.Post("/api/v1/login/passkey/options", handlePasskeyLoginOptions(d.Passkeys))
	app.Post("/api/v1/login/passkey", handlePasskeyLogin(d.Passkeys))

	app.Get("/api/v1/devices/:id/approvals", handlePullApprovals(d.Approvals, signedPrefix))
	app.Post("/api/v1/callbacks/approval", handleCallback(d.Approvals, signedPrefix))
	app.Post("/api/v1/devices/:id/ws-ticket", handleDeviceWSTicket(d.Approvals, signedPrefix))
	app.Put("/api/v1/devices/:id/web-push", handleSetWebPush(d.Approvals, d.Devices, signedPrefix))
	app.Delete("/api/v1/devices/:id/web-push", handleDeleteWebPush(d.Approvals, d.Devices, signedPrefix))
	devOrigins := deviceOrigins(cfg.PublicURL)
	app.Get("/api/v1/devices/:id/ws", deviceWSGate(d.Approvals, slots, devOrigins),
		handleDeviceWS(d.Hub, d.Approvals, slots, devOrigins, d.Closing, d.Log))

	// Browser-only endpoints of the pages in web/ (handlers_web.go): the
	// refresh token lives in an HttpOnly cookie; not part of the /api/v1 contract.
	webOnly, cookie := webGuard(cfg.PublicURL, cfg.AllowedOrigins), webCookieFor(cfg.PublicURL)
	cookie.sso = d.SSO
	app.Get("/web/config", webOnly, handleWebConfig(d.Accounts, d.Approvals, d.Passkeys))
	app.Post("/web/login", webOnly, handleWebLogin(login, cookie))
	app.Post("/web/login/passkey", webOnly, handleWebPasskeyLogin(d.Passkeys, cookie))
	app.Post("/web/session", webOnly, handleWebSession(d.Approvals, cookie))
	app.Post("/web/refresh", webOnly, handleWebRefresh(d.Tokens, cookie))
	app.Post("/web/logout", webOnly, handleWebLogout(d.Tokens, d.Audit, cookie))
	app.Post("/web/devices/enrollments", webOnly, bearer, risky, handleWebEnrollment(d.Devices, cfg.PublicURL))

	// Other applications: the OpenID provider (its own handler, its own
	// paths and errors as the specifications say) and forward auth for
	// reverse proxies, both on the single sign-on cookie of the pages.
	if d.OIDC != nil {
		mountOIDC(app, d.OIDC)
		app.Get("/web/authorization/:id", webOnly, handleWebAuthorization(d.OIDC))
	}
	if d.SSO != nil {
		loginPage := cfg.PublicURL + "/"
		app.Get("/api/v1/forward-auth", handleForwardAuth(d.SSO, d.Users, loginPage))
		app.Get("/sso/continue", handleContinue(d.SSO, loginPage))
	}

	app.Use("/", web.Handler())
}
