package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

// TestConcurrentSecretsAllKept: eight PUTs of eight sources' signing
// secrets on one stack at once all answer 200, and the stack keeps all
// eight (secret writes on a stack are serialised; they used to read, edit
// and write the whole signingSecrets map unlocked, so most were lost while
// every PUT answered 200). A running job on the stack still refuses a
// secret at once, naming the job.
func TestConcurrentSecretsAllKept(t *testing.T) {
	const n = 8
	hs, o, srv := newPortalIn(t, "", t.TempDir())

	// The stack's config, set straight through the engine (a preview of
	// eight sources would only cost time).
	var sources []map[string]any
	for i := range n {
		sources = append(sources, map[string]any{"name": fmt.Sprintf("src%d", i), "signature": map[string]any{"scheme": "github"}})
	}
	body, _ := json.Marshal(map[string]any{"env": "dev", "region": "eu-west-1", "sources": sources})
	req, err := portal.ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := req.Config("pay")
	if err != nil {
		t.Fatal(err)
	}
	o.Stack, o.Config = "pay-dev", raw
	if _, err := engine.Open(context.Background(), o); err != nil {
		t.Fatal(err)
	}

	value := func(i int) string { return fmt.Sprintf("secret-of-src%d-%s", i, strings.Repeat("x", 24)) }
	var wg sync.WaitGroup
	codes := make([]int, n)
	answers := make([]map[string]any, n)
	for i := range n {
		wg.Go(func() {
			codes[i], answers[i] = call(t, hs, "pay", "PUT", fmt.Sprintf("/api/stacks/pay/dev/secrets/src%d", i),
				map[string]any{"kind": "signing", "value": value(i)})
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != http.StatusOK {
			t.Errorf("PUT src%d: %d %v", i, codes[i], answers[i])
		}
	}

	jid, end, _ := srv.StartTestJob("pay", "pay-dev")
	code, v := call(t, hs, "pay", "PUT", "/api/stacks/pay/dev/secrets/src0", map[string]any{"kind": "signing", "value": value(0) + "y"})
	end(nil)
	if code != http.StatusConflict || v["job"] != jid || !strings.Contains(v["error"].(string), "set the secret when it ends") {
		t.Errorf("a secret while job %s runs: %d %v", jid, code, v)
	}

	o.Config = nil
	st, err := engine.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := st.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var kept map[string]string
	if err := json.Unmarshal([]byte(cfg["hookline:signingSecrets"]), &kept); err != nil {
		t.Fatalf("signingSecrets %q: %v", cfg["hookline:signingSecrets"], err)
	}
	for i := range n {
		if got := kept[fmt.Sprintf("src%d", i)]; got != value(i) {
			t.Errorf("src%d's secret after %d concurrent PUTs: %q, want the value set (%d of %d kept)", i, n, got, len(kept), n)
		}
	}
}
