package core

import "time"

// ApprovalChange is one transition of a pending approval as the approval
// state machine (package approval) decides it and a store writes it: a
// Decided, a FellBack or a CodeSent. The store writes exactly the change's
// fields, and only while the approval is pending and unexpired.
type ApprovalChange interface{ approvalChange() }

// Decided ends an approval: approved (Method set) or denied (Reason set).
// It is written to status, reason, method, decided_at and decided_by.
type Decided struct {
	Status ApprovalStatus // ApprovalApproved or ApprovalDenied
	Reason string         // why it was denied
	Method string         // how it was approved
	At     time.Time
	By     string // the deciding device's id; "" for a code
}

func (Decided) approvalChange() {}

// FellBack moves a pending approval to the code channel (channel sms), for
// Reason, and sets how long it lives from then on (expires_at).
type FellBack struct {
	Reason    string
	ExpiresAt time.Time
}

func (FellBack) approvalChange() {}

// CodeSent records the hash of a code just texted for the approval
// (code_hash, code_sent_at).
type CodeSent struct {
	CodeHash string
	At       time.Time
}

func (CodeSent) approvalChange() {}
