// Package passkeytest is a software WebAuthn authenticator for tests: one
// ES256 credential, built from the specification (authenticator data,
// "none" attestation, an ECDSA P-256 signature over authData ‖
// SHA-256(clientDataJSON)), independent of the library's own verification
// code.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds one ES256 credential. Its fields say what the next
// answer carries; tests change them to make wrong answers.
type Authenticator struct {
	key        *ecdsa.PrivateKey
	CredID     []byte
	UserHandle []byte // set by Create from the options' user.id
	Counter    uint32 // the next assertion carries Counter+Step
	Step       uint32 // 0: the counter never moves (a synced passkey)

	RPID   string
	Origin string
	UV     bool // the user verified flag
	BE, BS bool // backup eligible, backed up
}

// TB is the part of testing.TB the authenticator uses to report a failure;
// *testing.T satisfies it, and so can a program (approvalbench).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// New is an authenticator for rpID answering from origin, verifying its
// user, with a counter that goes up by one.
func New(tb TB, rpID, origin string) *Authenticator {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{key: key, CredID: id, Step: 1, RPID: rpID, Origin: origin, UV: true}
}

var b64 = base64.RawURLEncoding

func (a *Authenticator) flags(attested bool) byte {
	f := byte(protocol.FlagUserPresent)
	if a.UV {
		f |= byte(protocol.FlagUserVerified)
	}
	if a.BE {
		f |= byte(protocol.FlagBackupEligible)
	}
	if a.BS {
		f |= byte(protocol.FlagBackupState)
	}
	if attested {
		f |= byte(protocol.FlagAttestedCredentialData)
	}
	return f
}

func (a *Authenticator) authData(attested bool, counter uint32) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append(h[:], a.flags(attested))
	out = binary.BigEndian.AppendUint32(out, counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.CredID)))
		out = append(out, a.CredID...)
		// The uncompressed point is 0x04 ‖ x ‖ y, 32 bytes each on P-256.
		point, err := a.key.PublicKey.Bytes()
		if err != nil {
			panic(err)
		}
		x, y := point[1:33], point[33:65]
		cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		if err != nil {
			panic(err)
		}
		out = append(out, cose...)
	}
	return out
}

func (a *Authenticator) clientData(kind string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": kind, "challenge": b64.EncodeToString(challenge), "origin": a.Origin, "crossOrigin": false,
	})
	return b
}

// Create answers creation options as navigator.credentials.create would.
func (a *Authenticator) Create(t TB, o *protocol.PublicKeyCredentialCreationOptions) json.RawMessage {
	t.Helper()
	att, err := webauthncbor.Marshal(map[string]any{
		"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true, a.Counter),
	})
	if err != nil {
		t.Fatal(err)
	}
	switch id := o.User.ID.(type) {
	case protocol.URLEncodedBase64: // options from the service itself
		a.UserHandle = id
	case string: // options decoded from JSON
		b, err := b64.DecodeString(id)
		if err != nil {
			t.Fatalf("user.id %q: %v", id, err)
		}
		a.UserHandle = b
	default:
		t.Fatalf("user.id is %T", o.User.ID)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}

// Get answers request options as navigator.credentials.get would.
func (a *Authenticator) Get(t TB, o *protocol.PublicKeyCredentialRequestOptions) json.RawMessage {
	t.Helper()
	a.Counter += a.Step
	ad := a.authData(false, a.Counter)
	cd := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}
