// Package engine runs a Pulumi program through the real Pulumi engine with
// the Automation API: inline (no language host needed), for one stack of a
// project, against a backend and with a secrets provider the caller chooses.
// Every one is an option whose default is hookline's own: the program
// infra.Program, the project "hookline", a local file:// backend under
// StateDir and the passphrase secrets provider. Preview runs with the policy
// pack binary. Engine events stream to a caller's sink and policy violations
// come back as typed values. A stack the backend does not have is
// ErrNoStack; every other failure of the backend is an error, never an empty
// answer. The engine tests use it; the self-service portal and the CLI drive
// stacks through it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
)

// Options describe one stack to drive. The zero value of Program, Project,
// BackendURL and SecretsProvider is hookline's own (DefaultProject,
// file://<StateDir>, DefaultSecretsProvider, infra.Program).
type Options struct {
	// ProjectDir holds Pulumi.yaml, handler/ and bin/ (a bin/pulumi there is
	// used; otherwise the pulumi on PATH).
	ProjectDir string
	// Program is the Pulumi program the stack runs. Default: hookline's
	// (infra.Program with ProjectDir, Transformations and APIGatewayAccount).
	Program pulumi.RunFunc
	// Project is the Pulumi project name the stack belongs to. Default:
	// DefaultProject.
	Project string
	// Stack is the stack name.
	Stack string
	// Config is the stack's raw config (as stackconfig.ReadStackFile returns).
	Config map[string]string
	// BackendURL is where state lives: file://<dir>, s3://…, or empty for
	// file://<StateDir>.
	BackendURL string
	// StateDir is the local workspace directory, and the state directory of
	// the default file:// backend. A stack's workspace (StateDir/workspaces/
	// <stack>) records its project, backend and config: give each project
	// and backend a StateDir of its own.
	StateDir string
	// SecretsProvider encrypts the stacks' secrets when a stack is created:
	// "passphrase" (DefaultSecretsProvider) or a KMS URL such as
	// awskms://alias/hookline (the credentials come from Env).
	SecretsProvider string
	// Passphrase protects the stack's secrets; the passphrase secrets
	// provider requires it.
	Passphrase string
	// PolicyPack is the path of the policy pack (binary or directory); empty: none.
	PolicyPack string
	// PolicyConfig is the pack's config file (--policy-pack-config); empty:
	// the rules' defaults. rules.LoadConfigFile reads the same file, so the
	// offline plan judges by the same bounds.
	PolicyConfig string
	// Env is added to the engine's environment (PATH for plugins, AWS settings…).
	Env map[string]string
	// Events receives every engine event, if set.
	Events func(events.EngineEvent)
	// Transformations rewrite resources' inputs as the default program
	// registers them (see infra.ProgramOptions).
	Transformations []pulumi.ResourceTransformation
	// ContinueOnError keeps an update creating the resources that do not
	// depend on a failed one (pulumi up --continue-on-error), so one run
	// reports every failure.
	ContinueOnError bool
	// APIGatewayAccount looks up the region's API Gateway CloudWatch role
	// before the default program plans access logs (see
	// infra.CheckAccessLogs). Default: AWS itself.
	APIGatewayAccount infra.AccountLookup
	// Gate bounds how many engine calls run at once among every user of
	// the same Gate (each runs Pulumi CLI processes, of ~95 MB each).
	// Nil: unbounded.
	Gate *Gate
}

// Gate bounds the engine calls running at once: each call of the engine
// (Open, Select, List, StackTag(s), SetStackTag, and every method of a
// Stack) holds one of its slots while it runs, and runs its Pulumi CLI
// processes one after another, so no more CLIs than slots run at once. A
// call waits for a slot up to its context's end or the gate's wait, then
// fails with ErrSaturated.
type Gate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewGate returns a gate of size slots (at least 1) whose callers wait up
// to wait for one (0: up to their context's end).
func NewGate(size int, wait time.Duration) *Gate {
	if size < 1 {
		size = 1
	}
	return &Gate{slots: make(chan struct{}, size), wait: wait}
}

// Size is how many engine calls the gate lets run at once.
func (g *Gate) Size() int { return cap(g.slots) }

// ErrSaturated is an engine call that found no free slot of its Gate in
// time: as many engine calls as the gate allows are running. Retry later.
var ErrSaturated = errors.New("engine: as many engine calls as the gate allows are running")

