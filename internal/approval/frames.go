package approval

import (
	"encoding/json"

	"github.com/approvald/approvald/internal/core"
)

// Frame is one websocket message of the contract. The same JSON travels on
// the broker, so every instance forwards it unchanged.
type Frame struct {
	Type    string `json:"type"` // "status" or "fallback"
	Status  string `json:"status,omitempty"`
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Final reports whether the frame ends the approval.
func (f Frame) Final() bool {
	return f.Type == "status" && f.Status != string(core.ApprovalPending)
}

// StatusFrame is the current state of a, as sent on connect.
func StatusFrame(a *core.Approval) Frame {
	f := Frame{Type: "status", Status: string(a.Status)}
	switch a.Status {
	case core.ApprovalPending:
		// The reason of a fallback (or push_timeout) goes along, so a
		// browser that reconnects learns what it may have missed.
		f.Channel, f.Reason = string(a.Channel), a.Reason
		if f.Reason == "" && a.TimeoutAnnouncedAt != nil {
			f.Reason = core.ReasonPushTimeout
		}
	case core.ApprovalDenied:
		f.Reason = a.Reason
	}
	return f
}

func fallbackFrame(reason string) Frame {
	return Frame{Type: "fallback", Channel: string(core.ChannelSMS), Reason: reason}
}

// Channel is the broker channel of one approval.
func Channel(approvalID string) string { return "approval:" + approvalID }

func (f Frame) bytes() []byte {
	b, _ := json.Marshal(f)
	return b
}
