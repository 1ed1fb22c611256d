package portal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/portal/jobs"
)

// replica is a `hookline portal` process the test started in a process
// group of its own (it, its Pulumi CLIs and their plugins), so a SIGKILL of
// the group is a machine gone.
type replica struct {
	name, url string
	cmd       *exec.Cmd
	log       *bytes.Buffer
	logMu     *sync.Mutex
}

// replicaEnv is what both replicas run with: the test-double provider
// first on PATH, the one passphrase of the shared backend, dynalite for
// DynamoDB and every other AWS endpoint closed (nothing else may be
// called; the Pulumi backend's S3 endpoint is in its URL, s3Backend),
// static credentials any signer (and s3rver) takes.
func replicaEnv(plugins, dynamo string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(k, "AWS_") || k == "PATH" || strings.HasPrefix(k, "HOOKLINE_")
	})
	return append(env, "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOOKLINE_PORTAL_PASSPHRASE=test-only", "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=http://127.0.0.1:9", "AWS_ENDPOINT_URL_DYNAMODB="+dynamo)
}

// startReplica starts `hookline portal` on a free loopback port and waits
// until it answers.
func startReplica(t *testing.T, bin, name, root string, args, env []string) *replica {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &replica{name: name, url: "http://" + addr, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	r.cmd = exec.Command(bin, append([]string{"portal", "--addr", addr, "--data", filepath.Join(root, name)}, args...)...)
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = lockedWriter{r.log, r.logMu}, lockedWriter{r.log, r.logMu}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("replica %s's output:\n%s", name, r.output())
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(r.url + "/static/portal.css")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) || r.cmd.ProcessState != nil {
			t.Fatalf("replica %s did not start: %v\n%s", name, err, r.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill ends the replica's whole process group with SIGKILL: no deferred
// unlock, no lease given back, no Pulumi CLI left to finish its update.
func (r *replica) kill() {
	if r.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	_ = r.cmd.Wait()
}

func (r *replica) output() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// groupMembers lists the processes left in process group pgid.
func groupMembers(pgid int) []string {
	var out []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state, ppid, pgrp…
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, string(b[:i+1]))
		}
	}
	return out
}

// apiCall calls a replica's API as team who.
func apiCall(t *testing.T, r *replica, who, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, r.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+tokens[who])
	return doJSON(t, req)
}

// awaitJob polls a replica until job id ended, and returns its view.
func awaitJob(t *testing.T, r *replica, who, id string, limit time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		code, v := apiCall(t, r, who, "GET", "/api/jobs/"+id, nil)
		if code != http.StatusOK {
			t.Fatalf("job %s on %s: %d %v", id, r.name, code, v)
		}
		if v["status"] != string(jobs.StatusRunning) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s on %s still runs after %v: %v", id, r.name, limit, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// follow reads a job's event stream on a replica until a data line
// satisfies until (or the stream ends with its done event), and returns
// the data lines read and whether until was met.
func follow(t *testing.T, r *replica, who, id string, until func(string) bool, limit time.Duration) ([]string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url+"/api/jobs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the event stream of %s on %s: %v", id, r.name, err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "":
			d := strings.TrimPrefix(line, "data: ")
			lines = append(lines, d)
			if until != nil && until(d) {
				return lines, true
			}
		case strings.HasPrefix(line, "data: ") && event == "done":
			return lines, until == nil
		case line == "":
			event = ""
		}
	}
	return lines, false
}

// oneSource is a request with one source on an HTTP API: the program
// needs no look-up of API Gateway's account settings.
func oneSource(env string) map[string]any {
	return map[string]any{"env": env, "region": "eu-west-1", "ingress": "http", "sources": []any{
		map[string]any{"name": "orders", "auth": map[string]any{"type": "signature"}, "signature": map[string]any{"scheme": "standard-webhooks"}},
	}}
}

// lockObjects lists the lock objects of a DIY backend in bucket
// (.pulumi/locks/…).
func lockObjects(t *testing.T, s3c *s3.Client, bucket string) []string {
	t.Helper()
	var out []string
	pages := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(".pulumi/locks/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list the locks in s3://%s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// pendingOperations reads the pending operations of a stack's checkpoint
// in a DIY backend in bucket.
func pendingOperations(t *testing.T, s3c *s3.Client, bucket, stack string) []any {
	t.Helper()
	obj, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(".pulumi/stacks/hookline/" + stack + ".json")})
	if err != nil {
		t.Fatalf("read %s's checkpoint in s3://%s: %v", stack, bucket, err)
	}
	defer obj.Body.Close()
	var cp struct {
		Checkpoint struct {
			Latest struct {
				Pending []any `json:"pending_operations"`
			} `json:"latest"`
		} `json:"checkpoint"`
	}
	if err := json.NewDecoder(obj.Body).Decode(&cp); err != nil {
		t.Fatal(err)
	}
	return cp.Checkpoint.Latest.Pending
}

