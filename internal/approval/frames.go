package approval

import (
	"encoding/json"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Frame is one websocket message of the contract. The same JSON travels on
// the broker, so every instance forwards it unchanged.
type Frame struct {
	Type    string `json:"type"` // "status" or "fallback"
	Status  string `json:"status,omitempty"`
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// App names the application signed in to ("Sign in to Grafana") in a
	// status frame; absent for approvald itself and in fallback frames.
	App string `json:"app,omitempty"`
}

// Final reports whether the frame ends the approval.
func (f Frame) Final() bool {
	return f.Type == "status" && f.Status != string(core.ApprovalPending)
}

// StateFrame is a's state at now, as sent on connect and after a
// decision. A pending one carries its channel and reason, so a browser
// that reconnects learns of a fallback it may have missed; every one
// carries the application signed in to, if any.
func StateFrame(a *core.Approval, now time.Time) Frame {
	v := ViewAt(a, now)
	f := Frame{Type: "status", Status: string(v.Status), App: v.AppName}
	switch v.Status {
	case core.ApprovalPending:
		f.Channel, f.Reason = string(v.Channel), v.Reason
	case core.ApprovalDenied:
		f.Reason = v.Reason
	}
	return f
}

func fallbackFrame(reason string) Frame {
	return Frame{Type: "fallback", Channel: string(core.ChannelSMS), Reason: reason}
}

// Topic is the broker channel of one approval.
func Topic(approvalID string) string { return "approval:" + approvalID }

func (f Frame) bytes() []byte {
	b, _ := json.Marshal(f)
	return b
}
