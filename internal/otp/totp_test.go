package otp

import (
	"bytes"
	"testing"
	"time"
)

// The RFC 6238 appendix B seed for SHA-1.
var rfcSecret = []byte("12345678901234567890")

// RFC 6238 appendix B SHA-1 vectors. The RFC lists 8-digit codes; a 6-digit
// code is the same truncated value mod 10^6, i.e. its last six digits.
var rfcVectors = []struct {
	unix int64
	code string // RFC's 8-digit value in the comment
}{
	{59, "287082"},          // 94287082
	{1111111109, "081804"},  // 07081804
	{1111111111, "050471"},  // 14050471
	{1234567890, "005924"},  // 89005924
	{2000000000, "279037"},  // 69279037
	{20000000000, "353130"}, // 65353130
}

func TestTOTPCodeRFC6238Vectors(t *testing.T) {
	for _, v := range rfcVectors {
		if got := TOTPCode(rfcSecret, time.Unix(v.unix, 0)); got != v.code {
			t.Errorf("TOTPCode(T=%d) = %s, want %s", v.unix, got, v.code)
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	now := time.Unix(1234567890, 0) // step 41152263
	step := TOTPStep(now)
	if step != 41152263 {
		t.Fatalf("TOTPStep = %d, want 41152263", step)
	}
	for delta := int64(-1); delta <= 1; delta++ {
		code := TOTPCode(rfcSecret, now.Add(time.Duration(delta)*TOTPPeriod))
		got, ok := MatchTOTP(rfcSecret, code, now)
		if !ok || got != step+delta {
			t.Errorf("code of step %+d: MatchTOTP = %d, %v; want %d, true", delta, got, ok, step+delta)
		}
	}
	for _, delta := range []int64{-2, 2, -10} {
		code := TOTPCode(rfcSecret, now.Add(time.Duration(delta)*TOTPPeriod))
		if code == TOTPCode(rfcSecret, now) || code == TOTPCode(rfcSecret, now.Add(-TOTPPeriod)) ||
			code == TOTPCode(rfcSecret, now.Add(TOTPPeriod)) {
			t.Fatalf("test needs distinct codes; step %+d collides", delta)
		}
		if got, ok := MatchTOTP(rfcSecret, code, now); ok {
			t.Errorf("code of step %+d accepted as step %d", delta, got)
		}
	}
	// Another secret's current code is refused.
	if _, ok := MatchTOTP([]byte("another secret......"), TOTPCode(rfcSecret, now), now); ok {
		t.Error("code accepted for another secret")
	}
}

func TestMatchTOTPRejectsNonCodes(t *testing.T) {
	now := time.Unix(59, 0)
	for _, code := range []string{"", "28708", "2870820", "94287082", " 287082", "287082 ", "28708a", "+87082", "２87082"} {
		if _, ok := MatchTOTP(rfcSecret, code, now); ok {
			t.Errorf("MatchTOTP(%q) accepted", code)
		}
	}
}

func TestTOTPStepFloors(t *testing.T) {
	for unix, want := range map[int64]int64{0: 0, 29: 0, 30: 1, 59: 1, 60: 2, -1: -1, -30: -1, -31: -2} {
		if got := TOTPStep(time.Unix(unix, 0)); got != want {
			t.Errorf("TOTPStep(%d) = %d, want %d", unix, got, want)
		}
	}
}

func TestSecretEncoding(t *testing.T) {
	s := NewTOTPSecret()
	if len(s) != 20 {
		t.Fatalf("secret is %d bytes, want 20", len(s))
	}
	if bytes.Equal(s, NewTOTPSecret()) {
		t.Fatal("two secrets are equal")
	}
	enc := EncodeSecret(rfcSecret)
	if enc != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("EncodeSecret = %s", enc)
	}
	if e := EncodeSecret([]byte("x")); e != "PA" {
		t.Fatalf("EncodeSecret(x) = %s, want PA (no padding)", e)
	}
	for _, in := range []string{enc, "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "GEZDGNBVGY3TQOJQ-GEZDGNBVGY3TQOJQ"} {
		got, err := DecodeSecret(in)
		if err != nil || !bytes.Equal(got, rfcSecret) {
			t.Errorf("DecodeSecret(%q) = %q, %v", in, got, err)
		}
	}
	if got, err := DecodeSecret("PA======"); err != nil || string(got) != "x" {
		t.Errorf("DecodeSecret(padded) = %q, %v", got, err)
	}
	for _, in := range []string{"", "1189", "GEZ!"} {
		if _, err := DecodeSecret(in); err == nil {
			t.Errorf("DecodeSecret(%q) succeeded", in)
		}
	}
}

func FuzzMatchTOTP(f *testing.F) {
	for _, seed := range []string{"287082", "", "000000", "99999999", "abcdef", "12345\x00", "２87082", "-12345"} {
		f.Add(seed, int64(59))
	}
	f.Fuzz(func(t *testing.T, code string, unix int64) {
		now := time.Unix(unix, 0)
		step, ok := MatchTOTP(rfcSecret, code, now)
		if !ok {
			return
		}
		cur := TOTPStep(now)
		if step < cur-1 || step > cur+1 {
			t.Fatalf("matched step %d outside [%d, %d]", step, cur-1, cur+1)
		}
		if want := hotp(rfcSecret, uint64(step)); want != code {
			t.Fatalf("matched %q at step %d whose code is %s", code, step, want)
		}
	})
}
