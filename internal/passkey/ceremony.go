package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
)

// ceremony is what the server keeps of a ceremony between its options and
// its finish.
type ceremony struct {
	UserID    string               `json:"user_id,omitempty"` // registration: who asked
	Session   webauthn.SessionData `json:"session"`
	ExpiresAt time.Time            `json:"expires_at"`
}

const (
	keyRegistration = "passkey:reg:"
	keyLogin        = "passkey:login:"
	keySpent        = "passkey:spent:"
)

func (s *Service) keep(ctx context.Context, prefix string, c ceremony) (string, error) {
	id := core.NewSecret(16)
	c.ExpiresAt = s.Clock.Now().Add(ChallengeTTL)
	c.Session.Expires = time.Time{} // expiry is ours, on s.Clock
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	ok, err := s.KV.SetNX(ctx, prefix+id, string(b), ChallengeTTL)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", core.Errorf(core.EInternal, "internal error")
	}
	return id, nil
}

// spend returns the ceremony kept under id and makes sure no other finish
// gets it: the first to claim it wins, whether it then succeeds or not.
func (s *Service) spend(ctx context.Context, prefix, id string) (*ceremony, error) {
	if id == "" || len(id) > 64 {
		return nil, refused(errors.New("no such ceremony"))
	}
	raw, ok, err := s.KV.Get(ctx, prefix+id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refused(errors.New("unknown, expired or spent ceremony"))
	}
	claimed, err := s.KV.SetNX(ctx, keySpent+prefix+id, "1", ChallengeTTL)
	if err != nil {
		return nil, err
	}
	if !claimed {
		return nil, refused(errors.New("ceremony already spent"))
	}
	if err := s.KV.Del(ctx, prefix+id); err != nil {
		s.Log.WarnContext(ctx, "a spent passkey ceremony could not be deleted", "err", err)
	}
	var c ceremony
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, refused(err)
	}
	if !s.Clock.Now().Before(c.ExpiresAt) {
		return nil, refused(errors.New("ceremony expired"))
	}
	return &c, nil
}
