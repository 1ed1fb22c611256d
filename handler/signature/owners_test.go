package signature_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

// ownersVector is one delivery signed, and judged, by a sender's own library.
type ownersVector struct {
	Scheme       contract.Scheme   `json:"scheme"`
	Name         string            `json:"name"`
	Secret       string            `json:"secret"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	At           int64             `json:"at"`
	OwnerAccepts bool              `json:"ownerAccepts"`
}

// TestOwnersLibraryVectors signs deliveries at test time with the owners'
// own libraries (npm: standardwebhooks, @octokit/webhooks-methods, stripe;
// pinned in testdata/owners/package-lock.json), including headers with
// several signatures and malformed siblings, and checks that hookline's
// verifier accepts exactly what the owners' verifiers accept. It needs node
// and npm; make test sets HOOKLINE_REQUIRE_NODE=1, so there it never skips.
func TestOwnersLibraryVectors(t *testing.T) {
	dir := filepath.Join("testdata", "owners")
	node := nodepeer.Node(t, dir)
	cmd := exec.Command(node, "vectors.mjs")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.mjs: %v", err)
	}
	var vectors []ownersVector
	if err := json.Unmarshal(out, &vectors); err != nil {
		t.Fatalf("vectors are not JSON: %v", err)
	}
	accepted := map[contract.Scheme]int{}
	for _, v := range vectors {
		ver, err := signature.New(v.Scheme, signature.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = ver.Verify(headers(v.Headers), []byte(v.Body), []string{v.Secret}, time.Unix(v.At, 0))
		if (err == nil) != v.OwnerAccepts {
			t.Errorf("%s %s: hookline says %v, the owner's library accepts=%v (headers %v)", v.Scheme, v.Name, err, v.OwnerAccepts, v.Headers)
		}
		if v.OwnerAccepts {
			accepted[v.Scheme]++
		}
	}
	for _, s := range []contract.Scheme{contract.SchemeStandardWebhooks, contract.SchemeGitHub, contract.SchemeStripe} {
		if accepted[s] < 3 {
			t.Errorf("%s: only %d accepted vectors; the script lost its coverage", s, accepted[s])
		}
	}
}
