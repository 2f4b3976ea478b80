package password

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// tiny keeps tests fast; the format and logic do not depend on the cost.
var tiny = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := New(tiny, 1)
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoded = %q, want the PHC argon2id prefix", encoded)
	}
	if strings.Count(encoded, "=") != 4 { // v=, m=, t=, p= only: no base64 padding
		t.Fatalf("encoded %q contains base64 padding", encoded)
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", encoded)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(ctx, "correct horse battery stapler", encoded)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == encoded {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestDefaultParamsFormat(t *testing.T) {
	h := New(Params{}, 0)
	encoded, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
		t.Fatalf("encoded = %q, want $argon2id$v=19$m=19456,t=2,p=1$…", encoded)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("salt %d bytes (%v), key %d bytes (%v); want 16 and 32 in unpadded std base64", len(salt), err1, len(key), err2)
	}
}

// The x/crypto argon2id test vector (password "password", salt "somesalt",
// t=2, m=64 KiB, p=1, 24-byte key), written as the reference CLI would.
func TestVerifyReferenceVector(t *testing.T) {
	key, _ := hex.DecodeString("068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7")
	encoded := "$argon2id$v=19$m=64,t=2,p=1$" + base64.RawStdEncoding.EncodeToString([]byte("somesalt")) +
		"$" + base64.RawStdEncoding.EncodeToString(key)
	h := New(tiny, 1)
	ok, rehash, err := h.Verify(context.Background(), "password", encoded)
	if err != nil || !ok {
		t.Fatalf("Verify = %v, %v; want a match", ok, err)
	}
	if !rehash {
		t.Fatal("rehash = false for a hash with other parameters than the hasher's")
	}
	// Padded base64, as a few other libraries write it, is read too.
	padded := strings.Replace(encoded, "c29tZXNhbHQ$", "c29tZXNhbHQ=$", 1)
	if ok, _, err := h.Verify(context.Background(), "password", padded); err != nil || !ok {
		t.Fatalf("Verify(padded) = %v, %v; want a match", ok, err)
	}
}

func TestRehashWhenParamsChange(t *testing.T) {
	ctx := context.Background()
	old := New(tiny, 1)
	encoded, _ := old.Hash(ctx, "pw")
	for name, p := range map[string]Params{
		"memory":  {Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"time":    {Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads": {Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"key":     {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		ok, rehash, err := New(p, 1).Verify(ctx, "pw", encoded)
		if err != nil || !ok || !rehash {
			t.Errorf("%s changed: Verify = %v, %v, %v; want true, true, nil", name, ok, rehash, err)
		}
	}
	// A wrong password never asks for a rehash.
	if ok, rehash, _ := New(DefaultParams, 1).Verify(ctx, "other", encoded); ok || rehash {
		t.Errorf("Verify(wrong) = %v, %v; want false, false", ok, rehash)
	}
}

func TestVerifyBcryptImport(t *testing.T) {
	ctx := context.Background()
	h := New(tiny, 1)
	// From x/crypto's bcrypt tests: "allmine" at cost 10.
	const a = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga"
	for _, encoded := range []string{a, "$2b$" + a[4:], "$2y$" + a[4:]} {
		ok, rehash, err := h.Verify(ctx, "allmine", encoded)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(%.4s…) = %v, %v, %v; want true, true, nil", encoded, ok, rehash, err)
		}
	}
	ok, rehash, err := h.Verify(ctx, "notmine", a)
	if err != nil || ok || rehash {
		t.Errorf("Verify(wrong bcrypt) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := New(tiny, 1)
	good, _ := h.Hash(context.Background(), "pw")
	parts := strings.Split(good, "$")
	for name, encoded := range map[string]string{
		"empty":            "",
		"plain text":       "pw",
		"unknown algo":     "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"scrypt":           "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"short":            "$argon2id$v=19$m=64,t=1,p=1$" + parts[4],
		"extra field":      good + "$x",
		"old version":      "$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"params order":     "$argon2id$v=19$t=1,m=64,p=1$" + parts[4] + "$" + parts[5],
		"params junk":      "$argon2id$v=19$m=64,t=1,p=1x$" + parts[4] + "$" + parts[5],
		"leading zero":     "$argon2id$v=19$m=064,t=1,p=1$" + parts[4] + "$" + parts[5],
		"zero time":        "$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"zero threads":     "$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"huge memory":      "$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5],
		"huge time":        "$argon2id$v=19$m=64,t=100000,p=1$" + parts[4] + "$" + parts[5],
		"negative":         "$argon2id$v=19$m=-64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"bad salt":         "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + parts[5],
		"empty salt":       "$argon2id$v=19$m=64,t=1,p=1$$" + parts[5],
		"bad hash":         "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$%%%",
		"short hash":       "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$AAAA",
		"bcrypt truncated": "$2a$10$fooo",
		"bcrypt huge cost": "$2a$31$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga",
		"bcrypt bad cost":  "$2a$xx$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga",
	} {
		ok, rehash, err := h.Verify(context.Background(), "hunter2-secret", encoded)
		if !errors.Is(err, ErrMalformedHash) || ok || rehash {
			t.Errorf("%s: Verify = %v, %v, %v; want false, false, ErrMalformedHash", name, ok, rehash, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q echoes the password", name, err)
		}
	}
}

func TestDummyTakesOneVerification(t *testing.T) {
	h := New(tiny, 1)
	var verifications atomic.Int32
	h.inside = func() { verifications.Add(1) }
	h.Dummy(context.Background(), "anything")
	if n := verifications.Load(); n != 1 {
		t.Fatalf("Dummy ran %d hash computations, want 1", n)
	}
	// The dummy hash has the hasher's parameters, so it costs the same as a
	// real user's verification.
	stored, err := parseArgon2id(h.dummy)
	if err != nil || stored.params != h.params {
		t.Fatalf("dummy hash params = %+v (%v), want %+v", stored.params, err, h.params)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	const limit, callers = 2, 6
	h := New(tiny, limit)
	var active, peak atomic.Int32
	entered := make(chan struct{}, callers+1)
	release := make(chan struct{})
	h.inside = func() {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		if n <= limit { // past the limit the semaphore is broken: fail, don't hang
			<-release
		}
		active.Add(-1)
	}

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "pw"); err != nil {
				t.Error(err)
			}
		})
	}
	for range limit {
		<-entered
	}

	// Every slot is held: a caller with a deadline gives up with unavailable
	// rather than running a hash.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := h.Hash(ctx, "pw")
	if !core.IsCode(err, core.EUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while saturated = %v, want unavailable wrapping DeadlineExceeded", err)
	}
	if _, _, err := h.Verify(ctx, "pw", h.dummy); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Verify while saturated = %v, want unavailable", err)
	}
	if n := len(entered); n != 0 {
		t.Fatalf("%d more callers got past the semaphore of %d", n, limit)
	}

	close(release)
	wg.Wait()
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrency = %d, want %d", p, limit)
	}
}

func BenchmarkHash(b *testing.B) {
	h := New(DefaultParams, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
