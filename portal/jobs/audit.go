package jobs

import (
	"context"
	"time"
)

// AuditEntry is one state-changing request to the portal, as the audit log
// keeps it: who made it, on what, and what came of it. It never holds a
// secret's value, nor a token: Subject is the session's subject or the
// token's id.
type AuditEntry struct {
	Time time.Time `json:"time"`
	// Subject is who made the request: an SSO subject, or "token:<id>"
	// (the first 12 hex digits of the token's SHA-256, as the token file
	// lists it); "" when the caller was not identified.
	Subject string `json:"subject"`
	// Via is how the caller was identified: "bearer" (the API's token),
	// "session" (the pages' sign-in), or the SSO's name.
	Via  string `json:"via"`
	Team string `json:"team,omitempty"`
	// Stack is the stack the request acted on ("" for a sign-in).
	Stack string `json:"stack,omitempty"`
	// Action is what was asked: preview, apply, destroy, redrive, secret,
	// token, pause, resume, login, logout.
	Action string `json:"action"`
	// RequestHash is the hash of the request a preview or apply ran.
	RequestHash string `json:"requestHash,omitempty"`
	// Status is the HTTP status the portal answered; Result says what
	// came of it in words ("job 3f2a…", or the refusal).
	Status int    `json:"status"`
	Result string `json:"result"`
}

// Audit appends e to the audit log.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error { return s.store.Audit(ctx, e) }

// AuditLog returns the newest limit entries of stack's audit log, newest
// first.
func (s *Service) AuditLog(ctx context.Context, stack string, limit int) ([]AuditEntry, error) {
	return s.store.AuditLog(ctx, stack, limit)
}
