package passkey

import (
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
)

// user is a core.User as the library sees it, with the passkeys it owns.
type user struct {
	u        *core.User
	passkeys []*core.Passkey
}

func (w *user) WebAuthnID() []byte { return []byte(w.u.ID) }

func (w *user) WebAuthnName() string {
	if w.u.Email != "" {
		return w.u.Email
	}
	return w.u.Phone
}

func (w *user) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.WebAuthnName()
}

func (w *user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(w.passkeys))
	for i, p := range w.passkeys {
		out[i] = credentialOf(p)
	}
	return out
}

func credentialOf(p *core.Passkey) webauthn.Credential {
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: "none", AttestationFormat: "none",
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}
