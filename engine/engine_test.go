package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	awslambda "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/internal/testing/fixtures"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
)

const projectDir = ".."

var pluginDir, packBin string

func requireEngine(t *testing.T) {
	pluginDir, packBin = harness.RequireEngine(t)
}

type env struct {
	opts engine.Options
	log  string
}

func newEnv(t *testing.T, stack string) *env {
	t.Helper()
	requireEngine(t)
	raw, _, err := stackconfig.ReadStackFile(projectDir, stack)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	log := filepath.Join(state, "provider.log")
	return &env{log: log, opts: engine.Options{
		ProjectDir: projectDir, Stack: stack, Config: raw, StateDir: state, Passphrase: "test-only",
		PolicyPack: packBin,
		Env: map[string]string{
			"PATH":                    pluginDir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOOKLINE_FAKE_AWS_LOG":   log,
			"HOOKLINE_FAKE_AWS_STATE": filepath.Join(state, "account.json"),
			// An account where API Gateway's CloudWatch role is set, as
			// the program's look-up below reports.
			"HOOKLINE_FAKE_AWS_APIGW_ROLE": awsmodel.APIGatewayCloudWatchRole,
		},
		APIGatewayAccount: awsmodel.APIGatewayAccount,
	}}
}

func (e *env) open(t *testing.T) *engine.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := engine.Open(ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type call struct {
	Method, URN, Type, ID string
	Preview               bool
	Changes, Replace      []string
}

// calls reads what the test-double provider was sent.
func (e *env) calls(t *testing.T) []call {
	t.Helper()
	f, err := os.Open(e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []call
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return c
}

// findings renders violations as one sorted string, for comparison.
func findings(vs []rules.Violation) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = v.Policy + " " + v.URN + " " + v.Message
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func mandatory(vs []rules.Violation) []rules.Violation {
	var out []rules.Violation
	for _, v := range vs {
		if v.Level == rules.Mandatory {
			out = append(out, v)
		}
	}
	return out
}

// TestLifecycle: for dev and prod, a preview with the policy pack passes, up
// succeeds with the expected outputs, a second preview shows no changes,
// and destroy removes everything.
func TestLifecycle(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			t.Parallel() // own state, provider log and PATH: nothing shared
			e := newEnv(t, stack)
			s := e.open(t)
			start := time.Now()
			pre, err := s.Preview(ctx(t))
			if err != nil {
				t.Fatalf("preview: %v", err)
			}
			t.Logf("%s preview: %v in %s", stack, pre.Changes, time.Since(start).Round(time.Millisecond))
			if m := mandatory(pre.Violations); len(m) > 0 {
				t.Fatalf("mandatory violations: %v", m)
			}
			for _, v := range pre.Violations {
				if v.Policy == rules.CouldNotJudge {
					t.Errorf("the first preview left an input unjudged: %s", v.Message)
				}
			}
			if pre.Changes["create"] == 0 {
				t.Fatalf("preview creates nothing: %v", pre.Changes)
			}

			start = time.Now()
			up, err := s.Up(ctx(t))
			if err != nil {
				t.Fatalf("up: %v", err)
			}
			t.Logf("%s up: %v in %s", stack, up.Changes, time.Since(start).Round(time.Millisecond))
			endpoint, _ := up.Outputs["endpoint"].Value.(string)
			if !strings.HasPrefix(endpoint, "https://") {
				t.Errorf("endpoint output %v", up.Outputs["endpoint"])
			}
			sources, _ := up.Outputs["sources"].Value.(map[string]any)
			cfg, _ := stackconfig.Load(stack, e.opts.Config, true, nil)
			for _, src := range cfg.Sources {
				m, _ := sources[src.Name].(map[string]any)
				if q, _ := m["queueUrl"].(string); !strings.HasSuffix(q, cfg.QueueName(src)) {
					t.Errorf("source %s queueUrl = %v", src.Name, m["queueUrl"])
				}
			}
			if cfg.HTTP() {
				if _, has := up.Outputs["apiKeys"]; has || up.Outputs["ingress"].Value != "http" {
					t.Errorf("http stack outputs: ingress %v, apiKeys %v", up.Outputs["ingress"].Value, up.Outputs["apiKeys"])
				}
			} else if !up.Outputs["apiKeys"].Secret {
				t.Error("apiKeys is not a secret output")
			}

			again, err := s.Preview(ctx(t))
			if err != nil {
				t.Fatalf("second preview: %v", err)
			}
			for op, n := range again.Changes {
				if op != "same" && n > 0 {
					t.Errorf("second preview wants %d %s (a non-deterministic archive or trigger?): %v", n, op, again.Changes)
				}
			}

			// The pack config file reaches the pack: with maxReceiveCount
			// bounded to 3-4 the deployed queues (5) block a preview.
			strict := filepath.Join(t.TempDir(), "policy-config.json")
			if err := os.WriteFile(strict, []byte(`{"max-receive-count": {"maxReceiveCount": 4}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			e.opts.PolicyConfig = strict
			_, err = e.open(t).Preview(ctx(t))
			var pe *engine.PolicyError
			if !errors.As(err, &pe) || len(mandatory(pe.Violations)) == 0 || mandatory(pe.Violations)[0].Policy != "max-receive-count" {
				t.Errorf("preview with a strict pack config: %v", err)
			}
			e.opts.PolicyConfig = ""

			created := 0
			for _, c := range e.calls(t) {
				if c.Method == "Create" && !c.Preview {
					created++
				}
			}
			d, err := s.Destroy(ctx(t))
			if err != nil {
				t.Fatalf("destroy: %v", err)
			}
			deleted := 0
			for _, c := range e.calls(t) {
				if c.Method == "Delete" {
					deleted++
				}
			}
			if deleted != created || created == 0 {
				t.Errorf("created %d resources, deleted %d (destroy summary %v)", created, deleted, d.Changes)
			}
			if out, err := s.Outputs(ctx(t)); err != nil || len(out) != 0 {
				t.Errorf("outputs after destroy: %v %v", out, err)
			}
		})
	}
}

// setSource edits one source of the raw config.
func setSource(t *testing.T, raw map[string]string, name string, edit func(map[string]any)) {
	t.Helper()
	var sources []map[string]any
	if err := json.Unmarshal([]byte(raw["hookline:sources"]), &sources); err != nil {
		t.Fatal(err)
	}
	for _, s := range sources {
		if s["name"] == name {
			edit(s)
		}
	}
	b, _ := json.Marshal(sources)
	raw["hookline:sources"] = string(b)
}

// TestSourceChangeRedeploys: changing a source's groupBy updates exactly its
// integration, and replaces the API Deployment, on either ingress.
func TestSourceChangeRedeploys(t *testing.T) {
	for _, tc := range []struct {
		ingress, updated, replaced string
	}{
		{"http", "aws:apigatewayv2/integration:Integration requestParameters;aws:apigatewayv2/stage:Stage deploymentId", "aws:apigatewayv2/deployment:Deployment triggers"},
		{"rest", "aws:apigateway/integration:Integration requestTemplates;aws:apigateway/stage:Stage deployment", "aws:apigateway/deployment:Deployment triggers"},
	} {
		t.Run(tc.ingress, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "dev")
			e.opts.Config["hookline:ingress"] = tc.ingress
			s := e.open(t)
			if _, err := s.Up(ctx(t)); err != nil {
				t.Fatal(err)
			}
			before := len(e.calls(t))
			setSource(t, e.opts.Config, "github", func(m map[string]any) { m["groupBy"] = "header:X-GitHub-Hook-Installation-Target-ID" })
			s = e.open(t)
			pre, err := s.Preview(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if pre.Changes["update"] != 2 || pre.Changes["replace"] != 1 || pre.Changes["create"] != 0 || pre.Changes["delete"] != 0 {
				t.Errorf("preview: %v, want 2 updates (the integration, the stage) and 1 replace (the deployment)", pre.Changes)
			}
			var updated, replaced []string
			for _, c := range e.calls(t)[before:] {
				if c.Method != "Diff" || len(c.Changes) == 0 {
					continue
				}
				if len(c.Replace) > 0 {
					replaced = append(replaced, c.Type+" "+strings.Join(c.Replace, ","))
				} else {
					updated = append(updated, c.Type+" "+strings.Join(c.Changes, ","))
				}
			}
			// Exactly the route's integration changes, and the stage moves to the new deployment.
			if strings.Join(updated, ";") != tc.updated {
				t.Errorf("updated: %v, want %s", updated, tc.updated)
			}
			if strings.Join(replaced, ";") != tc.replaced {
				t.Errorf("replaced: %v, want %s", replaced, tc.replaced)
			}
			up, err := s.Up(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if up.Changes["replace"] != 1 || up.Changes["update"] != 2 {
				t.Errorf("up: %v", up.Changes)
			}
			_, _ = s.Destroy(ctx(t))
		})
	}
}

// TestPolicyBlocksPreview: the real program, misconfigured from outside by a
// fixture's stack transformation, is blocked by the pack with the rule named
// on a fresh stack's first preview, and an `up` of the same configuration is
// refused before it creates anything.
func TestPolicyBlocksPreview(t *testing.T) {
	for _, f := range fixtures.All {
		if f.Level != rules.Mandatory {
			continue
		}
		rule := f.Rule
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, f.Stack)
			e.opts.Transformations = f.Transformations()
			raw, err := f.StackConfig(projectDir)
			if err != nil {
				t.Fatal(err)
			}
			e.opts.Config = raw
			s := e.open(t)
			_, err = s.Preview(ctx(t))
			var pe *engine.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *engine.PolicyError, got %v", err)
			}
			found := false
			for _, v := range pe.Violations {
				if v.Policy == rule && v.Level == rules.Mandatory && v.URN != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("no mandatory %s violation in %+v", rule, pe.Violations)
			}
			// One set of findings: the offline plan (which the portal's
			// offline check runs) refuses it with the same rules, resources
			// and messages.
			res, err := plan.Run(plan.Options{Dir: projectDir, Stack: f.Stack, Config: raw, Handler: harness.StubHandler, Transformations: f.Transformations()})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := findings(mandatory(pe.Violations)), findings(mandatory(res.Policies)); got != want {
				t.Errorf("the preview and the offline plan disagree:\npreview: %q\nplan:    %q", got, want)
			}
			// An up of the same configuration is refused before it creates
			// anything.
			_, err = s.Up(ctx(t))
			if !errors.As(err, &pe) {
				t.Fatalf("up: want a *engine.PolicyError, got %v", err)
			}
			for _, c := range e.calls(t) {
				if c.Method == "Create" && !c.Preview {
					t.Fatalf("a refused configuration created %s", c.URN)
				}
			}
		})
	}
}

// TestCouldNotJudgeAtPreview: a compliant program whose TLS policy is
// computed from the queue's ARN output passes a first preview, but the
// preview says which rule could not judge what, instead of skipping silently.
func TestCouldNotJudgeAtPreview(t *testing.T) {
	f, err := fixtures.Named("computed-tls-policy")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, f.Stack)
	e.opts.Transformations = f.Transformations()
	res, err := e.open(t).Preview(ctx(t))
	if err != nil {
		t.Fatalf("an advisory finding must not block the preview: %v", err)
	}
	found := 0
	for _, v := range res.Violations {
		if v.Policy == rules.CouldNotJudge && v.Level == rules.Advisory && strings.Contains(v.Message, "tls-only could not judge") &&
			strings.Contains(v.Message, "policy unknown") {
			found++
		}
	}
	if found != 2 { // one per dev source
		t.Errorf("want both dev source queues' policies named, got %+v", res.Violations)
	}
}

// TestConcurrentUp: two updates of one stack at once — one succeeds, the
// other fails with the engine's concurrent-update error, typed.
func TestConcurrentUp(t *testing.T) {
	e := newEnv(t, "dev")
	a, b := e.open(t), e.open(t)
	// Both updates start together, so both reach the stack's lock while it
	// is free of checkpoint writes: one takes it, the other is refused.
	// (Started later, the second can read the file backend's checkpoint
	// while the first rewrites it, and fail on that instead.)
	gate := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []*engine.Stack{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, errs[i] = s.Up(ctx(t))
		}()
	}
	close(gate)
	wg.Wait()
	ok, conflict := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, engine.ErrConcurrentUpdate):
			conflict++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Errorf("%d succeeded, %d conflicted: %v", ok, conflict, errs)
	}
	_, _ = a.Destroy(ctx(t))
}

// TestProviderRefusesWhatAWSRefuses: prod with every fixtures.Refusals
// rewrite, updated without the policy pack (which would stop some at
// preview) and continuing on errors: the test-double provider refuses each
// with AWS's error text, so `pulumi up` fails where AWS would. The compliant
// stacks pass the same checks in TestLifecycle.
func TestProviderRefusesWhatAWSRefuses(t *testing.T) {
	e := newEnv(t, "prod")
	e.opts.PolicyPack = ""
	e.opts.ContinueOnError = true
	e.opts.Transformations = fixtures.RefusalTransformations()
	s := e.open(t)
	_, err := s.Up(ctx(t))
	if err == nil {
		t.Fatal("up succeeded with resources AWS refuses")
	}
	for _, r := range fixtures.Refusals {
		if !strings.Contains(err.Error(), r.Want) {
			t.Errorf("%s: the update's error lacks AWS's %q", r.Name, r.Want)
		}
	}
	refused := 0
	for _, c := range e.calls(t) {
		if c.Method == "Refuse" {
			refused++
		}
	}
	if refused != len(fixtures.Refusals) {
		t.Errorf("the provider refused %d creates, want %d (one per refusal)", refused, len(fixtures.Refusals))
	}
}

// TestAccessLogsNeedTheAccountRole: in an account whose API Gateway settings
// name no CloudWatch role, a stack with access logs stops at its first
// preview with what to set; if the look-up were wrong, `pulumi up` would
// meet AWS's refusal of the stage; with hookline:accessLogs: false it deploys.
func TestAccessLogsNeedTheAccountRole(t *testing.T) {
	none := func(context.Context, string) (string, error) { return "", nil }

	noRole := func(ingress string) *env {
		e := newEnv(t, "dev")
		delete(e.opts.Env, "HOOKLINE_FAKE_AWS_APIGW_ROLE")
		e.opts.Config["hookline:ingress"] = ingress
		return e
	}
	e := noRole("rest")
	e.opts.APIGatewayAccount = none
	if _, err := e.open(t).Preview(ctx(t)); err == nil || !strings.Contains(err.Error(), "hookline:accessLogs: false in Pulumi.dev.yaml") {
		t.Fatalf("preview without the role: %v", err)
	}

	e = noRole("rest")
	e.opts.PolicyPack = ""
	if _, err := e.open(t).Up(ctx(t)); err == nil || !strings.Contains(err.Error(), "CloudWatch Logs role ARN must be set in account settings to enable logging") {
		t.Fatalf("up of a stage with access logs in an account without the role: %v", err)
	}

	e = noRole("rest")
	e.opts.APIGatewayAccount = none
	e.opts.Config["hookline:accessLogs"] = "false"
	if _, err := e.open(t).Up(ctx(t)); err != nil {
		t.Fatalf("up with access logs off: %v", err)
	}

	// An HTTP API's access logs do not use the role.
	e = noRole("http")
	e.opts.APIGatewayAccount = none
	if _, err := e.open(t).Up(ctx(t)); err != nil {
		t.Fatalf("up of an http stack with access logs in an account without the role: %v", err)
	}
}

// TestStackNameStaysInStateDir: a stack name that is not one (a path
// separator, a leading dot) is refused before anything touches the disk, so
// no caller can make the engine write a workspace outside StateDir.
func TestStackNameStaysInStateDir(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, "state")
	for _, name := range []string{"pay-../../../escaped", "../x", ".hidden", "a/b", ""} {
		_, err := engine.Open(context.Background(), engine.Options{ProjectDir: projectDir, Stack: name, StateDir: state, Passphrase: "p"})
		if err == nil {
			t.Errorf("stack %q opened", name)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Errorf("written under %s: %v", root, entries)
	}
}

// TestConfigIsReplacedExactly: opening a stack with a config makes that the
// whole config — a key an earlier run set and this one leaves out (an
// optional field removed in the portal) is gone; opening without one (to
// read outputs or destroy) keeps it.
func TestConfigIsReplacedExactly(t *testing.T) {
	e := newEnv(t, "dev")
	e.opts.Config["hookline:alarmEmails"] = `["oncall@example.com"]`
	e.open(t)
	delete(e.opts.Config, "hookline:alarmEmails")
	got, _, err := e.open(t).Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, lingers := got["hookline:alarmEmails"]; lingers || got["hookline:environment"] != e.opts.Config["hookline:environment"] {
		t.Errorf("config after resubmitting without alarmEmails: %v", got)
	}
	e.opts.Config = nil
	got, _, err = e.open(t).Config(ctx(t))
	if err != nil || got["hookline:environment"] == "" {
		t.Errorf("opening without a config dropped the stack's: %v %v", got, err)
	}
}

// TestDomainAndAuthorizerTTLRedeploy: on a deployed stack, adding a custom
// domain (which disables the execute-api endpoint) and changing a token
// authorizer's cache TTL are served only by a new deployment; the update
// replaces the stage's Deployment on either ingress (issue 27 item 1).
func TestDomainAndAuthorizerTTLRedeploy(t *testing.T) {
	for _, tc := range []struct{ ingress, deployment, api, authorizer string }{
		{"http", "aws:apigatewayv2/deployment:Deployment", "aws:apigatewayv2/api:Api", "aws:apigatewayv2/authorizer:Authorizer"},
		{"rest", "aws:apigateway/deployment:Deployment", "aws:apigateway/restApi:RestApi", "aws:apigateway/authorizer:Authorizer"},
	} {
		t.Run(tc.ingress, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "dev")
			e.opts.Config["hookline:ingress"] = tc.ingress
			s := e.open(t)
			if _, err := s.Up(ctx(t)); err != nil {
				t.Fatal(err)
			}
			before := len(e.calls(t))
			e.opts.Config["hookline:domain"] = `{"name":"hooks.example.com","hostedZoneId":"Z0123456789ABCDEFGHIJ"}`
			setSource(t, e.opts.Config, "payments", func(m map[string]any) {
				auth, _ := m["auth"].(map[string]any)
				auth["cacheTtlSeconds"] = 60
			})
			s = e.open(t)
			up, err := s.Up(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			changed := map[string][]string{}
			replaced := map[string][]string{}
			for _, c := range e.calls(t)[before:] {
				if c.Method != "Diff" || c.Preview || len(c.Changes) == 0 {
					continue
				}
				changed[c.Type] = append(changed[c.Type], c.Changes...)
				replaced[c.Type] = append(replaced[c.Type], c.Replace...)
			}
			if !slices.Contains(replaced[tc.deployment], "triggers") {
				t.Errorf("the deployment is not replaced (changes %v): the stage keeps serving the execute-api endpoint and the old TTL", changed[tc.deployment])
			}
			if !slices.Contains(changed[tc.api], "disableExecuteApiEndpoint") {
				t.Errorf("the API's default endpoint is not disabled: %v", changed[tc.api])
			}
			if !slices.Contains(changed[tc.authorizer], "authorizerResultTtlInSeconds") {
				t.Errorf("the authorizer's TTL is not updated: %v", changed[tc.authorizer])
			}
			if up.Changes["replace"] < 1 {
				t.Errorf("up: %v", up.Changes)
			}
			_, _ = s.Destroy(ctx(t))
		})
	}
}

// TestPauseSurvivesAnUpdate (issue 26): the event source mapping's enabled
// flag belongs to hookline pause/resume, not to the program. An update whose
// program asks for a different enabled (as a refresh that read a paused
// mapping would leave state and program apart) changes nothing on the
// mapping: the engine ignores that input, so pulumi up never resumes a
// paused source.
func TestPauseSurvivesAnUpdate(t *testing.T) {
	e := newEnv(t, "dev")
	s := e.open(t)
	if _, err := s.Up(ctx(t)); err != nil {
		t.Fatal(err)
	}
	before := len(e.calls(t))
	e.opts.Transformations = []pulumi.ResourceTransformation{func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		if m, ok := args.Props.(*awslambda.EventSourceMappingArgs); ok {
			m.Enabled = pulumi.Bool(false)
			return &pulumi.ResourceTransformationResult{Props: m, Opts: args.Opts}
		}
		return nil
	}}
	s = e.open(t)
	if _, err := s.Up(ctx(t)); err != nil {
		t.Fatal(err)
	}
	diffs := 0
	for _, c := range e.calls(t)[before:] {
		if c.Type != "aws:lambda/eventSourceMapping:EventSourceMapping" || c.Method != "Diff" {
			continue
		}
		diffs++
		if slices.Contains(c.Changes, "enabled") {
			t.Errorf("the mapping's enabled changed on an update: %+v", c)
		}
	}
	if diffs == 0 {
		t.Fatal("no mapping was diffed: the test did not see the update")
	}
}
