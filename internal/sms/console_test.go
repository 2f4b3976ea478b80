package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func TestConsoleWritesOneLine(t *testing.T) {
	var out strings.Builder
	c := NewConsole(&out)
	if err := c.Send(context.Background(), "+14155550100", "Your approvald code is 123456"); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), "+8613800138000", "line one\nline two\r\nthree"); err != nil {
		t.Fatal(err)
	}
	want := "SMS to +14155550100: Your approvald code is 123456\n" +
		"SMS to +8613800138000: line one line two three\n"
	if out.String() != want {
		t.Fatalf("console got %q, want %q", out.String(), want)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConsoleWriteFailure(t *testing.T) {
	err := NewConsole(brokenWriter{}).Send(context.Background(), "+14155550100", "code 123456")
	if !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}
