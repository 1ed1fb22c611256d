package jobs

import "fmt"

// The service's errors say what went wrong in terms a caller can act on;
// the portal maps each kind to an HTTP status in one place. Any other error
// is a failure of the portal or of what it drives (the backend, the engine).

// InvalidError is a request that is wrong: Field names the part of it.
type InvalidError struct {
	Field, Message string
}

// Error says which field is wrong and why.
func (e *InvalidError) Error() string { return prefixed(e.Field, e.Message) }

// NotFoundError is something that does not exist, or that the caller may
// not see (the two answer alike, so a name reveals nothing).
type NotFoundError struct {
	Field, Message string
}

// Error says what is not there.
func (e *NotFoundError) Error() string { return prefixed(e.Field, e.Message) }

// BusyError is a stack, or a source's redrive, held by a running job.
type BusyError struct {
	Stack string
	// What holds it, in words: "another operation", "a redrive of source
	// orders".
	What string
	// Job is the running job that holds it.
	Job string
}

// Error says what the stack is busy with.
func (e *BusyError) Error() string { return "stack " + e.Stack + " is busy with " + e.What }

// LimitError is a job (or plan) refused because the team, or the portal,
// runs as many as its limits allow; it can be retried later.
type LimitError struct {
	// What limit is reached, in words: "team pay runs 2 jobs, its limit".
	What string
}

// Error says which limit is reached.
func (e *LimitError) Error() string { return e.What + "; retry later" }

// NotYoursError is a stack whose hookline:team tag names another team than
// the one its name says: the portal leaves it alone.
type NotYoursError struct {
	Stack, Owner string
}

// Error names the stack and the team its tag names.
func (e *NotYoursError) Error() string {
	return fmt.Sprintf("stack %s is tagged %s=%s: its name and its owner disagree, so the portal leaves it alone", e.Stack, TagTeam, e.Owner)
}

// UpstreamError is a call to AWS on a stack's behalf that failed.
type UpstreamError struct {
	// What was being done: "read the DLQ".
	What string
	Err  error
}

// Error says what was being done and how AWS answered.
func (e *UpstreamError) Error() string { return e.What + ": " + e.Err.Error() }

// Unwrap is AWS's error.
func (e *UpstreamError) Unwrap() error { return e.Err }

func prefixed(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}
