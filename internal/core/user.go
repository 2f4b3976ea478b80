package core

import "time"

// User is an account. Email is "" when the user gave none; it is stored
// lower-cased. Phone is E.164.
type User struct {
	ID            string
	Name          string
	Email         string
	Phone         string
	PhoneVerified bool
	PasswordHash  string // PHC string, e.g. $argon2id$v=19$m=19456,t=2,p=1$salt$hash
	TwoFactor     bool
	// Passwordless is what a login with this user's phone or email and no
	// password starts: PasswordlessOff, PasswordlessPush or PasswordlessSMS.
	Passwordless Passwordless
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// VerificationStatus is where a phone verification stands.
type VerificationStatus string

const (
	VerificationPending    VerificationStatus = "pending"
	VerificationVerified   VerificationStatus = "verified"
	VerificationLocked     VerificationStatus = "locked"     // 5 wrong codes
	VerificationSuperseded VerificationStatus = "superseded" // a new signup replaced the account
)

// MaxCodeAttempts is how many wrong codes kill a verification or an approval.
const MaxCodeAttempts = 5

// ResendCooldown is the least time between two codes texted for one
// verification or one approval.
const ResendCooldown = 30 * time.Second

// Verification is a persisted, expiring phone-verification flow.
type Verification struct {
	ID         string
	UserID     string
	Phone      string
	CodeHash   string
	Attempts   int // wrong codes so far; kept across resends
	Status     VerificationStatus
	ExpiresAt  time.Time
	LastSentAt time.Time
	CreatedAt  time.Time
}

// Session is one login of a user; its refresh tokens rotate, its id is the
// access token's sid.
type Session struct {
	ID         string
	UserID     string
	AMR        []string  // how the user proved themselves, e.g. ["pwd","push"]
	AuthTime   time.Time // when the user last proved a factor
	CreatedAt  time.Time
	LastUsedAt time.Time // refresh; idle expiry counts from here
	ExpiresAt  time.Time // absolute end (created + 90 days)
	RevokedAt  *time.Time
	// ClientID is the OpenID Connect client whose tokens these are; "" for
	// approvald's own session (its pages, its API, the single sign-on).
	ClientID string
	// Scopes are what the client was granted (OpenID Connect sessions only).
	Scopes []string
}

// Active reports whether the session may still be used at now.
func (s *Session) Active(now time.Time, idle time.Duration) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt) && now.Before(s.LastUsedAt.Add(idle))
}

// KeyPurpose separates the server's key pairs.
type KeyPurpose string

const (
	KeyJWT  KeyPurpose = "jwt"  // signs access tokens
	KeyPush KeyPurpose = "push" // signs pushes to devices
	KeyOIDC KeyPurpose = "oidc" // signs OpenID Connect ID tokens (RS256)
	// KeyOIDCES256 signs the ID tokens of the clients that ask for ES256
	// (ECDSA P-256), KeyOIDCEdDSA those of the clients that ask for EdDSA
	// (Ed25519): id_token_signed_response_alg.
	KeyOIDCES256 KeyPurpose = "oidc-es256"
	KeyOIDCEdDSA KeyPurpose = "oidc-eddsa"
	// KeyVAPID (ECDSA P-256) signs the VAPID tokens of Web Push requests
	// (RFC 8292); its public key is the applicationServerKey devices
	// subscribe with.
	KeyVAPID KeyPurpose = "vapid"
)

// SigningKey is a key pair of the server, persisted so every instance and
// every restart signs with the same key: Ed25519, RSA for KeyOIDC (RS256
// is the one algorithm every OpenID Connect client supports), ECDSA P-256
// for KeyOIDCES256 and KeyVAPID.
type SigningKey struct {
	KID        string
	Purpose    KeyPurpose
	PrivateKey []byte // ed25519.PrivateKey (64 bytes); for KeyOIDC, KeyOIDCES256 and KeyVAPID, the PKCS #8 DER of an RSA or ECDSA P-256 key
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// Passwordless is a user's passwordless sign-in setting (issue 13).
type Passwordless string

const (
	PasswordlessOff  Passwordless = "off"
	PasswordlessPush Passwordless = "push" // a number-matched push to one of the user's devices
	PasswordlessSMS  Passwordless = "sms"  // a code texted to the user's phone (PASSWORDLESS_SMS)
)

// PlaceholderUserID owns the approvals a passwordless login starts for an
// identifier without passwordless sign-in (unknown, or turned off): real
// rows that every reader sees as any pending approval and nothing can
// decide (migration 0007 creates the user; it cannot sign in).
const PlaceholderUserID = "usr_passwordless_placeholder"