// enter takes a slot of g (none when g is nil) and returns its release.
func (g *Gate) enter(ctx context.Context) (func(), error) {
	if g == nil {
		return func() {}, nil
	}
	var timeout <-chan time.Time
	if g.wait > 0 {
		t := time.NewTimer(g.wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (%v)", ErrSaturated, ctx.Err())
	case <-timeout:
		return nil, fmt.Errorf("%w (waited %s)", ErrSaturated, g.wait)
	}
}

// DefaultProject is the project of hookline's stacks.
const DefaultProject = stackconfig.Namespace

// DefaultSecretsProvider is the secrets provider of a stack the engine
// creates unless Options.SecretsProvider names another.
const DefaultSecretsProvider = "passphrase"

// PolicyError is a preview or update blocked by mandatory policy violations.
type PolicyError struct {
	Violations []rules.Violation
	Err        error
}

// Error names the mandatory policies that blocked the operation.
func (e *PolicyError) Error() string {
	var names []string
	for _, v := range e.Violations {
		if v.Level == rules.Mandatory {
			names = append(names, v.Policy)
		}
	}
	return fmt.Sprintf("blocked by mandatory policies %s: %v", strings.Join(names, ", "), e.Err)
}

// Unwrap is the engine's own error.
func (e *PolicyError) Unwrap() error { return e.Err }

// ErrConcurrentUpdate is returned when another update of the stack is in
// progress (the engine's stack lock).
var ErrConcurrentUpdate = errors.New("another update of this stack is in progress")

// ErrNoCLI is returned (wrapped) when no Pulumi CLI can be run: neither
// <ProjectDir>/bin/pulumi nor a pulumi on PATH.
var ErrNoCLI = errors.New("engine: no Pulumi CLI (bin/pulumi or pulumi on PATH)")

// ErrNoCredentials is returned (wrapped, with the engine's own error) when
// an operation failed because the program or the AWS provider found no AWS
// credentials.
var ErrNoCredentials = errors.New("engine: no AWS credentials")

// credentialFailures are what the AWS SDK for Go and the AWS provider print
// when their credential chain finds nothing. They reach the engine as the
// CLI's output, text only, so text is all there is to tell them by.
var credentialFailures = []string{
	"no EC2 IMDS role found",
	"failed to refresh cached credentials",
	"NoCredentialProviders",
	"no valid credential sources",
	"failed to retrieve credentials",
}

// isNoCredentials reports whether err is the credential chain's failure.
func isNoCredentials(err error) bool {
	msg := err.Error()
	for _, f := range credentialFailures {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}

// FindCLI is the Pulumi CLI the engine runs for projectDir: its bin/pulumi,
// else the pulumi on PATH; an error wrapping ErrNoCLI when there is none.
func FindCLI(projectDir string) (string, error) {
	local := filepath.Join(projectDir, "bin", "pulumi")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	p, err := exec.LookPath("pulumi")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoCLI, err)
	}
	return p, nil
}

// ErrNoStack is returned (wrapped, naming the stack) when the backend has no
// stack of that name. Any other failure to read the backend is an error of
// its own: a caller never reads an unreachable backend as a missing stack.
var ErrNoStack = errors.New("no such stack")

// isNoStack reports whether err is the Pulumi CLI's answer for a stack the
// backend does not have: exit code 6 (the CLI's ExitStackNotFound, stable
// by its contract) or, from a CLI older than that code, the "no stack named
// … found" the Automation API itself tells apart (auto.IsSelectStack404Error).
func isNoStack(err error) bool {
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == cmdutil.ExitStackNotFound {
		return true
	}
	return auto.IsSelectStack404Error(err)
}

// stackError wraps err, the failure of what (a phrase ending in "stack")
// done to stack: as ErrNoStack when the backend has no such stack, else as
// itself.
func stackError(what, stack string, err error) error {
	if isNoStack(err) {
		return fmt.Errorf("engine: %s %s: %w", what, stack, ErrNoStack)
	}
	return fmt.Errorf("engine: %s %s: %w", what, stack, err)
}

// Stack is a stack opened through the Automation API.
type Stack struct {
	opts  Options
	stack auto.Stack
}

// Result is the outcome of a preview, update or destroy.
type Result struct {
	// Changes counts the steps by operation (create, update, replace, same, delete…).
	Changes map[string]int
	// Violations are every policy finding, advisory ones included.
	Violations []rules.Violation
	// Outputs are the stack outputs after an update (secrets included, marked).
	Outputs auto.OutputMap
}

