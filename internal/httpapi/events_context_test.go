package httpapi

import (
	"testing"

	"github.com/approvald/approvald/internal/core"
)

// An event's context names the application only for the entries a login to
// another application writes, from the end of their detail.
func TestEventContext(t *testing.T) {
	const ff = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	for _, c := range []struct {
		e    core.SecurityEvent
		want string
	}{
		{core.SecurityEvent{Kind: core.EventLoginStarted, Detail: "second factor by push, sign in to Grafana", UserAgent: ff}, "Firefox on Linux · Grafana"},
		{core.SecurityEvent{Kind: core.EventPushSent, Detail: "phone, sign in to Grafana", UserAgent: ff}, "Firefox on Linux · Grafana"},
		{core.SecurityEvent{Kind: core.EventLoginStarted, Detail: "second factor by push", UserAgent: ff}, "Firefox on Linux"},
		// A decision does not name it, whatever its detail says.
		{core.SecurityEvent{Kind: core.EventDenied, Detail: "x, sign in to Grafana", UserAgent: ff}, "Firefox on Linux"},
		{core.SecurityEvent{Kind: core.EventLoginStarted, Detail: "second factor by push, sign in to Grafana"}, ""},
		{core.SecurityEvent{Kind: core.EventApproved, IP: "127.0.0.1", UserAgent: "approvald-authenticator/1"}, ""},
	} {
		got := ""
		if ctx := eventContext(nil, &c.e); ctx != nil {
			got = ctx.Summary
		}
		if got != c.want {
			t.Errorf("eventContext(%+v) summary %q; want %q", c.e, got, c.want)
		}
	}
}
