package portal

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// Tokens is the token file: hashed bearer tokens per team, and admins.
//
//	{"teams": {"payments": ["sha256:…"]}, "admins": ["sha256:…"]}
type Tokens struct {
	Teams  map[string][]string `json:"teams"`
	Admins []string            `json:"admins"`
}

// HashToken is how a token is stored in the token file.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var teamRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)

// LoadTokens reads and checks a token file.
func LoadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	for team, hashes := range t.Teams {
		if !teamRE.MatchString(team) {
			return nil, fmt.Errorf("token file %s: team %q must be 1-10 lower-case letters or digits", path, team)
		}
		for _, h := range hashes {
			if !validHash(h) {
				return nil, fmt.Errorf("token file %s: team %s: %q is not sha256:<64 hex> (use hookline portal --hash-token)", path, team, h)
			}
		}
	}
	for _, h := range t.Admins {
		if !validHash(h) {
			return nil, fmt.Errorf("token file %s: admin %q is not sha256:<64 hex>", path, h)
		}
	}
	return &t, nil
}

func validHash(h string) bool {
	return len(h) == 71 && h[:7] == "sha256:" && func() bool { _, err := hex.DecodeString(h[7:]); return err == nil }()
}

// Identity is who a request comes from.
type Identity struct {
	Team  string
	Admin bool
}

// identify finds the identity of a bearer token (constant-time per entry).
func (t *Tokens) identify(token string) (Identity, bool) {
	if token == "" {
		return Identity{}, false
	}
	return t.byHash(HashToken(token))
}

// byHash finds the identity of a stored token hash (constant-time per
// entry): a bearer token's, or the one a session signed in with.
func (t *Tokens) byHash(hash string) (Identity, bool) {
	h := []byte(hash)
	var id Identity
	found := false
	for team, hashes := range t.Teams {
		for _, s := range hashes {
			if subtle.ConstantTimeCompare(h, []byte(s)) == 1 {
				id, found = Identity{Team: team}, true
			}
		}
	}
	for _, s := range t.Admins {
		if subtle.ConstantTimeCompare(h, []byte(s)) == 1 {
			id, found = Identity{Admin: true}, true
		}
	}
	return id, found
}

// may reports whether id may see and change team's stacks.
func (id Identity) may(team string) bool { return id.Admin || id.Team == team }
