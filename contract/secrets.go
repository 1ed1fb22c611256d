package contract

import (
	"fmt"
	"strings"
)

// The one rotation format of a secret parameter (signing secret, URL token,
// forward secret) and of its stack config value: the active values one per
// line, the newest first. A line break is the separator because no secret
// can hold one (ValidateSecret refuses it); a space is not, because real
// secrets hold spaces (GitHub's own example: "It's a Secret to Everybody").
//
// Parameters written in the former space-separated format: a URL token
// never holds white space (config validation refuses it), so TokenValues
// still splits a token parameter on spaces; a signing or forward secret
// cannot be told apart from a secret with a space, so its one-line value is
// one secret — a rotation left half done in the old format must be written
// again one per line.

// SecretSeparator separates the active values of a rotation.
const SecretSeparator = "\n"

// SecretValues splits a parameter's or config value into its active values:
// one per line, each trimmed of surrounding white space (a trailing
// newline or a CRLF is not part of a secret), empty lines skipped.
func SecretValues(value string) []string {
	var out []string
	for _, line := range strings.Split(value, SecretSeparator) {
		if v := strings.TrimSpace(line); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// TokenValues is the active URL tokens of a token parameter's values (as
// SecretValues returns them): a token holds no white space, so a value
// written in the former space-separated format ("<new> <old>") still
// yields both tokens.
func TokenValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// ValidateSecret reports why one value cannot be held by the rotation
// format: empty, holding a line break, or starting or ending with white
// space (which SecretValues trims). key names the config key or field in
// the error.
func ValidateSecret(key, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%s: empty secret", key)
	case strings.ContainsAny(v, "\r\n"):
		return fmt.Errorf("%s: a secret cannot hold a line break (line breaks separate the secrets of a rotation, newest first); a space is fine", key)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("%s: a secret cannot start or end with white space (it would be trimmed off)", key)
	}
	return nil
}

// ValidateSecrets checks a config value in the rotation format: at least
// one secret, each line one that ValidateSecret accepts (blank lines are
// skipped, as SecretValues skips them).
func ValidateSecrets(key, value string) error {
	n := 0
	for _, line := range strings.Split(value, SecretSeparator) {
		if line == "" {
			continue
		}
		if err := ValidateSecret(key, line); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: empty secret", key)
	}
	return nil
}

// JoinSecrets writes active values in the rotation format, newest first.
func JoinSecrets(vals ...string) string {
	return strings.Join(vals, SecretSeparator)
}

// RotateSecret is the value that sets next as a source's secret: with
// keepPrevious, next followed by the newest secret of current (the value
// held until now, in the rotation format), unless that is next already.
// kept reports whether a previous secret was kept. next must be one secret
// the format can hold; the error names key.
func RotateSecret(key, next, current string, keepPrevious bool) (value string, kept bool, err error) {
	if err := ValidateSecret(key, next); err != nil {
		return "", false, err
	}
	if !keepPrevious {
		return next, false, nil
	}
	if prev := SecretValues(current); len(prev) > 0 && prev[0] != next {
		return JoinSecrets(next, prev[0]), true, nil
	}
	return next, false, nil
}
