package portal_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/portal"
)

// loadTeams are the teams of the load test, each with a token.
var loadTeams = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// BenchmarkPortalLoad (make bench) drives the portal on loopback with 50
// concurrent validate requests of realistic size (three sources each, five
// teams), then 10 concurrent previews through the real engine (two per
// team), each client honouring 429 + Retry-After. It reports p50/p95
// latency as ratios to one request of the same kind alone in the same run,
// the 429s, peak RSS of the portal and of its engine processes, and checks
// that no team ever ran more jobs than TeamJobs nor the portal more than
// Jobs, so one team's load delays another's by at most the job cap.
func BenchmarkPortalLoad(b *testing.B) {
	plugins, pack := harness.RequireEngine(b)
	teams := map[string][]string{}
	for _, t := range loadTeams {
		teams[t] = []string{portal.HashToken("tok-" + t)}
	}
	limits := portal.Limits{Jobs: 4, TeamJobs: 2, Plans: 4, RetryAfter: time.Second}
	srv, err := portal.New(portal.Options{
		Tokens: &portal.Tokens{Teams: teams}, Limits: limits,
		Engine: engine.Options{ProjectDir: projectDir, StateDir: b.TempDir(), Passphrase: "bench", PolicyPack: pack,
			APIGatewayAccount: awsmodel.APIGatewayAccount,
			Env: map[string]string{"PATH": plugins + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOOKLINE_FAKE_AWS_APIGW_ROLE": awsmodel.APIGatewayCloudWatchRole}},
	})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	body := func(env string) []byte {
		return []byte(fmt.Sprintf(`{"env":%q,"region":"eu-west-1","sources":[`+
			`{"name":"orders","signature":{"scheme":"standard-webhooks"},"groupBy":"header:X-Customer"},`+
			`{"name":"refunds","signature":{"scheme":"github"}},`+
			`{"name":"billing","signature":{"scheme":"stripe"},"groupBy":"body:$.data.object.customer","idempotency":{"enabled":true}}]}`, env))
	}
	// do sends a request until it is not refused with 429, waiting as told.
	do := func(team, method, path string, payload []byte) (int, map[string]any, int) {
		refused := 0
		for {
			code, v := callAs(b, hs, "tok-"+team, method, path, payload)
			if code != http.StatusTooManyRequests {
				return code, v, refused
			}
			refused++
			time.Sleep(limits.RetryAfter)
		}
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		slices.Sort(ds)
		return ds[int(float64(len(ds)-1)*p)]
	}

	// Baselines: one of each, alone.
	start := time.Now()
	if code, v, _ := do("alpha", "POST", "/api/stacks/alpha/base/validate", body("base")); code != http.StatusOK {
		b.Fatalf("validate: %d %v", code, v)
	}
	validateAlone := time.Since(start)
	start = time.Now()
	code, job, _ := do("alpha", "POST", "/api/stacks/alpha/base/preview", body("base"))
	if code != http.StatusAccepted {
		b.Fatalf("preview: %d %v", code, job)
	}
	if j := waitJob(b, hs, "tok-alpha", job); j["status"] != "succeeded" {
		b.Fatalf("preview: %v", j)
	}
	previewAlone := time.Since(start)

	b.ResetTimer()
	// 50 concurrent validates.
	var mu sync.Mutex
	var lat []time.Duration
	refusals := 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			team := loadTeams[i%len(loadTeams)]
			env := "v" + strconv.Itoa(i%10)
			t0 := time.Now()
			code, v, refused := do(team, "POST", "/api/stacks/"+team+"/"+env+"/validate", body(env))
			d := time.Since(t0)
			if code != http.StatusOK {
				b.Errorf("validate %s/%s: %d %v", team, env, code, v)
			}
			mu.Lock()
			lat, refusals = append(lat, d), refusals+refused
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	b.ReportMetric(float64(pct(lat, .5))/float64(validateAlone), "validate-p50/alone")
	b.ReportMetric(float64(pct(lat, .95))/float64(validateAlone), "validate-p95/alone")
	b.ReportMetric(float64(validateAlone.Milliseconds()), "validate-alone-ms")
	b.ReportMetric(float64(refusals), "validate-429s")

	// 10 concurrent previews, two per team; sample how many jobs run.
	stop := make(chan struct{})
	maxTeam, maxAll := 0, 0
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			perTeam, all := srv.RunningJobs()
			for _, n := range perTeam {
				maxTeam = max(maxTeam, n)
			}
			maxAll = max(maxAll, all)
		}
	}()
	lat, refusals = nil, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			team := loadTeams[i%len(loadTeams)]
			env := "p" + strconv.Itoa(i/len(loadTeams))
			t0 := time.Now()
			code, job, refused := do(team, "POST", "/api/stacks/"+team+"/"+env+"/preview", body(env))
			if code != http.StatusAccepted {
				b.Errorf("preview %s/%s: %d %v", team, env, code, job)
				return
			}
			if j := waitJob(b, hs, "tok-"+team, job); j["status"] != "succeeded" {
				b.Errorf("preview %s/%s: %v", team, env, j)
			}
			mu.Lock()
			lat, refusals = append(lat, time.Since(t0)), refusals+refused
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	close(stop)
	b.StopTimer()
	if len(lat) == 0 {
		b.Fatal("no preview finished")
	}
	b.ReportMetric(float64(pct(lat, .5))/float64(previewAlone), "preview-p50/alone")
	b.ReportMetric(float64(pct(lat, .95))/float64(previewAlone), "preview-p95/alone")
	b.ReportMetric(previewAlone.Seconds(), "preview-alone-s")
	b.ReportMetric(float64(refusals), "preview-429s")
	b.ReportMetric(float64(maxTeam), "max-team-jobs")
	b.ReportMetric(float64(maxAll), "max-jobs")
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	b.ReportMetric(float64(self.Maxrss)/1024, "portal-peak-rss-MiB")
	b.ReportMetric(float64(children.Maxrss)/1024, "engine-process-peak-rss-MiB")
	if maxTeam > limits.TeamJobs || maxAll > limits.Jobs {
		b.Errorf("a team ran %d jobs at once (limit %d), the portal %d (limit %d)", maxTeam, limits.TeamJobs, maxAll, limits.Jobs)
	}
}

// callAs calls the API with a bearer token.
func callAs(b *testing.B, hs *httptest.Server, token, method, path string, payload []byte) (int, map[string]any) {
	b.Helper()
	req, _ := http.NewRequest(method, hs.URL+path, bytesReader(payload))
	req.Header.Set("Authorization", "Bearer "+token)
	return doJSON(b, req)
}

// waitJob polls a job until it ends.
func waitJob(b *testing.B, hs *httptest.Server, token string, job map[string]any) map[string]any {
	b.Helper()
	id, _ := job["id"].(string)
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		_, j := callAs(b, hs, token, "GET", "/api/jobs/"+id, nil)
		if j["status"] != "running" {
			return j
		}
	}
	b.Fatalf("job %s did not end", id)
	return nil
}
