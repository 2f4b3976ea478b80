package approval

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestFrameFinal(t *testing.T) {
	cases := []struct {
		frame Frame
		final bool
	}{
		{Frame{Type: "status", Status: "pending", Channel: "push"}, false},
		{Frame{Type: "status", Status: "pending", Channel: "sms", Reason: core.ReasonNoDevice}, false},
		{fallbackFrame(core.ReasonPushTimeout), false},
		{Frame{Type: "status", Status: "approved"}, true},
		{Frame{Type: "status", Status: "denied", Reason: core.ReasonSuperseded}, true},
		{Frame{Type: "status", Status: "expired"}, true},
	}
	for _, c := range cases {
		if got := c.frame.Final(); got != c.final {
			t.Errorf("%+v.Final() = %v; want %v", c.frame, got, c.final)
		}
	}
}

// frameAt is a's state frame while its life (an hour, unless it says)
// is not over.
func frameAt(a core.Approval) Frame {
	at := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	if a.ExpiresAt.IsZero() {
		a.ExpiresAt = at.Add(time.Hour)
	}
	return StateFrame(&a, at)
}

func TestStateFrame(t *testing.T) {
	at := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		a    core.Approval
		want Frame
	}{
		{"pending push",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush},
			Frame{Type: "status", Status: "pending", Channel: "push"}},
		{"pending push after push_timeout was announced",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, TimeoutAnnouncedAt: &at},
			Frame{Type: "status", Status: "pending", Channel: "push", Reason: core.ReasonPushTimeout}},
		{"pending sms with its fallback reason",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelSMS, Reason: core.ReasonNoDevice},
			Frame{Type: "status", Status: "pending", Channel: "sms", Reason: core.ReasonNoDevice}},
		{"a fallback reason wins over an earlier push_timeout",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelSMS, Reason: core.ReasonRequested, TimeoutAnnouncedAt: &at},
			Frame{Type: "status", Status: "pending", Channel: "sms", Reason: core.ReasonRequested}},
		{"approved carries neither channel nor reason",
			core.Approval{Status: core.ApprovalApproved, Channel: core.ChannelSMS, Method: core.MethodSMS, TimeoutAnnouncedAt: &at, DecidedAt: &at},
			Frame{Type: "status", Status: "approved"}},
		{"denied carries its reason",
			core.Approval{Status: core.ApprovalDenied, Channel: core.ChannelPush, Reason: core.ReasonSuperseded, DecidedAt: &at},
			Frame{Type: "status", Status: "denied", Reason: core.ReasonSuperseded}},
		{"expired after a fallback carries neither channel nor reason",
			core.Approval{Status: core.ApprovalExpired, Channel: core.ChannelSMS, Reason: core.ReasonPushFailed, TimeoutAnnouncedAt: &at},
			Frame{Type: "status", Status: "expired"}},
		{"pending at its expires_at is expired, swept or not",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelSMS, Reason: core.ReasonPushFailed, ExpiresAt: at},
			Frame{Type: "status", Status: "expired"}},
		{"every status frame names the application signed in to",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, AppName: "Grafana"},
			Frame{Type: "status", Status: "pending", Channel: "push", App: "Grafana"}},
		{"a final one too",
			core.Approval{Status: core.ApprovalDenied, Channel: core.ChannelPush, Reason: core.ReasonUserDenied, AppName: "Grafana", DecidedAt: &at},
			Frame{Type: "status", Status: "denied", Reason: core.ReasonUserDenied, App: "Grafana"}},
		{"pending a moment before its expires_at is pending",
			core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, ExpiresAt: at.Add(time.Nanosecond)},
			Frame{Type: "status", Status: "pending", Channel: "push"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := frameAt(c.a); got != c.want {
				t.Fatalf("StateFrame = %+v; want %+v", got, c.want)
			}
		})
	}
}

// TestFrameJSON holds every frame kind to the bytes of the contract's
// "Login and the pending approval": the same bytes travel on the broker
// and reach the browser unchanged.
func TestFrameJSON(t *testing.T) {
	cases := []struct {
		frame Frame
		want  string
	}{
		{frameAt(core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush}),
			`{"type":"status","status":"pending","channel":"push"}`},
		{frameAt(core.Approval{Status: core.ApprovalApproved, Method: core.MethodPush}),
			`{"type":"status","status":"approved"}`},
		{frameAt(core.Approval{Status: core.ApprovalExpired}),
			`{"type":"status","status":"expired"}`},
		{frameAt(core.Approval{Status: core.ApprovalPending, Channel: core.ChannelPush, AppName: "Grafana"}),
			`{"type":"status","status":"pending","channel":"push","app":"Grafana"}`},
		{frameAt(core.Approval{Status: core.ApprovalApproved, Method: core.MethodPush, AppName: "Grafana"}),
			`{"type":"status","status":"approved","app":"Grafana"}`},
	}
	for _, reason := range []string{core.ReasonNoDevice, core.ReasonPushFailed, core.ReasonPushTimeout, core.ReasonRequested, core.ReasonPushLimited} {
		cases = append(cases, struct {
			frame Frame
			want  string
		}{fallbackFrame(reason), `{"type":"fallback","channel":"sms","reason":"` + reason + `"}`})
	}
	for _, reason := range []string{core.ReasonUserDenied, core.ReasonNumberMismatch, core.ReasonTooManyAttempts, core.ReasonSuperseded, core.ReasonReported} {
		cases = append(cases, struct {
			frame Frame
			want  string
		}{frameAt(core.Approval{Status: core.ApprovalDenied, Reason: reason}),
			`{"type":"status","status":"denied","reason":"` + reason + `"}`})
	}
	for _, c := range cases {
		if got := string(c.frame.bytes()); got != c.want {
			t.Errorf("frame %+v is %s; want %s", c.frame, got, c.want)
		}
		var back Frame
		if err := json.Unmarshal(c.frame.bytes(), &back); err != nil || back != c.frame {
			t.Errorf("%s reads back as %+v (%v); want %+v", c.want, back, err, c.frame)
		}
		// What another instance reads off the broker is the same frame
		// and the same bytes for the browser.
		at := time.Date(2026, 11, 3, 12, 0, 0, 123456789, time.UTC)
		ev, err := DecodeEnvelope(encodeEnvelope(c.frame, at))
		if err != nil || ev.Frame != c.frame || string(ev.JSON) != c.want || !ev.PublishedAt.Equal(at) {
			t.Errorf("broker message of %s decodes as %+v, %s (%v)", c.want, ev, ev.JSON, err)
		}
	}
}
