package signing

import (
	"strconv"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1764000000, 0)
	ts := func(offset int64) string { return strconv.FormatInt(now.Unix()+offset, 10) }
	cases := []struct {
		name string
		ts   string
		ok   bool
	}{
		{"now", ts(0), true},
		{"300 s old", ts(-300), true},
		{"300 s ahead", ts(300), true},
		{"301 s old", ts(-301), false},
		{"301 s ahead", ts(301), false},
		{"a day old", ts(-86400), false},
		{"epoch", "0", false},
		{"far future", "9223372036854775807", false},
		{"malformed", "1764000000 ", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		err := CheckTimestamp(c.ts, now, MaxSkew)
		if c.ok && err != nil {
			t.Errorf("%s: CheckTimestamp = %v, want nil", c.name, err)
		}
		if !c.ok && !core.IsCode(err, core.EInvalidSignature) {
			t.Errorf("%s: CheckTimestamp = %v, want invalid_signature", c.name, err)
		}
	}
}

func TestCheckTimestampUsesTheGivenSkew(t *testing.T) {
	now := time.Unix(1764000000, 0)
	if err := CheckTimestamp("1764000010", now, 5*time.Second); err == nil {
		t.Fatal("10 s ahead accepted with a 5 s skew")
	}
	if err := CheckTimestamp("1764000005", now, 5*time.Second); err != nil {
		t.Fatalf("5 s ahead with a 5 s skew: %v", err)
	}
}
