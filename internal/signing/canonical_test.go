package signing

import (
	"strings"
	"testing"
)

func TestCanonicalMatchesContractShape(t *testing.T) {
	got := string(Canonical("POST", "/api/v1/callbacks/approval", "dev_123", "1764000000", "q0xNonce", []byte("{}")))
	want := "approvald-sig-v1\nPOST\n/api/v1/callbacks/approval\ndev_123\n1764000000\nq0xNonce\n" +
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // sha256("{}")
	if got != want {
		t.Fatalf("Canonical =\n%q\nwant\n%q", got, want)
	}
}

func TestCanonicalServerToDeviceHasEmptyDeviceLineAndEmptyBodyHash(t *testing.T) {
	got := string(Canonical("GET", "/push?token=a%2Fb", "", "1764000000", "n", nil))
	want := "approvald-sig-v1\nGET\n/push?token=a%2Fb\n\n1764000000\nn\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // sha256("")
	if got != want {
		t.Fatalf("Canonical =\n%q\nwant\n%q", got, want)
	}
	if lines := strings.Split(got, "\n"); len(lines) != 7 {
		t.Fatalf("canonical string has %d lines, want 7", len(lines))
	}
}
