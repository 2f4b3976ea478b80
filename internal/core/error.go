package core

import (
	"errors"
	"fmt"
	"time"
)

// Error codes of the wire contract (the error body of every non-2xx answer). The HTTP layer
// maps each to its status; services and adapters return them through *Error.
const (
	EInvalidRequest   = "invalid_request"
	EInvalidPhone     = "invalid_phone"
	EWeakPassword     = "weak_password"
	EInvalidCode      = "invalid_code"
	EInvalidPushURL   = "invalid_push_url"
	EInvalidCreds     = "invalid_credentials"
	EUnauthorized     = "unauthorized"
	EInvalidSignature = "invalid_signature"
	EForbidden        = "forbidden"
	EReauthRequired   = "reauth_required"
	ENotFound         = "not_found"
	EAlreadyDecided   = "already_decided"
	ENotApproved      = "not_approved"
	EAlreadyExchanged = "already_exchanged"
	EPhoneTaken       = "phone_taken"
	EEmailTaken       = "email_taken"
	EKeyTaken         = "key_taken"
	ETooManyDevices   = "too_many_devices"
	EExpired          = "expired"
	ETooLarge         = "too_large"
	ELocked           = "locked"
	ERateLimited      = "rate_limited"
	EUnavailable      = "unavailable"
	EInternal         = "internal"
	// EPasskeyRefused is every refusal of a passkey ceremony (unknown
	// credential, wrong origin, spent challenge, counter regression): one
	// code, so it says nothing about whether a credential exists.
	EPasskeyRefused = "passkey_refused"
	// EPasskeysUnavailable: passkeys are off on this server (PUBLIC_URL's
	// host is an IP address, which cannot be a WebAuthn RP ID).
	EPasskeysUnavailable = "passkeys_unavailable"
)

// Error is the one error type of approvald. Message is safe to show to a
// client; Err (the cause) is for logs only and is never sent over the wire.
type Error struct {
	Code    string
	Message string
	Field   string // set only for validation errors

	// AttemptsLeft is sent beside the error for wrong codes; nil means absent.
	AttemptsLeft *int
	// RetryAfter becomes the Retry-After header of a rate_limited answer.
	RetryAfter time.Duration

	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is a validation error about one request field.
func FieldError(code, field, message string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// Unavailable wraps a dependency failure (database, Redis, SMS vendor) so the
// caller gets 503 while the cause stays in the logs.
func Unavailable(what string, err error) *Error {
	return &Error{Code: EUnavailable, Message: what + " is unavailable", Err: err}
}

// RateLimited is the 429 answer with its Retry-After.
func RateLimited(retryAfter time.Duration) *Error {
	return &Error{Code: ERateLimited, Message: "too many requests, try again later", RetryAfter: retryAfter}
}

// WrongCode is the 400 invalid_code answer that carries attempts_left.
func WrongCode(attemptsLeft int) *Error {
	return &Error{Code: EInvalidCode, Message: "the code is not correct", Field: "code", AttemptsLeft: &attemptsLeft}
}

// ErrorCode returns the contract code of err: its own for an *Error, "internal"
// for anything else, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
