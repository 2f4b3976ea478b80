package passkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// softAuth is a software authenticator holding one ES256 credential, built
// from the specification (authenticator data, "none" attestation, an ECDSA
// P-256 signature over authData ‖ SHA-256(clientDataJSON)), independent of
// the library's own verification code.
type softAuth struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32 // the next assertion carries counter+step
	step       uint32 // 0: the counter never moves (a synced passkey)

	rpID   string
	origin string
	uv     bool // user verified flag
	be, bs bool // backup eligible, backed up
}

func newSoftAuth(t *testing.T, rpID, origin string) *softAuth {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softAuth{key: key, credID: id, step: 1, rpID: rpID, origin: origin, uv: true}
}

var b64 = base64.RawURLEncoding

func (a *softAuth) flags(attested bool) byte {
	f := byte(protocol.FlagUserPresent)
	if a.uv {
		f |= byte(protocol.FlagUserVerified)
	}
	if a.be {
		f |= byte(protocol.FlagBackupEligible)
	}
	if a.bs {
		f |= byte(protocol.FlagBackupState)
	}
	if attested {
		f |= byte(protocol.FlagAttestedCredentialData)
	}
	return f
}

func (a *softAuth) authData(attested bool, counter uint32) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	out := append(h[:], a.flags(attested))
	out = binary.BigEndian.AppendUint32(out, counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		x, y := make([]byte, 32), make([]byte, 32)
		a.key.PublicKey.X.FillBytes(x)
		a.key.PublicKey.Y.FillBytes(y)
		cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		if err != nil {
			panic(err)
		}
		out = append(out, cose...)
	}
	return out
}

func (a *softAuth) clientData(kind string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": kind, "challenge": b64.EncodeToString(challenge), "origin": a.origin, "crossOrigin": false,
	})
	return b
}

// create answers creation options as navigator.credentials.create would.
func (a *softAuth) create(t *testing.T, o *protocol.PublicKeyCredentialCreationOptions) json.RawMessage {
	t.Helper()
	att, err := webauthncbor.Marshal(map[string]any{
		"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true, a.counter),
	})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := o.User.ID.(protocol.URLEncodedBase64)
	if !ok {
		t.Fatalf("user.id is %T", o.User.ID)
	}
	a.userHandle = id
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
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

// get answers request options as navigator.credentials.get would.
func (a *softAuth) get(t *testing.T, o *protocol.PublicKeyCredentialRequestOptions) json.RawMessage {
	t.Helper()
	a.counter += a.step
	ad := a.authData(false, a.counter)
	cd := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}
