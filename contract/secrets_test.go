package contract_test

import (
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
)

// TestRotateSecret is the portal's set with keepPrevious: the new secret
// first, the previous one on the next line, a secret with spaces kept
// whole; a value the format cannot hold is refused naming the key, never
// quoting the value.
func TestRotateSecret(t *testing.T) {
	const gh = "It's a Secret to Everybody"
	cases := []struct {
		next, current string
		keep          bool
		want          string
		kept          bool
	}{
		{gh, "", true, gh, false},
		{"new secret", gh, true, "new secret\n" + gh, true},
		{"newer", "new secret\n" + gh, true, "newer\nnew secret", true},
		{gh, gh, true, gh, false},
		{"new secret", gh, false, "new secret", false},
	}
	for _, tc := range cases {
		got, kept, err := contract.RotateSecret("hookline:signingSecrets.gh", tc.next, tc.current, tc.keep)
		if err != nil || got != tc.want || kept != tc.kept {
			t.Errorf("RotateSecret(%q, %q, %v) = %q, %v, %v; want %q, %v", tc.next, tc.current, tc.keep, got, kept, err, tc.want, tc.kept)
		}
		if vals := contract.SecretValues(got); vals[0] != tc.next {
			t.Errorf("%q reads back as %q", got, vals)
		}
	}
	for _, bad := range []string{"", "line one\nline two", "cr\rinside", " leading", "trailing\t"} {
		_, _, err := contract.RotateSecret("hookline:tokens.hooks", bad, "", true)
		if err == nil || !strings.HasPrefix(err.Error(), "hookline:tokens.hooks: ") || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("%q: got %v, want an error naming the key and not the value", bad, err)
		}
	}
}
