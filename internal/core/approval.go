package core

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ApprovalStatus is the state of a pending approval: pending → approved |
// denied | expired, each final.
type ApprovalStatus string

const (
	ApprovalPending  ApprovalStatus = "pending"
	ApprovalApproved ApprovalStatus = "approved"
	ApprovalDenied   ApprovalStatus = "denied"
	ApprovalExpired  ApprovalStatus = "expired"
)

// Channel is how the second factor is being asked for.
type Channel string

const (
	ChannelPush Channel = "push"
	ChannelSMS  Channel = "sms"
)

// Reasons: fallback reasons (channel moved to sms) and denial reasons.
const (
	ReasonNoDevice    = "no_device"
	ReasonPushFailed  = "push_failed"
	ReasonPushTimeout = "push_timeout"
	ReasonRequested   = "requested"
	ReasonPushLimited = "push_limited"

	ReasonUserDenied      = "user_denied"
	ReasonNumberMismatch  = "number_mismatch"
	ReasonTooManyAttempts = "too_many_attempts"
	ReasonSuperseded      = "superseded"
	ReasonReported        = "reported"
)

// Methods: how an approval was decided; they become the token's amr.
const (
	MethodPush = "push"
	MethodSMS  = "sms"
	MethodOTP  = "otp"
)

// A match number is two digits that the browser shows for a push login and
// the user types into the app. An approval that never had one (it began on
// SMS) has 0, which no device answer may carry.
const (
	MinMatchNumber = 10
	MaxMatchNumber = 99
)

// IsMatchNumber says whether n is a number a browser can have shown.
func IsMatchNumber(n int) bool { return n >= MinMatchNumber && n <= MaxMatchNumber }

// Approval is a persisted, expiring second-factor flow started by a password login.
type Approval struct {
	ID          string
	UserID      string
	Status      ApprovalStatus
	Channel     Channel
	Reason      string // fallback reason while pending on sms; denial reason once denied
	MatchNumber int    // MinMatchNumber–MaxMatchNumber for push, 0 when it began on SMS
	TicketHash  string
	CodeHash    string // SMS code, once one was sent
	CodeSentAt  *time.Time
	Attempts    int // wrong codes
	ExpiresAt   time.Time
	PushSentAt  *time.Time
	// TimeoutAnnouncedAt is set once push_timeout was published, so one
	// instance announces it once.
	TimeoutAnnouncedAt *time.Time
	DecidedAt          *time.Time
	DecidedBy          string // device id, or "" for a code
	Method             string // MethodPush, MethodSMS, MethodOTP once approved
	ExchangedAt        *time.Time
	IP                 string
	UserAgent          string
	// AppName is the application the user is signing in to through
	// approvald (an OpenID Connect client's name), "" for approvald
	// itself. It is shown as "Sign in to <AppName>"; CleanAppName bounds it.
	AppName string
	// Passwordless is set on an approval a passwordless login started
	// (PasswordlessPush or PasswordlessSMS), "" on a password login's
	// second factor: it is decided on its own channel only, and its
	// session's amr holds no "pwd".
	Passwordless Passwordless
	CreatedAt    time.Time
}

// MaxAppName is the most characters (runes) an approval's AppName keeps.
const MaxAppName = 100

// CleanAppName is name as an approval keeps it: invalid UTF-8 and control
// and format characters (escape sequences, bidi overrides) dropped,
// surrounding space trimmed, at most MaxAppName characters. The name comes
// from a validated client registration; this holds what reaches a phone's
// screen and a terminal to those bounds whatever the caller checked.
func CleanAppName(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(name) {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if n == MaxAppName {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
