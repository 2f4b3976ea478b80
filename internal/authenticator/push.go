package authenticator

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/signing"
)

// maxPushBody is the contract's bound on every body.
const maxPushBody = 64 << 10

// PushReceiver is the http.Handler a device serves at its push_url. It
// accepts only what the contract lets a device accept: a POST signed by
// ServerPublicKey over the path as received, with a timestamp within
// ±300 s (signing.MaxSkew), a nonce not seen within signing.NonceTTL (660 s:
// longer than the whole window of accepted timestamps, so a replay at its
// far edge is still caught), this device's device_id and this server's
// callback_url. A valid push is answered 200 at once and handed to Accept;
// anything else gets 401 and goes no further.
type PushReceiver struct {
	State *State
	// Accept is called, on a goroutine of its own, with each valid push; it
	// may take its time (ask the user).
	Accept func(PushRequest)
	// Rejected, when set, is told why a push was refused (for a log line).
	Rejected func(error)
	// Now is the clock for the timestamp window; nil means time.Now.
	Now func() time.Time
	// KeyLearned, when set, is called after a push taught State a new
	// server key or retired the previous one (save the state).
	KeyLearned func()

	mu     sync.Mutex
	nonces map[string]time.Time // nonce → when it stops mattering
	pruned time.Time
}

// PushHandler returns a PushReceiver for the device s that hands valid
// pushes to accept.
func PushHandler(s *State, accept func(PushRequest)) *PushReceiver {
	return &PushReceiver{State: s, Accept: accept}
}

// Errors of a refused push, for Rejected.
var (
	ErrPushMethod      = errors.New("push refused: not a POST")
	ErrPushSignature   = errors.New("push refused: the server signature is missing or not valid")
	ErrPushTimestamp   = errors.New("push refused: the timestamp is more than 300 s from this device's clock")
	ErrPushReplayed    = errors.New("push refused: the nonce was seen before (a replay)")
	ErrPushBody        = errors.New("push refused: the body is not a push request")
	ErrPushDevice      = errors.New("push refused: it is addressed to another device")
	ErrPushCallbackURL = errors.New("push refused: its callback_url is not this device's server")
)

func (p *PushReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	push, err := p.verify(w, r)
	if err != nil {
		if p.Rejected != nil {
			p.Rejected(err)
		}
		status, code := http.StatusUnauthorized, "invalid_signature"
		if errors.Is(err, ErrPushMethod) {
			w.Header().Set("Allow", http.MethodPost)
			status, code = http.StatusMethodNotAllowed, "invalid_request"
		}
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
	if p.Accept != nil {
		go p.Accept(*push)
	}
}

// verify checks a push in the contract's order: the signature first (so an
// unsigned request learns nothing and burns no nonce), then the clock, the
// addressee and the callback, and the nonce last.
func (p *PushReceiver) verify(w http.ResponseWriter, r *http.Request) (*PushRequest, error) {
	if r.Method != http.MethodPost {
		return nil, ErrPushMethod
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		return nil, ErrPushBody
	}
	h, err := signing.ParseHeaders(r.Header.Get)
	if err != nil || h.DeviceID != "" {
		return nil, ErrPushSignature
	}
	// The server signs the request line it wrote; RequestURI is that line's
	// target as received (path and raw query, escaping untouched).
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	// The key: the one X-Key-Id names among the pin, the previous pin and
	// a key the body announces under the pin's signature (next_key); without
	// X-Key-Id (an older server), the pin or the previous one.
	var announced struct {
		NextKey *signing.KeyStatement `json:"next_key"`
	}
	_ = json.Unmarshal(body, &announced)
	pin, previous := p.State.serverKeys()
	var next ed25519.PublicKey
	if announced.NextKey != nil {
		next, _ = announced.NextKey.Verify(pin) // a forged statement is ignored
	}
	signedBy := signerOf(r.Header.Get(signing.HeaderKeyID), h, body, target, pin, previous, next)
	if signedBy == nil {
		return nil, ErrPushSignature
	}
	now := p.now()
	if signing.CheckTimestamp(h.Timestamp, now, signing.MaxSkew) != nil {
		return nil, ErrPushTimestamp
	}
	var push PushRequest
	if err := json.Unmarshal(body, &push); err != nil || push.ApprovalID == "" {
		return nil, ErrPushBody
	}
	if push.DeviceID != p.State.DeviceID {
		return nil, ErrPushDevice
	}
	if push.CallbackURL != p.State.CallbackURL() {
		return nil, ErrPushCallbackURL
	}
	if !p.firstUse(h.Nonce, now) {
		return nil, ErrPushReplayed
	}
	changed := false
	if next != nil {
		learned, _ := p.State.LearnServerKey(*announced.NextKey)
		changed = learned
	}
	if signedBy.Equal(p.State.pinned()) && p.State.dropPreviousServerKey() {
		// The new key signs: the old one is done with.
		changed = true
	}
	if changed && p.KeyLearned != nil {
		p.KeyLearned()
	}
	return &push, nil
}

// signerOf returns the key, of those a device trusts, that signed the push:
// the one kid names, or without kid the pin then the previous pin; nil
// when none did.
func signerOf(kid string, h signing.Headers, body []byte, target string, trusted ...ed25519.PublicKey) ed25519.PublicKey {
	for _, k := range trusted {
		if k == nil || (kid != "" && signing.KeyID(k) != kid) {
			continue
		}
		if signing.Verify(k, http.MethodPost, target, h, body) == nil {
			return k
		}
	}
	return nil
}

// firstUse records nonce and reports whether it was new. Only pushes with a
// valid server signature get here, so nobody else can fill the set; it is
// pruned of expired nonces once a minute.
func (p *PushReceiver) firstUse(nonce string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nonces == nil {
		p.nonces = make(map[string]time.Time)
	}
	if now.Sub(p.pruned) > time.Minute {
		for n, until := range p.nonces {
			if !now.Before(until) {
				delete(p.nonces, n)
			}
		}
		p.pruned = now
	}
	if until, seen := p.nonces[nonce]; seen && now.Before(until) {
		return false
	}
	p.nonces[nonce] = now.Add(signing.NonceTTL)
	return true
}

func (p *PushReceiver) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
