// Package signature is the handler's side of webhook signatures: New builds
// the verifier of a source's scheme from the contract's one table of schemes
// (contract.Scheme.Implementation, where each scheme's Sign sits beside its
// Verify), Reason names a verification failure for logs and metrics, and
// ParseSecrets reads a secret parameter's active secrets.
package signature

import (
	"errors"
	"time"

	"github.com/hookline/hookline/contract"
)

// Verifier checks one message against the active secrets. at is the time
// the signed timestamp is judged against: when API Gateway received the
// request (not when the handler runs, which may be hours later after
// retries or a redrive). Every failure wraps one of contract's signature
// sentinel errors (contract.ErrSignatureMismatch, …).
type Verifier interface {
	Verify(h contract.HeaderLookup, body []byte, secrets []string, at time.Time) error
}

// Options configure a verifier: the contract's scheme options (tolerance,
// and the generic hmac-sha256 scheme's header and encoding).
type Options = contract.SchemeOptions

// New returns the verifier of a scheme. An unknown scheme fails closed
// (contract.ErrUnknownScheme).
func New(s contract.Scheme, o Options) (Verifier, error) {
	return s.Implementation(o)
}

// Reason is the short, loggable name of a verification failure (never the
// signature or the secret).
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{contract.ErrSignatureMissing, "signature-missing"}, {contract.ErrSignatureMalformed, "signature-malformed"},
		{contract.ErrSignatureMismatch, "signature-mismatch"}, {contract.ErrSignatureStale, "signature-stale"},
		{contract.ErrUnknownScheme, "unknown-scheme"}, {contract.ErrNoSecret, "no-secret"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "signature-error"
}

// ParseSecrets splits a secret parameter's value into its active secrets:
// one per line (contract.SecretValues), so a rotation can hold old and new
// and a secret may hold spaces.
func ParseSecrets(value string) []string {
	return contract.SecretValues(value)
}
