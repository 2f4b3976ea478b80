package sms

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/approvald/approvald/internal/core"
)

// Console prints each message as one line, for development: the developer's
// console is the one place a code may appear.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

var _ core.SMSSender = (*Console)(nil)

// NewConsole returns a Console writing to w.
func NewConsole(w io.Writer) *Console {
	return &Console{w: w}
}

// Send writes "SMS to <to>: <body>" with the body's line breaks flattened.
func (c *Console) Send(_ context.Context, to, body string) error {
	line := fmt.Sprintf("SMS to %s: %s\n", to, flatten.Replace(body))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, line); err != nil {
		return core.Unavailable("sms", fmt.Errorf("console: %w", err))
	}
	return nil
}

var flatten = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
