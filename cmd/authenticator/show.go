package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/approvald/approvald/internal/authenticator"
)

// maxShownRunes bounds one shown field; a user agent can be long.
const maxShownRunes = 200

// show prints one login request for a human to judge, headed "Sign in to
// <app>" when it names the application the user signs in to.
func show(w io.Writer, p authenticator.PushRequest, now time.Time) {
	msg := p.Message
	if p.App != "" {
		msg = "Sign in to " + p.App
	} else if msg == "" {
		msg = "Login request"
	}
	fmt.Fprintf(w, "\n%s  %s\n", clean(msg), clean(p.ApprovalID))
	if p.Passwordless {
		// Said by this program, not by the server's message: with the
		// application's name as the heading it would not be seen.
		fmt.Fprintf(w, "  WARNING:  %s\n", passwordlessWarning)
	}
	if p.Context != nil && p.Context.Summary != "" {
		fmt.Fprintf(w, "  context:  %s\n", clean(p.Context.Summary))
	}
	fmt.Fprintf(w, "  from:     %s\n", orUnknown(p.Details.IP))
	fmt.Fprintf(w, "  browser:  %s\n", orUnknown(p.Details.UserAgent))
	if !p.Details.Time.IsZero() {
		fmt.Fprintf(w, "  at:       %s\n", p.Details.Time.Local().Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(w, "  expires:  %s\n", expiry(p.ExpiresAt, now))
}

// passwordlessWarning heads the details of a passwordless login's push.
const passwordlessWarning = "someone is trying to sign in as you without your password; approve only if it is you"

func expiry(at, now time.Time) string {
	left := at.Sub(now).Round(time.Second)
	when := at.Local().Format("15:04:05")
	if left <= 0 {
		return "expired at " + when
	}
	return fmt.Sprintf("in %s (%s)", left, when)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return clean(s)
}

// clean makes text that came from someone else's browser safe to print on a
// terminal: no control characters or escape sequences (which could redraw
// the prompt), no bidi overrides, bounded length.
func clean(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxShownRunes {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '�'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