// s3Backend is the Pulumi backend URL of a bucket in the S3-compatible
// server at endpoint, in the form the Pulumi CLI (its DIY backend,
// gocloud.dev's s3blob with the AWS SDK v2) opens: a custom endpoint
// (its scheme, http, is used as given), path-style addressing, the
// region; credentials come from the environment.
func s3Backend(bucket, endpoint string) string {
	return "s3://" + bucket + "?" + url.Values{"endpoint": {endpoint}, "use_path_style": {"true"}, "region": {"eu-west-1"}}.Encode()
}

// TestReplicas: two `hookline portal` processes share an s3:// Pulumi
// backend in s3rver and a jobs table in dynalite, as two tasks of the
// service share an S3 bucket and a DynamoDB table.
//
//   - A burst of previews split across both never runs more jobs than the
//     portal's limits (4, 2 per team), as the table counts them while they
//     run, and the rest are refused with 429 naming the limit.
//   - A job started on A is read, and its event stream followed, from B.
//   - A is killed (SIGKILL of its process group) mid-apply, while the
//     test-double provider holds a create: B marks the job interrupted once
//     its lease lapses, clears the stack's engine lock and the pending
//     operations (pulumi cancel, stack export/import), frees the portal's
//     lock; nothing is left locked, a preview and an apply then succeed on
//     B, and the job's page on B says what to do. Both figures (a job read
//     from the other replica; SIGKILL to interrupted) are logged.
//   - The environment's page on B shows the audit log of requests made on
//     either replica.
func TestReplicas(t *testing.T) {
	plugins, pack := harness.RequireEngine(t)
	bin := harness.Binary(t, "hookline", build.Spec{Package: "./cmd/hookline"})
	dynamo, client := nodepeer.DynamoDB(t)
	const table, lease = "portal-jobs", 3 * time.Second
	if _, err := client.CreateTable(context.Background(), jobs.TableInput(table)); err != nil {
		t.Fatal(err)
	}
	store := jobs.NewDynamoStore(client, table) // the test's own look at the table

	const bucket = "hookline-state"
	s3Endpoint := nodepeer.S3rver(t)
	s3c := nodepeer.S3Client(s3Endpoint) // the test's own look at the bucket
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	backend := s3Backend(bucket, s3Endpoint)
	// One engine run makes the bucket a Pulumi backend (its .pulumi/meta.yaml)
	// before the replicas start. s3rver writes an object as a file, not
	// atomically as S3 does, so a burst of first operations could otherwise
	// read it half-written ("corrupt store: missing version").
	initBackend := exec.Command(filepath.Join(harness.ProjectDir(t), "bin", "pulumi"), "stack", "ls", "--all", "--non-interactive")
	if _, err := os.Stat(initBackend.Path); err != nil {
		initBackend.Path, _ = exec.LookPath("pulumi")
	}
	initBackend.Env = append(replicaEnv(plugins, dynamo), "PULUMI_BACKEND_URL="+backend, "PULUMI_CONFIG_PASSPHRASE=test-only")
	if out, err := initBackend.CombinedOutput(); err != nil {
		t.Fatalf("initialise the backend: %v\n%s", err, out)
	}
	if _, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(".pulumi/meta.yaml")}); err != nil {
		t.Fatalf("the engine run left no .pulumi/meta.yaml in s3://%s: %v", bucket, err)
	}

	root := t.TempDir()
	tokensFile := filepath.Join(root, "tokens.json")
	tf, _ := json.Marshal(portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}, "ops": {portal.HashToken(tokens["ops"])},
		"web": {portal.HashToken(tokens["web"])}}})
	if err := os.WriteFile(tokensFile, tf, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--tokens", tokensFile, "--backend", backend, "--policy-pack", pack, "--offline=false",
		"--dir", harness.ProjectDir(t), "--jobs-table", table, "--jobs-lease", lease.String()}
	env := replicaEnv(plugins, dynamo)
	// A's engine holds the event source mappings' creation (never
	// released): an apply on A stays mid-update until A dies.
	holdEnv := append(slices.Clone(env), "HOOKLINE_FAKE_AWS_HOLD="+filepath.Join(root, "never"),
		"HOOKLINE_FAKE_AWS_HOLD_TYPE=aws:lambda/eventSourceMapping:EventSourceMapping")
	var a, b *replica
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startReplica(t, bin, "a", root, args, holdEnv) }()
	go func() { defer wg.Done(); b = startReplica(t, bin, "b", root, args, env) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}

	t.Run("burst", func(t *testing.T) {
		// 12 previews at once, 4 per team, half on each replica.
		type answer struct {
			team string
			code int
			v    map[string]any
		}
		answers := make([]answer, 12)
		stopWatch := make(chan struct{})
		var peak, peakTeam int
		watched := make(chan struct{})
		go func() { // what the table says runs, every 20 ms
			defer close(watched)
			for {
				select {
				case <-stopWatch:
					return
				case <-time.After(20 * time.Millisecond):
				}
				running, err := store.Running(context.Background())
				if err != nil {
					continue
				}
				all := 0
				for _, n := range running {
					all += n
					peakTeam = max(peakTeam, n)
				}
				peak = max(peak, all)
			}
		}()
		var burst sync.WaitGroup
		for i := range answers {
			team := []string{"pay", "ops", "web"}[i%3]
			r := []*replica{a, b}[i%2]
			burst.Add(1)
			go func() {
				defer burst.Done()
				code, v := apiCall(t, r, team, "POST", fmt.Sprintf("/api/stacks/%s/b%d/preview", team, i), oneSource(fmt.Sprintf("b%d", i)))
				answers[i] = answer{team, code, v}
			}()
		}
		burst.Wait()
		accepted, perTeam := 0, map[string]int{}
		for _, ans := range answers {
			switch msg, _ := ans.v["error"].(string); {
			case ans.code == http.StatusAccepted:
				accepted++
				perTeam[ans.team]++
			case ans.code != http.StatusTooManyRequests || !strings.Contains(msg, "its limit"):
				t.Errorf("a preview of the burst: %d %v, want 202 or 429 naming the limit", ans.code, ans.v)
			}
		}
		if accepted != 4 {
			t.Errorf("%d previews of 12 accepted across both replicas, want the portal's limit, 4", accepted)
		}
		for team, n := range perTeam {
			if n > 2 {
				t.Errorf("team %s got %d previews at once, over its limit of 2", team, n)
			}
		}
		for i, ans := range answers {
			if ans.code == http.StatusAccepted {
				// Each is read from the replica that did not start it.
				v := awaitJob(t, []*replica{b, a}[i%2], ans.team, ans.v["id"].(string), 3*time.Minute)
				if v["status"] != string(jobs.StatusSucceeded) {
					t.Errorf("preview %d: %v %v", i, v["status"], v["error"])
				}
			}
		}
		close(stopWatch)
		<-watched
		if peak > 4 || peakTeam > 2 || peak == 0 {
			t.Errorf("the jobs table counted at most %d jobs running at once (%d for one team), want 1 to 4 (2)", peak, peakTeam)
		}
		t.Logf("burst: %d of 12 accepted, at most %d running at once (%d per team) as the table counted them", accepted, peak, peakTeam)
	})

	// A preview on A, read and followed from B.
	code, prev := apiCall(t, a, "pay", "POST", "/api/stacks/pay/dev/preview", oneSource("dev"))
	if code != http.StatusAccepted {
		t.Fatalf("preview on A: %d %v", code, prev)
	}
	pid := prev["id"].(string)
	var reads []time.Duration
	for range 5 {
		start := time.Now()
		code, v := apiCall(t, b, "pay", "GET", "/api/jobs/"+pid, nil)
		reads = append(reads, time.Since(start))
		if code != http.StatusOK || v["id"] != pid {
			t.Fatalf("the job A started, read on B: %d %v", code, v)
		}
	}
	lines, _ := follow(t, b, "pay", pid, nil, 3*time.Minute)
	if v := awaitJob(t, b, "pay", pid, time.Minute); v["status"] != string(jobs.StatusSucceeded) || !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "summary: ")
	}) {
		t.Fatalf("the preview on A, followed on B: %v %v, log %q", v["status"], v["error"], lines)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if resp, err := browser.PostForm(b.url+"/login", url.Values{"token": {tokens["pay"]}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	var pages []time.Duration
	for range 5 {
		start := time.Now()
		resp, err := browser.Get(b.url + "/jobs/" + pid)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages = append(pages, time.Since(start))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="apply-form"`) {
			t.Fatalf("the preview's page on B: %d, no apply form:\n%s", resp.StatusCode, body)
		}
	}

	// An apply on A, followed from B until it creates the held mapping.
	code, app := apiCall(t, a, "pay", "POST", "/api/stacks/pay/dev/apply", oneSource("dev"))
	if code != http.StatusAccepted {
		t.Fatalf("apply on A: %d %v", code, app)
	}
	aid := app["id"].(string)
	if _, held := follow(t, b, "pay", aid, func(l string) bool {
		return strings.HasPrefix(l, "create aws:lambda/eventSourceMapping:EventSourceMapping")
	}, 3*time.Minute); !held {
		t.Fatalf("the apply on A, followed on B, never reached the held create: %v", awaitJob(t, b, "pay", aid, time.Second))
	}
	if locks := lockObjects(t, s3c, bucket); len(locks) == 0 {
		t.Fatal("the apply mid-update holds no lock in the backend: nothing to prove")
	} else {
		t.Logf("the apply's lock in s3://%s mid-update: %v", bucket, locks)
	}

	pgid := a.cmd.Process.Pid
	killed := time.Now()
	a.kill()
	if left := groupMembers(pgid); len(left) > 0 {
		t.Errorf("processes of A left after the kill: %v", left)
	}
	var interruptedAfter, recoveredAfter time.Duration
	var v map[string]any
	for deadline := killed.Add(lease + 90*time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, v = apiCall(t, b, "pay", "GET", "/api/jobs/"+aid, nil)
		if v["status"] == string(jobs.StatusInterrupted) && interruptedAfter == 0 {
			interruptedAfter = time.Since(killed)
		}
		if msg, _ := v["error"].(string); strings.Contains(msg, "Run a preview") {
			recoveredAfter = time.Since(killed)
			break
		}
	}
	if recoveredAfter == 0 {
		t.Fatalf("the apply A ran, after A was killed: %v %v", v["status"], v["error"])
	}
	if msg := v["error"].(string); !strings.Contains(msg, "the stack's lock is cleared") {
		t.Errorf("the interrupted apply says %q", msg)
	}
	if interruptedAfter < lease/2 {
		t.Errorf("interrupted %v after the kill: before its lease (%v) could lapse", interruptedAfter, lease)
	}
	if locks := lockObjects(t, s3c, bucket); len(locks) > 0 {
		t.Errorf("locks left in the backend after the recovery: %v", locks)
	}
	if p := pendingOperations(t, s3c, bucket, "pay-dev"); len(p) > 0 {
		t.Errorf("pending operations left in pay-dev's state: %v", p)
	}
	if h, err := store.Holder(context.Background(), "pay-dev"); err != nil || h != "" {
		t.Errorf("the portal's lock of pay-dev after the recovery: %q %v", h, err)
	}
	resp, err := browser.Get(b.url + "/jobs/" + aid)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`status-interrupted`, `id="interrupted"`, `id="preview-again"`, "Preview the environment"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the interrupted apply's page on B has no %s", want)
		}
	}

	// The stack is usable again: a preview, then an apply, on B.
	code, prev2 := apiCall(t, b, "pay", "POST", "/api/stacks/pay/dev/preview", oneSource("dev"))
	if code != http.StatusAccepted {
		t.Fatalf("preview on B after the recovery: %d %v", code, prev2)
	}
	if v := awaitJob(t, b, "pay", prev2["id"].(string), 3*time.Minute); v["status"] != string(jobs.StatusSucceeded) {
		t.Fatalf("preview on B after the recovery: %v %v", v["status"], v["error"])
	}
	code, app2 := apiCall(t, b, "pay", "POST", "/api/stacks/pay/dev/apply", oneSource("dev"))
	if code != http.StatusAccepted {
		t.Fatalf("apply on B after the recovery: %d %v", code, app2)
	}
	if v := awaitJob(t, b, "pay", app2["id"].(string), 3*time.Minute); v["status"] != string(jobs.StatusSucceeded) {
		t.Fatalf("apply on B after the recovery: %v %v", v["status"], v["error"])
	}
	if locks := lockObjects(t, s3c, bucket); len(locks) > 0 {
		t.Errorf("locks left after the apply on B: %v", locks)
	}

	// The environment's page on B: the audit log of both replicas' requests.
	resp, err = browser.Get(b.url + "/stacks/dev")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	payID := portal.TokenSubject(portal.HashToken(tokens["pay"]))
	if !strings.Contains(string(page), `id="audit-log"`) || strings.Count(string(page), payID+" ("+portal.ViaToken+")") < 4 || !strings.Contains(string(page), "job "+aid) {
		t.Errorf("the environment's page on B shows no audit log of the previews and applies on A and B:\n%s", page)
	}

	sort.Slice(reads, func(i, j int) bool { return reads[i] < reads[j] })
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	t.Logf("a job A runs, read on B: API %v median (%v–%v), page %v median (%v–%v), 5 reads each", reads[2], reads[0], reads[4], pages[2], pages[0], pages[4])
	t.Logf("SIGKILL of A mid-apply to the job interrupted on B: %v (lease %v); to its lock cleared and the job finished: %v", interruptedAfter.Round(time.Millisecond),
		lease, recoveredAfter.Round(time.Millisecond))
}