// stackNameRE is what a stack name may be here: Pulumi's own alphabet,
// without a path separator or a leading dot, so a stack's workspace is
// always a child of StateDir/workspaces.
var stackNameRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$`)

// prepare fills the defaults of o and returns the workspace options.
func prepare(o *Options) ([]auto.LocalWorkspaceOption, error) {
	if o.ProjectDir == "" {
		return nil, errors.New("engine: ProjectDir is required")
	}
	if o.Stack != "" && !stackNameRE.MatchString(o.Stack) {
		return nil, fmt.Errorf("engine: %q is not a stack name (%s)", o.Stack, stackNameRE)
	}
	projectDir, err := filepath.Abs(o.ProjectDir)
	if err != nil {
		return nil, err
	}
	o.ProjectDir = projectDir
	if o.StateDir == "" {
		o.StateDir = filepath.Join(projectDir, ".build", "state")
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: state dir: %w", err)
	}
	if o.BackendURL == "" {
		o.BackendURL = "file://" + o.StateDir
	}
	if o.Project == "" {
		o.Project = DefaultProject
	}
	if o.SecretsProvider == "" {
		o.SecretsProvider = DefaultSecretsProvider
	}
	if o.SecretsProvider == DefaultSecretsProvider && o.Passphrase == "" {
		return nil, errors.New("engine: a passphrase for the stacks' secrets is required")
	}
	env := map[string]string{
		"PULUMI_SKIP_UPDATE_CHECK":             "true",
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
	}
	if o.Passphrase != "" {
		env["PULUMI_CONFIG_PASSPHRASE"] = o.Passphrase
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cmdOpts := &auto.PulumiCommandOptions{}
	if _, err := os.Stat(filepath.Join(projectDir, "bin", "pulumi")); err == nil {
		cmdOpts.Root = projectDir // uses <root>/bin/pulumi
	}
	cmd, err := auto.NewPulumiCommand(cmdOpts)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrNoCLI, err)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: the Pulumi CLI: %w", err)
	}
	name := o.Stack
	if name == "" {
		name = "_list"
	}
	workDir := filepath.Join(o.StateDir, "workspaces", name)
	if rel, err := filepath.Rel(filepath.Join(o.StateDir, "workspaces"), workDir); err != nil || rel != name {
		return nil, fmt.Errorf("engine: stack name %q would place its workspace outside %s", o.Stack, o.StateDir)
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	proj := workspace.Project{
		Name:    tokens.PackageName(o.Project),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: o.BackendURL},
	}
	return []auto.LocalWorkspaceOption{
		auto.Project(proj), auto.WorkDir(workDir), auto.Pulumi(cmd), auto.EnvVars(env),
		auto.PulumiHome(filepath.Join(o.StateDir, "home")), auto.SecretsProvider(o.SecretsProvider),
	}, nil
}

// program is o's program: o.Program, or hookline's shaped by o.
func program(o Options) (pulumi.RunFunc, error) {
	if o.Program == nil {
		return infra.Program(infra.ProgramOptions{ProjectDir: o.ProjectDir, Transformations: o.Transformations, APIGatewayAccount: o.APIGatewayAccount}), nil
	}
	if len(o.Transformations) > 0 || o.APIGatewayAccount != nil {
		// They shape the default program only: silently dropped, a
		// transformation meant to refuse a resource would not.
		return nil, errors.New("engine: Transformations and APIGatewayAccount shape the default program; with Program set, apply them in it")
	}
	return o.Program, nil
}

// Select opens the stack o.Stack the backend has, without creating it and
// without setting its config (o.Config is ignored): an error wrapping
// ErrNoStack when the backend has no such stack. What only reads a stack
// selects it: Open would leave a new, untagged stack behind.
func Select(ctx context.Context, o Options) (*Stack, error) {
	st, release, err := inlineStack(ctx, &o, "select stack", auto.SelectStackInlineSource)
	if err != nil {
		return nil, err
	}
	defer release()
	o.Config = nil
	return &Stack{opts: o, stack: st}, nil
}

// inlineStack holds a slot of o's gate and opens o.Stack's inline program
// in its workspace with open (the Automation API's select or upsert); what
// names the step in its error. The caller releases the slot once it is
// done setting the stack up.
func inlineStack(ctx context.Context, o *Options, what string,
	open func(context.Context, string, string, pulumi.RunFunc, ...auto.LocalWorkspaceOption) (auto.Stack, error),
) (auto.Stack, func(), error) {
	if o.Stack == "" {
		return auto.Stack{}, nil, errors.New("engine: Stack is required")
	}
	release, err := o.Gate.enter(ctx)
	if err != nil {
		return auto.Stack{}, nil, err
	}
	opened := false
	defer func() {
		if !opened {
			release()
		}
	}()
	wsOpts, err := prepare(o)
	if err != nil {
		return auto.Stack{}, nil, err
	}
	prog, err := program(*o)
	if err != nil {
		return auto.Stack{}, nil, err
	}
	st, err := open(ctx, o.Stack, o.Project, prog, wsOpts...)
	if err != nil {
		return auto.Stack{}, nil, stackError(what, o.Stack, err)
	}
	opened = true
	return st, release, nil
}

// Open creates or selects the stack and sets its config.
func Open(ctx context.Context, o Options) (*Stack, error) {
	st, release, err := inlineStack(ctx, &o, "open stack", auto.UpsertStackInlineSource)
	if err != nil {
		return nil, err
	}
	defer release()
	cfg := auto.ConfigMap{}
	for k, v := range o.Config {
		if v == stackconfig.SecretPlaceholder {
			return nil, fmt.Errorf("engine: %s is encrypted in the stack file; set it on the engine's stack with pulumi config set --secret", k)
		}
		cfg[k] = auto.ConfigValue{Value: v}
	}
	if err := st.SetAllConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("engine: set config of %s: %w", o.Stack, err)
	}
	if o.Config != nil {
		// The config given is the whole config: a key set by an earlier
		// run and absent now (an optional field removed) must not linger.
		// Secrets are set on their own (SetSecret) and stay.
		old, err := st.GetAllConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("engine: read config of %s: %w", o.Stack, err)
		}
		var stale []string
		for k, v := range old {
			if _, keep := cfg[k]; !keep && !v.Secret {
				stale = append(stale, k)
			}
		}
		if len(stale) > 0 {
			if err := st.RemoveAllConfig(ctx, stale); err != nil {
				return nil, fmt.Errorf("engine: remove stale config of %s: %w", o.Stack, err)
			}
		}
	}
	return &Stack{opts: o, stack: st}, nil
}

// SetSecret sets a config value encrypted with the stack's secrets
// provider; Open's config leaves it in place. The value goes to the CLI on
// its standard input, never on its command line: the Automation API's
// SetConfig passes it as an argument, which any local user reads in
// /proc/<pid>/cmdline. `pulumi config set --secret <key>` without a value
// and with a stdin that is not a terminal reads all of stdin (pkg
// cmd/pulumi/config, configSetCmd.Run); --raw keeps it exactly, where the
// CLI would otherwise drop one trailing newline.
func (s *Stack) SetSecret(ctx context.Context, key, value string) error {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	ws := s.stack.Workspace()
	// The environment LocalWorkspace gives every command it runs
	// (runPulumiInputCmdSync): its PULUMI_HOME and its env vars.
	var env []string
	if home := ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	args := []string{"config", "set", "--stack", s.opts.Stack, key, "--secret", "--raw"}
	_, stderr, _, err := ws.PulumiCommand().Run(ctx, ws.WorkDir(), strings.NewReader(value), nil, nil, env, args...)
	if err != nil {
		// stderr is the CLI's complaint; it never echoes the value read.
		return fmt.Errorf("engine: set secret %s of %s: %w: %s", key, s.opts.Stack, err, strings.TrimSpace(stderr))
	}
	return nil
}

// Config returns the stack's config as the engine holds it (secrets as
// their values) and the keys that are secret.
func (s *Stack) Config(ctx context.Context) (map[string]string, []string, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	all, err := s.stack.GetAllConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: read config of %s: %w", s.opts.Stack, err)
	}
	out := make(map[string]string, len(all))
	var secret []string
	for k, v := range all {
		out[k] = v.Value
		if v.Secret {
			secret = append(secret, k)
		}
	}
	return out, secret, nil
}

// List lists the stacks of the backend (o.Stack is ignored).
func List(ctx context.Context, o Options) ([]auto.StackSummary, error) {
	release, err := o.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	o.Stack = ""
	ws, err := localWorkspace(ctx, &o)
	if err != nil {
		return nil, err
	}
	sums, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: list the stacks of %s: %w", o.BackendURL, err)
	}
	return sums, nil
}

// StackTag reads a tag of the stack o.Stack without opening it (no config
// is set): "" when the stack has no such tag, an error wrapping ErrNoStack
// when the backend has no such stack, and any other failure as an error.
func StackTag(ctx context.Context, o Options, key string) (string, error) {
	tags, err := StackTags(ctx, o)
	if err != nil {
		return "", err
	}
	return tags[key], nil
}

// StackTags reads every tag of the stack o.Stack without opening it, in
// one call: an error wrapping ErrNoStack when the backend has no such
// stack, and any other failure as an error.
func StackTags(ctx context.Context, o Options) (map[string]string, error) {
	release, err := o.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ws, err := localWorkspace(ctx, &o)
	if err != nil {
		return nil, err
	}
	return tags(ctx, ws, o.Stack)
}

// tags reads the tags of stack in one call (`pulumi stack tag ls`, which
// answers {} for a stack without tags, so a missing tag is never an error
// to tell apart).
func tags(ctx context.Context, ws auto.Workspace, stack string) (map[string]string, error) {
	t, err := ws.ListTags(ctx, stack)
	if err != nil {
		return nil, stackError("read the tags of stack", stack, err)
	}
	if t == nil {
		t = map[string]string{}
	}
	return t, nil
}

// SetStackTag sets a tag of the stack o.Stack without opening it (no config
// is set): an error wrapping ErrNoStack when the backend has no such stack.
func SetStackTag(ctx context.Context, o Options, key, value string) error {
	release, err := o.Gate.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	ws, err := localWorkspace(ctx, &o)
	if err != nil {
		return err
	}
	if err := ws.SetTag(ctx, o.Stack, key, value); err != nil {
		return stackError("set tag "+key+" of stack", o.Stack, err)
	}
	return nil
}

// localWorkspace is a local workspace for o without a stack selected.
func localWorkspace(ctx context.Context, o *Options) (auto.Workspace, error) {
	wsOpts, err := prepare(o)
	if err != nil {
		return nil, err
	}
	ws, err := auto.NewLocalWorkspace(ctx, wsOpts...)
	if err != nil {
		return nil, fmt.Errorf("engine: workspace: %w", err)
	}
	return ws, nil
}

// Tag reads a stack tag: "" when the stack has no such tag, and a failure
// to read the backend as an error.
func (s *Stack) Tag(ctx context.Context, key string) (string, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	t, err := tags(ctx, s.stack.Workspace(), s.opts.Stack)
	if err != nil {
		return "", err
	}
	return t[key], nil
}

// SetTag sets a stack tag in the backend.
func (s *Stack) SetTag(ctx context.Context, key, value string) error {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := s.stack.Workspace().SetTag(ctx, s.opts.Stack, key, value); err != nil {
		return stackError("set tag "+key+" of stack", s.opts.Stack, err)
	}
	return nil
}

// collector gathers the events of one operation.
type collector struct {
	mu         sync.Mutex
	violations []rules.Violation
	ch         chan events.EngineEvent
	stop, done chan struct{}
}

// collect gathers an operation's policy events and, when forward is set,
// hands every event to the caller's sink.
func (s *Stack) collect(forward bool) *collector {
	c := &collector{ch: make(chan events.EngineEvent), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			select {
			case ev, ok := <-c.ch:
				if !ok {
					return
				}
				if p := ev.PolicyEvent; p != nil {
					c.mu.Lock()
					c.violations = append(c.violations, violation(p))
					c.mu.Unlock()
				}
				if forward && s.opts.Events != nil {
					s.opts.Events(ev)
				}
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

// eventGrace is how long to wait for the event stream's end after the
// operation returned: when the CLI fails before streaming (a locked stack),
// the Automation API never closes the stream.
const eventGrace = 5 * time.Second

func (c *collector) wait() []rules.Violation {
	select {
	case <-c.done:
	case <-time.After(eventGrace):
		close(c.stop)
		<-c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sort.Slice(c.violations, func(i, j int) bool {
		return c.violations[i].Policy+c.violations[i].URN < c.violations[j].Policy+c.violations[j].URN
	})
	return c.violations
}

func violation(p *apitype.PolicyEvent) rules.Violation {
	level := p.EnforcementLevel
	if level == "warning" {
		level = rules.Advisory
	}
	// The engine prefixes a policy's message with its description and ends
	// it with a newline; the finding itself is what is between, exactly as
	// the offline plan reports it.
	msg := p.Message
	if d := rules.Description(p.PolicyName); d != "" {
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, d), "\n")
	}
	msg = strings.TrimSpace(msg)
	return rules.Violation{Policy: p.PolicyName, Level: level, URN: p.ResourceURN, Message: msg}
}

// classify turns an engine error into hookline's typed errors.
func classify(err error, vs []rules.Violation) error {
	if err == nil {
		return nil
	}
	if auto.IsConcurrentUpdateError(err) {
		return fmt.Errorf("%w: %v", ErrConcurrentUpdate, err)
	}
	if isNoCredentials(err) {
		return fmt.Errorf("%w: %w", ErrNoCredentials, err)
	}
	for _, v := range vs {
		if v.Level == rules.Mandatory {
			return &PolicyError{Violations: vs, Err: err}
		}
	}
	return err
}

func changes(m map[apitype.OpType]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// pack is the policy pack and its config file, as the CLI's --policy-pack
// and --policy-pack-config take them (none without a pack).
func (s *Stack) pack() (packs, configs []string) {
	if s.opts.PolicyPack == "" {
		return nil, nil
	}
	packs = []string{s.opts.PolicyPack}
	if s.opts.PolicyConfig != "" {
		configs = []string{s.opts.PolicyConfig}
	}
	return packs, configs
}

// Preview previews the stack with the policy pack.
func (s *Stack) Preview(ctx context.Context) (*Result, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.preview(ctx, true)
}

func (s *Stack) preview(ctx context.Context, forward bool) (*Result, error) {
	c := s.collect(forward)
	packs, configs := s.pack()
	opts := []optpreview.Option{optpreview.EventStreams(c.ch), optpreview.PolicyPacks(packs...), optpreview.PolicyPackConfigs(configs...)}
	res, err := s.stack.Preview(ctx, opts...)
	vs := c.wait()
	if err != nil {
		return &Result{Violations: vs}, classify(err, vs)
	}
	return &Result{Changes: changes(res.ChangeSummary), Violations: vs}, nil
}

// Up updates the stack with the policy pack and returns its outputs. With a
// pack it previews first, as `pulumi up` does unless told to skip it, so a
// configuration the pack refuses is refused before anything is created (the
// Automation API's update alone would run the stack policies only after every
// resource exists). The preview's events are not forwarded: the sink sees
// the update's.
func (s *Stack) Up(ctx context.Context) (*Result, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if s.opts.PolicyPack != "" {
		if res, err := s.preview(ctx, false); err != nil {
			return res, err
		}
	}
	c := s.collect(true)
	packs, configs := s.pack()
	opts := []optup.Option{optup.EventStreams(c.ch), optup.PolicyPacks(packs...), optup.PolicyPackConfigs(configs...)}
	if s.opts.ContinueOnError {
		opts = append(opts, optup.ContinueOnError())
	}
	res, err := s.stack.Up(ctx, opts...)
	vs := c.wait()
	if err != nil {
		return &Result{Violations: vs}, classify(err, vs)
	}
	counts := summary(res.Summary.ResourceChanges)
	return &Result{Changes: counts, Violations: vs, Outputs: res.Outputs}, nil
}

// Outputs reads the stack's current outputs.
func (s *Stack) Outputs(ctx context.Context) (auto.OutputMap, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	outs, err := s.stack.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: read outputs of %s: %w", s.opts.Stack, err)
	}
	return outs, nil
}

// Destroy deletes every resource of the stack.
func (s *Stack) Destroy(ctx context.Context) (*Result, error) {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	c := s.collect(true)
	res, err := s.stack.Destroy(ctx, optdestroy.EventStreams(c.ch))
	vs := c.wait()
	if err != nil {
		return nil, classify(err, vs)
	}
	counts := summary(res.Summary.ResourceChanges)
	return &Result{Changes: counts}, nil
}

// Remove deletes the stack itself (after Destroy).
func (s *Stack) Remove(ctx context.Context) error {
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := s.stack.Workspace().RemoveStack(ctx, s.opts.Stack); err != nil {
		return stackError("remove stack", s.opts.Stack, err)
	}
	return nil
}

func summary(changes *map[string]int) map[string]int {
	out := map[string]int{}
	if changes != nil {
		for k, v := range *changes {
			out[k] = v
		}
	}
	return out
}
