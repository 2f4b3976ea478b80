package approval

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func TestDeviceKeysRememberAndBound(t *testing.T) {
	var k deviceKeys
	if _, ok := k.lookup("dev_unknown"); ok {
		t.Fatal("the zero value knows a device")
	}
	d := &core.Device{ID: "dev_a", UserID: "usr_a", PublicKey: []byte("key-a"), Name: "not remembered"}
	k.remember(d)
	got, ok := k.lookup("dev_a")
	if !ok || got.ID != "dev_a" || got.UserID != "usr_a" || !bytes.Equal(got.PublicKey, []byte("key-a")) || got.Name != "" {
		t.Fatalf("lookup = %+v, %v", got, ok)
	}
	// Full: each new device pushes an old one out, never past the bound.
	for i := range maxDeviceKeys + 100 {
		k.remember(&core.Device{ID: fmt.Sprintf("dev_%d", i), UserID: "usr_b", PublicKey: []byte{byte(i)}})
	}
	if n := len(k.byID); n != maxDeviceKeys {
		t.Fatalf("%d devices remembered, bound %d", n, maxDeviceKeys)
	}
	last := fmt.Sprintf("dev_%d", maxDeviceKeys+99)
	if _, ok := k.lookup(last); !ok {
		t.Fatal("the device remembered last is missing")
	}
}
