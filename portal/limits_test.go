package portal_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/portal"
)

// TestJobLimits: a team runs at most TeamJobs engine jobs and the portal at
// most Jobs; a request over either is a 429 with Retry-After, and a team at
// its own limit does not stop another team. Finished jobs leave memory after
// JobRetention.
func TestJobLimits(t *testing.T) {
	srv, hs := portalWith(t, portal.Limits{Jobs: 3, TeamJobs: 2, JobRetention: 100 * time.Millisecond}, portal.DefaultTimeouts)
	_, finishA, _ := srv.StartTestJob("pay", "pay-a")
	_, finishB, _ := srv.StartTestJob("pay", "pay-b")

	// Through the API: pay's third job is refused before any engine runs.
	req, _ := http.NewRequest("POST", hs.URL+"/api/stacks/pay/c/preview", strings.NewReader(`{"env":"c","region":"eu-west-1","sources":[{"name":"orders","signature":{"scheme":"none"}}]}`))
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("pay's third job: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another team is not held back by pay's limit…
	opsA, finishOps, code := srv.StartTestJob("ops", "ops-a")
	if code != 0 {
		t.Fatalf("ops refused (%d) while only pay is at its limit", code)
	}
	// …until the portal's own limit.
	if _, _, code := srv.StartTestJob("ops", "ops-b"); code != http.StatusTooManyRequests {
		t.Fatalf("a fourth job with a limit of 3: %d", code)
	}
	finishA(nil)
	if _, _, code := srv.StartTestJob("ops", "ops-b"); code != 0 {
		t.Fatalf("a job freed a slot, yet ops-b is refused (%d)", code)
	}
	finishB(nil)
	finishOps(nil)

	// Finished jobs expire.
	if code, _ := call(t, hs, "ops", "GET", "/api/jobs/"+opsA, nil); code != http.StatusOK {
		t.Fatalf("a just-finished job: %d", code)
	}
	time.Sleep(150 * time.Millisecond)
	if code, _ := call(t, hs, "ops", "GET", "/api/jobs/"+opsA, nil); code != http.StatusNotFound {
		t.Errorf("a job finished longer than the retention ago: %d", code)
	}
}

// TestPlanLimit: offline plans (validate) beyond the limit are a 429, not a
// queue of work in memory.
func TestPlanLimit(t *testing.T) {
	srv, hs := portalWith(t, portal.Limits{Plans: 1}, portal.DefaultTimeouts)
	release := srv.HoldPlanSlot()
	defer release()
	code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/validate", request("dev", nil))
	if code != http.StatusTooManyRequests {
		t.Errorf("validate with every plan slot taken: %d %v", code, v)
	}
}

// TestTooManySourcesIsRefusedAtOnce: the reproduced 64 KiB request with
// 1,400 sources (569 s and 16 GB before) is refused by validation, naming
// the bound, before any plan runs.
func TestTooManySourcesIsRefusedAtOnce(t *testing.T) {
	_, hs := portalWith(t, portal.Limits{}, portal.DefaultTimeouts)
	var b strings.Builder
	b.WriteString(`{"env":"dev","region":"eu-west-1","sources":[`)
	for i := 0; i < 1400; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"s%d","signature":{"scheme":"none"}}`, i)
	}
	b.WriteString(`]}`)
	if b.Len() > portal.MaxBody {
		t.Fatalf("the request is %d bytes, over the body limit", b.Len())
	}
	code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/validate", []byte(b.String()))
	if code != http.StatusBadRequest || v["field"] != "sources" || !strings.Contains(fmt.Sprint(v["error"]), "at most 25") {
		t.Errorf("got %d %v", code, v)
	}
}
