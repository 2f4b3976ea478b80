package httpapi

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
)

// statusOf maps the contract's error codes to HTTP statuses.
var statusOf = map[string]int{
	core.EInvalidRequest:      fiber.StatusBadRequest,
	core.EInvalidPhone:        fiber.StatusBadRequest,
	core.EWeakPassword:        fiber.StatusBadRequest,
	core.EInvalidCode:         fiber.StatusBadRequest,
	core.EInvalidPushURL:      fiber.StatusBadRequest,
	core.EInvalidCreds:        fiber.StatusUnauthorized,
	core.EUnauthorized:        fiber.StatusUnauthorized,
	core.EInvalidSignature:    fiber.StatusUnauthorized,
	core.EForbidden:           fiber.StatusForbidden,
	core.EReauthRequired:      fiber.StatusForbidden,
	core.ENotFound:            fiber.StatusNotFound,
	core.EAlreadyDecided:      fiber.StatusConflict,
	core.ENotApproved:         fiber.StatusConflict,
	core.EAlreadyExchanged:    fiber.StatusConflict,
	core.EPhoneTaken:          fiber.StatusConflict,
	core.EEmailTaken:          fiber.StatusConflict,
	core.EKeyTaken:            fiber.StatusConflict,
	core.ETooManyDevices:      fiber.StatusConflict,
	core.EExpired:             fiber.StatusGone,
	core.ETooLarge:            fiber.StatusRequestEntityTooLarge,
	core.ELocked:              fiber.StatusLocked,
	core.ERateLimited:         fiber.StatusTooManyRequests,
	core.EUnavailable:         fiber.StatusServiceUnavailable,
	core.EInternal:            fiber.StatusInternalServerError,
	core.EPasskeyRefused:      fiber.StatusUnauthorized,
	core.EPasskeysUnavailable: fiber.StatusNotFound,
	// Not a contract code: Fiber's answer to a known path with another
	// method. Clients treat it by its status.
	codeMethodNotAllowed: fiber.StatusMethodNotAllowed,
}

const codeMethodNotAllowed = "method_not_allowed"

// errorBody is the contract's error envelope.
type errorBody struct {
	Error        errorDetail `json:"error"`
	AttemptsLeft *int        `json:"attempts_left,omitempty"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// errorHandler is the one place where an error becomes a response. Domain
// errors keep their code; Fiber's own errors (unknown route, body too large)
// are translated; anything else is a 500 whose cause goes only to the log.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := asCoreError(err)
		status, ok := statusOf[e.Code]
		if !ok {
			status = fiber.StatusInternalServerError
		}
		switch {
		case status >= 500:
			log.ErrorContext(c.UserContext(), "request failed", "code", e.Code, "err", err.Error(), "path", c.Path())
		case e.Err != nil:
			log.WarnContext(c.UserContext(), "request refused", "code", e.Code, "err", e.Err.Error(), "path", c.Path())
		}
		if e.Code == core.ERateLimited {
			secs := int(e.RetryAfter.Seconds() + 0.999)
			if secs < 1 {
				secs = 1
			}
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(errorBody{
			Error:        errorDetail{Code: e.Code, Message: e.Message, Field: e.Field},
			AttemptsLeft: e.AttemptsLeft,
		})
	}
}

func asCoreError(err error) *core.Error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return core.Errorf(core.ENotFound, "no such resource")
		case fiber.StatusMethodNotAllowed:
			return &core.Error{Code: codeMethodNotAllowed, Message: "method not allowed"}
		case fiber.StatusRequestEntityTooLarge:
			return core.Errorf(core.ETooLarge, "the request body is larger than 64 KiB")
		case fiber.StatusBadRequest, fiber.StatusRequestHeaderFieldsTooLarge:
			return core.Errorf(core.EInvalidRequest, "malformed request")
		case fiber.StatusRequestTimeout:
			return &core.Error{Code: core.EInvalidRequest, Message: "request timed out"}
		}
	}
	return &core.Error{Code: core.EInternal, Message: "internal error", Err: err}
}
