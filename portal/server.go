package portal

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/ops/pause"
	"github.com/hookline/hookline/ops/redrive"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/portal/albauth"
	"github.com/hookline/hookline/portal/jobs"
)

// MaxBody is the largest request body the portal reads.
const MaxBody = 64 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Timeouts bound every connection, so a slow or stalled client cannot hold
// the portal's connections and memory: the request headers and body must
// arrive within ReadHeader and Read, a response within Write (the event
// stream extends its own deadline at each write), an idle keep-alive
// connection closes after Idle. Heartbeat is how often a quiet event stream
// sends a comment line, so proxies and clients see it alive.
type Timeouts struct {
	ReadHeader, Read, Write, Idle, Heartbeat time.Duration
}

// DefaultTimeouts are the portal's: generous for a 64 KiB body and a plan,
// short for anything stalled.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second,
	Idle: 120 * time.Second, Heartbeat: 15 * time.Second}

// HTTPServer is the http.Server the portal runs in, with t's timeouts (zero
// fields take DefaultTimeouts').
func HTTPServer(addr string, h http.Handler, t Timeouts) *http.Server {
	t = t.withDefaults()
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	for _, f := range []struct{ v, def *time.Duration }{{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read},
		{&t.Write, &d.Write}, {&t.Idle, &d.Idle}, {&t.Heartbeat, &d.Heartbeat}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// Limits bound what the portal runs at once and what it keeps, so one team's
// requests never exhaust the machine or hold another team's back beyond
// them: engine jobs run at most Jobs at once and TeamJobs per team; offline plans (validate)
// at most Plans at once. A request over a limit gets 429 with Retry-After.
// A finished job stays readable for JobRetention, then leaves memory.
//
// Engine bounds every engine call of the portal, jobs and reads alike (a
// stack view, a listing, a DLQ view, a secret, a job's each step): at most
// Engine run at once, so at most Engine Pulumi CLIs (~95 MB each). A call
// waits for a slot up to its request's end or EngineWait; a request that
// gets none is a 429. A running job holds a slot for each step it runs, so
// Engine defaults to Jobs + ReadSlots: reads keep slots of their own while
// every job runs, and a job's step never waits behind more than reads.
type Limits struct {
	Jobs, TeamJobs, Plans, Engine int
	EngineWait                    time.Duration
	JobRetention                  time.Duration
	RetryAfter                    time.Duration
}

// DefaultLimits keep a small host (2 cores) responsive: an engine job is a
// Pulumi CLI with its plugins, an offline plan a program run under mocks.
// Raise them with the host.
var DefaultLimits = Limits{Jobs: 4, TeamJobs: 2, Plans: 4, Engine: 4 + ReadSlots, EngineWait: 30 * time.Second,
	JobRetention: time.Hour, RetryAfter: 30 * time.Second}

// ReadSlots are the engine slots kept for reads beyond the jobs' own.
const ReadSlots = 2

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Jobs <= 0 {
		l.Jobs = d.Jobs
	}
	if l.TeamJobs <= 0 {
		l.TeamJobs = d.TeamJobs
	}
	if l.Plans <= 0 {
		l.Plans = d.Plans
	}
	if l.Engine <= 0 {
		l.Engine = l.Jobs + ReadSlots
	}
	if l.EngineWait <= 0 {
		l.EngineWait = d.EngineWait
	}
	if l.JobRetention <= 0 {
		l.JobRetention = d.JobRetention
	}
	if l.RetryAfter <= 0 {
		l.RetryAfter = d.RetryAfter
	}
	return l
}

// Options configure the portal.
type Options struct {
	// Tokens are the bearer tokens; with TokensFile set they are read from
	// that file and again whenever it changes (or on ReloadTokens).
	Tokens     *Tokens
	TokensFile string
	// ALB signs the pages' users in at an Application Load Balancer
	// (its authenticate-oidc or authenticate-cognito action). Nil: the
	// pages take token sign-ins only. The API takes bearer tokens either
	// way.
	ALB *ALBSignIn
	// SessionTTL is how long a pages' sign-in lasts (default 8 h).
	SessionTTL time.Duration
	// TrustForwardedProto believes a request's X-Forwarded-Proto: set it
	// only behind a proxy that terminates TLS and always sets (or strips)
	// that header. Without it only the connection's own TLS makes a request
	// HTTPS (the Secure __Host- session cookie, Strict-Transport-Security):
	// a client cannot claim HTTPS by sending the header.
	TrustForwardedProto bool
	// SQS returns the SQS client of a region for DLQ views and redrives.
	// Default: DefaultSQS (the portal's AWS credentials).
	SQS func(ctx context.Context, region string) (SQSAPI, error)
	// Lambda returns the Lambda client of a region for a source's pause
	// and resume. Default: DefaultLambda (the portal's AWS credentials; it
	// needs lambda:ListEventSourceMappings and UpdateEventSourceMapping).
	Lambda func(ctx context.Context, region string) (LambdaAPI, error)
	// Archive returns the S3 client of a region for archive searches and
	// replays. Default: DefaultArchive (the portal's AWS credentials).
	Archive func(ctx context.Context, region string) (archive.StoreAPI, error)
	// Sealer returns a stack's seal key (KMS) for redrives. Default:
	// DefaultSealer (the portal's AWS credentials; it needs kms:GenerateMac
	// on the stacks' seal keys).
	Sealer func(ctx context.Context, region, keyArn string) (contract.Sealer, error)
	// Limits: zero fields take DefaultLimits'.
	Limits Limits
	// Timeouts: the stream's write deadline and heartbeat come from here
	// (the server's own from HTTPServer).
	Timeouts Timeouts
	// Engine is the engine template: ProjectDir, StateDir or BackendURL,
	// SecretsProvider and Passphrase, PolicyPack, PolicyConfig, Env (the
	// program and project are hookline's unless set). Stack and Config are
	// set per request. The offline checks read the same PolicyConfig.
	Engine engine.Options
	// Offline is the no-AWS mode: no Pulumi CLI, no AWS credentials, no
	// stack backend. Previews run the offline plan (hookline plan's: the
	// program under mocks, the policy rules, the cost model) and every page
	// says so; apply, destroy, redrive, secrets and the stacks' reads are
	// refused, saying what to start the portal with instead.
	Offline bool
	// Log receives the portal's log lines (default: none).
	Log *slog.Logger
	// Jobs keeps the jobs, their leases and logs, and the audit log.
	// Default: a jobs.MemoryStore (this process alone). With a store that
	// several portal processes share (jobs.DynamoStore), any of them
	// serves any job, the limits hold across them, and each marks the jobs
	// of a process that died interrupted once their leases lapse
	// (JobLease).
	Jobs jobs.Store
	// JobLease is how long a running job's lease lasts unless its process
	// renews it (default jobs.DefaultLease).
	JobLease time.Duration
	// Replica names this process among those sharing Jobs (default: its
	// host name and pid).
	Replica string
}

// ALBSignIn is sign-in at an Application Load Balancer: a page's request
// that carries x-amzn-oidc-data is the person it names, once the header
// verifies (portal/albauth) and its groups map to a team or admin (SSO);
// without the header a page takes the token sign-in's session as before.
type ALBSignIn struct {
	// ARN is the load balancer's: a header another one signed is refused.
	ARN string
	// KeyURL is where its public keys are, the kid appended. Default: the
	// endpoint of ARN's region (albauth.KeyURL).
	KeyURL string
	// SSO maps the IdP's groups to teams and admins.
	SSO *SSOConfig
	// Client fetches the public keys. Default: a 5 s timeout.
	Client *http.Client
}

// Server is the portal's HTTP handler.
type Server struct {
	opts   Options
	policy rules.Config // the pack config, for the offline checks
	pages  *template.Template
	mux    *http.ServeMux
	// handler is mux behind the security headers and the cross-origin
	// protection of state-changing requests.
	handler http.Handler

	tokens   *tokenFile
	sessions sessions
	// alb and sso are the load balancer's sign-in (nil without it).
	alb *albauth.Verifier
	sso *SSOConfig

	jobs *jobs.Service
	// stopWatch ends the look-out for the interrupted jobs of other
	// processes (with a shared Jobs store).
	stopWatch context.CancelFunc

	plans chan struct{} // a slot per offline plan running
}

// New builds the portal.
func New(o Options) (*Server, error) {
	tf := &tokenFile{path: o.TokensFile, tokens: o.Tokens}
	if o.TokensFile != "" {
		if err := tf.Reload(); err != nil {
			return nil, fmt.Errorf("portal: %w", err)
		}
	}
	if tf.tokens == nil {
		return nil, errors.New("portal: a token file is required")
	}
	var (
		alb *albauth.Verifier
		sso *SSOConfig
	)
	if o.ALB != nil {
		if o.ALB.SSO == nil {
			return nil, errors.New("portal: sign-in at the load balancer needs an oidc config (which groups are which team)")
		}
		if err := o.ALB.SSO.validate(); err != nil {
			return nil, fmt.Errorf("portal: oidc config: %w", err)
		}
		v, err := albauth.New(albauth.Config{ARN: o.ALB.ARN, KeyURL: o.ALB.KeyURL, Client: o.ALB.Client})
		if err != nil {
			return nil, fmt.Errorf("portal: load balancer sign-in: %w", err)
		}
		alb, sso = v, o.ALB.SSO
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.SQS == nil {
		o.SQS = DefaultSQS
	}
	if o.Lambda == nil {
		o.Lambda = DefaultLambda
	}
	if o.Sealer == nil {
		o.Sealer = DefaultSealer
	}
	if o.Archive == nil {
		o.Archive = DefaultArchive
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	o.Timeouts = o.Timeouts.withDefaults()
	o.Limits = o.Limits.withDefaults()
	policy, err := rules.LoadConfigFile(o.Engine.PolicyConfig)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	pages, err := template.New("").Funcs(pageFuncs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	if o.Engine.Gate == nil {
		// One gate for the portal's reads and the jobs service alike.
		o.Engine.Gate = engine.NewGate(o.Limits.Engine, o.Limits.EngineWait)
	}
	svc := jobs.New(jobs.Config{
		Store: o.Jobs, Lease: o.JobLease, Owner: o.Replica,
		Limits: jobs.Limits{Jobs: o.Limits.Jobs, TeamJobs: o.Limits.TeamJobs}, Retention: o.Limits.JobRetention,
		Engine: o.Engine, Policy: policy, Log: o.Log,
		SQS:    func(ctx context.Context, region string) (redrive.API, error) { return o.SQS(ctx, region) },
		Lambda: func(ctx context.Context, region string) (pause.API, error) { return o.Lambda(ctx, region) },
		Sealer: o.Sealer, Offline: o.Offline, Archive: o.Archive,
		Depth: func(ctx context.Context, region, queueURL string) (int, error) {
			api, err := o.SQS(ctx, region)
			if err != nil {
				return 0, err
			}
			return queueDepth(ctx, api, queueURL)
		},
	})
	s := &Server{opts: o, policy: policy, pages: pages, mux: http.NewServeMux(), jobs: svc,
		plans: make(chan struct{}, o.Limits.Plans), tokens: tf, sessions: sessions{all: map[string]*session{}}, stopWatch: func() {}, alb: alb, sso: sso}
	if o.Jobs != nil {
		// Another process sharing the store may die mid-job: watch for
		// leases that lapse.
		var ctx context.Context
		ctx, s.stopWatch = context.WithCancel(context.Background())
		go svc.Watch(ctx)
	}
	s.routes()
	// A state-changing request from another origin (a cross-site form or
	// fetch, told apart by Sec-Fetch-Site or Origin) is refused with 403.
	s.handler = s.securityHeaders(http.NewCrossOriginProtection().Handler(s.mux))
	return s, nil
}

// Close stops what the portal runs beside its requests (the look-out for
// interrupted jobs); jobs already running go on.
func (s *Server) Close() { s.stopWatch() }

// ServeHTTP serves the API, the pages and their static files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ReloadTokens reads the token file again (SIGHUP); revoked tokens and the
// sessions signed in with them stop working at once.
func (s *Server) ReloadTokens() error { return s.tokens.Reload() }

// api serves h to a bearer token's holder (anyone else gets 401): the
// caller is the request's Principal, and the team and stack of the path are
// noted for the audit log.
func (s *Server) api(h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if team, env := r.PathValue("team"), r.PathValue("env"); team != "" && env != "" {
			noteStack(r, team, StackName(team, env))
		}
		p, ok := s.identifyAPI(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "auth", "a valid bearer token is required (Authorization: Bearer …)")
			return
		}
		noteOf(r).principal = &p
		r = r.WithContext(WithPrincipal(r.Context(), p))
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, p.identity())
	}
}

func (s *Server) routes() {
	apiHandler := s.api
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, Identity)) {
		s.mux.HandleFunc(pattern, apiHandler(h))
	}
	// A state-changing call is audited as action.
	apiChange := func(pattern, action string, h func(http.ResponseWriter, *http.Request, Identity)) {
		s.mux.HandleFunc(pattern, s.audited(action, apiHandler(h)))
	}
	api("GET /api/stacks", s.listStacks)
	api("GET /api/stacks/{team}/{env}", s.showStack)
	api("GET /api/stacks/{team}/{env}/audit", s.showAudit)
	api("POST /api/stacks/{team}/{env}/validate", s.validateStack)
	apiChange("POST /api/stacks/{team}/{env}/preview", "preview", s.preview)
	apiChange("POST /api/stacks/{team}/{env}/apply", "apply", s.apply)
	apiChange("POST /api/stacks/{team}/{env}/destroy", "destroy", s.destroy)
	apiChange("PUT /api/stacks/{team}/{env}/secrets/{source}", "secret", s.putSecret)
	apiChange("POST /api/stacks/{team}/{env}/sources/{source}/token", "token", s.postToken)
	api("GET /api/stacks/{team}/{env}/sources/{source}/dlq", s.getDLQ)
	apiChange("POST /api/stacks/{team}/{env}/sources/{source}/pause", "pause", s.pauseSource)
	apiChange("POST /api/stacks/{team}/{env}/sources/{source}/resume", "resume", s.resumeSource)
	apiChange("POST /api/stacks/{team}/{env}/sources/{source}/redrive", "redrive", s.redrive)
	api("GET /api/stacks/{team}/{env}/sources/{source}/archive", s.getArchive)
	apiChange("POST /api/stacks/{team}/{env}/sources/{source}/replay", "replay", s.replay)
	api("GET /api/jobs/{id}", s.showJob)
	api("GET /api/jobs/{id}/events", s.jobEvents)

	pageChange := func(pattern, action string, h func(http.ResponseWriter, *http.Request, Identity)) {
		s.mux.HandleFunc(pattern, s.audited(action, s.page(h)))
	}
	s.mux.HandleFunc("GET /{$}", s.pageLogin)
	s.mux.HandleFunc("POST /login", s.audited("login", s.pageLoginPost))
	s.mux.HandleFunc("POST /logout", s.audited("logout", s.pageLogout))
	s.mux.Handle("GET /static/", http.FileServerFS(staticFS))
	s.mux.HandleFunc("GET /stacks", s.page(s.pageStacks))
	pageChange("POST /stacks/preview", "preview", s.pagePreview)
	s.mux.HandleFunc("GET /stacks/{env}", s.page(s.pageStack))
	s.mux.HandleFunc("GET /stacks/{env}/edit", s.page(s.pageEdit))
	pageChange("POST /stacks/{env}/secrets/{source}", "secret", s.pageSetSecret)
	pageChange("POST /stacks/{env}/sources/{source}/token", "token", s.pageToken)
	pageChange("POST /stacks/{env}/sources/{source}/redrive", "redrive", s.pageRedrive)
	pageChange("POST /stacks/{env}/sources/{source}/pause", "pause", s.pagePause)
	pageChange("POST /stacks/{env}/sources/{source}/resume", "resume", s.pageResume)
	s.mux.HandleFunc("GET /stacks/{env}/sources/{source}/archive", s.page(s.pageArchive))
	pageChange("POST /stacks/{env}/sources/{source}/replay", "replay", s.pageReplay)
	s.mux.HandleFunc("GET /jobs/{id}", s.page(s.pageJob))
	pageChange("POST /jobs/{id}/apply", "apply", s.pageApply)
	s.mux.HandleFunc("GET /jobs/{id}/events", s.page(func(w http.ResponseWriter, r *http.Request, id Identity) { s.jobEvents(w, r, id) }))
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	// Problems are every problem of a request, each naming its field.
	Problems []problem `json:"problems,omitempty"`
}

// problem is one problem of a request: its field and what is wrong.
type problem struct {
	Field string `json:"field"`
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// decodeStrict decodes a JSON body, refusing unknown fields.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
