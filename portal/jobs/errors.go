package jobs

import (
	"errors"
	"fmt"

	"github.com/hookline/hookline/engine"
)

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

// UnavailableError is something the portal cannot do where it runs: what
// is missing (the Pulumi CLI, AWS credentials, or everything AWS in the
// no-AWS mode) and how to provide it, in a sentence a team can act on.
type UnavailableError struct {
	Missing, How string
}

// Error says what is missing and how to provide it.
func (e *UnavailableError) Error() string { return e.Missing + ": " + e.How }

// offlineHow is how to leave the no-AWS mode.
const offlineHow = "restart it without --offline, with the Pulumi CLI (make tools builds bin/pulumi) and AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"

// offlineRefusal is what needs AWS, refused in the no-AWS mode.
func offlineRefusal(what string) *UnavailableError {
	return &UnavailableError{Missing: "the portal runs in no-AWS mode (previews of the offline plan only), so " + what + " is unavailable",
		How: "to deploy, " + offlineHow}
}

// Explain is err as a team can act on it: the engine's failures for want of
// the Pulumi CLI or of AWS credentials become an *UnavailableError saying
// what is missing and how to provide it (never the CLI's or AWS's own
// text); any other error is itself.
func Explain(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrNoCLI):
		return &UnavailableError{Missing: "the Pulumi CLI is not installed where the portal runs",
			How: "run make tools (it builds bin/pulumi), or install Pulumi and put it on PATH, then restart the portal; to try it without AWS, start it with hookline portal --offline"}
	case errors.Is(err, engine.ErrNoCredentials):
		return &UnavailableError{Missing: "no AWS credentials were found where the portal runs",
			How: "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the portal and restart it; to preview without AWS, start it with hookline portal --offline"}
	}
	return err
}
