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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/policy/rules"
)

// MaxBody is the largest request body the portal reads.
const MaxBody = 64 << 10

// Tag keys the portal keeps in the backend (it keeps no state of its own).
const (
	tagTeam      = "hookline:team"
	tagPreviewed = "hookline:previewed"
)

//go:embed templates/*.html
var templateFS embed.FS

// Options configure the portal.
type Options struct {
	Tokens *Tokens
	// Engine is the engine template: ProjectDir, StateDir or BackendURL,
	// Passphrase, PolicyPack, PolicyConfig, Env. Stack and Config are set
	// per request. The offline checks read the same PolicyConfig.
	Engine engine.Options
	Log    *slog.Logger
}

// Server is the portal's HTTP handler.
type Server struct {
	opts   Options
	policy rules.Config // the pack config, for the offline checks
	pages  *template.Template
	mux    *http.ServeMux

	mu   sync.Mutex
	jobs map[string]*Job
	busy map[string]string // stack → running job id
}

// New builds the portal.
func New(o Options) (*Server, error) {
	if o.Tokens == nil {
		return nil, errors.New("portal: a token file is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	policy, err := rules.LoadConfigFile(o.Engine.PolicyConfig)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	pages, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, policy: policy, pages: pages, mux: http.NewServeMux(), jobs: map[string]*Job{}, busy: map[string]string{}}
	s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, Identity)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			id, ok := s.identify(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "auth", "a valid bearer token is required")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
			h(w, r, id)
		})
	}
	api("GET /api/stacks", s.listStacks)
	api("GET /api/stacks/{team}/{env}", s.showStack)
	api("POST /api/stacks/{team}/{env}/validate", s.validate)
	api("POST /api/stacks/{team}/{env}/preview", func(w http.ResponseWriter, r *http.Request, id Identity) { s.operate(w, r, id, "preview") })
	api("POST /api/stacks/{team}/{env}/apply", func(w http.ResponseWriter, r *http.Request, id Identity) { s.operate(w, r, id, "apply") })
	api("POST /api/stacks/{team}/{env}/destroy", s.destroy)
	api("GET /api/jobs/{id}", s.showJob)
	api("GET /api/jobs/{id}/events", s.jobEvents)

	s.mux.HandleFunc("GET /{$}", s.pageLogin)
	s.mux.HandleFunc("POST /login", s.pageLoginPost)
	s.mux.HandleFunc("GET /stacks", s.page(s.pageStacks))
	s.mux.HandleFunc("POST /stacks/preview", s.page(s.pagePreview))
	s.mux.HandleFunc("GET /jobs/{id}", s.page(s.pageJob))
	s.mux.HandleFunc("POST /jobs/{id}/apply", s.page(s.pageApply))
	s.mux.HandleFunc("GET /jobs/{id}/events", s.page(func(w http.ResponseWriter, r *http.Request, id Identity) { s.jobEvents(w, r, id) }))
}

// identify reads the bearer token (API) or the session cookie (pages).
func (s *Server) identify(r *http.Request) (Identity, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if c, err := r.Cookie("hookline_token"); err == nil {
			token = c.Value
		}
	}
	return s.opts.Tokens.identify(strings.TrimSpace(token))
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// readRequest reads and validates the body against the path's team and env.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, id Identity) (string, *Request, map[string]string, bool) {
	team, env := r.PathValue("team"), r.PathValue("env")
	if !id.may(team) {
		writeError(w, http.StatusNotFound, "", "no such stack")
		return "", nil, nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("bodies are limited to %d bytes", MaxBody))
		} else {
			writeError(w, http.StatusBadRequest, "body", err.Error())
		}
		return "", nil, nil, false
	}
	req, err := ParseRequest(body)
	if err == nil && req.Env == "" {
		req.Env = env
	}
	var raw map[string]string
	if err == nil {
		if req.Env != env {
			err = &FieldError{"env", fmt.Sprintf("%q does not match the stack's environment %q", req.Env, env)}
		} else {
			raw, _, err = req.Config(team)
		}
	}
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, fe.Field, fe.Message)
		} else {
			writeError(w, http.StatusBadRequest, "body", err.Error())
		}
		return "", nil, nil, false
	}
	return team, req, raw, true
}

// validate is the instant check: the offline plan with policies and cost.
func (s *Server) validate(w http.ResponseWriter, r *http.Request, id Identity) {
	team, req, raw, ok := s.readRequest(w, r, id)
	if !ok {
		return
	}
	res, err := plan.Run(plan.Options{Dir: s.opts.Engine.ProjectDir, Stack: StackName(team, req.Env), Config: raw, Policy: s.policy})
	if err != nil {
		writeError(w, http.StatusBadRequest, "body", err.Error())
		return
	}
	counts := map[string]int{}
	for _, r := range res.Resources {
		counts[r.Type]++
	}
	writeJSON(w, http.StatusOK, struct {
		Stack     string           `json:"stack"`
		Resources map[string]int   `json:"resources"`
		Policies  []plan.Violation `json:"policies"`
		Cost      *ops.Estimate    `json:"cost"`
	}{StackName(team, req.Env), counts, res.Policies, res.Cost})
}

func (s *Server) engineOptions(stack string, raw map[string]string) engine.Options {
	o := s.opts.Engine
	o.Stack, o.Config = stack, raw
	return o
}

// jobEngine is the engine options of a job: its stack, the request's
// config, and the engine's events as the job's progress lines.
func (s *Server) jobEngine(j *Job, raw map[string]string) engine.Options {
	o := s.engineOptions(j.Stack, raw)
	o.Events = func(ev events.EngineEvent) {
		if line := eventLine(ev); line != "" {
			j.logf("%s", line)
		}
	}
	return o
}

// startJob registers a job unless the stack is busy (409).
func (s *Server) startJob(w http.ResponseWriter, team, stack, op string, req *Request) (*Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if jid, busy := s.busy[stack]; busy {
		writeJSON(w, http.StatusConflict, struct {
			apiError
			Job string `json:"job"`
		}{apiError{Error: "stack " + stack + " is busy with another operation"}, jid})
		return nil, false
	}
	j := &Job{JobView: JobView{ID: newJobID(), Team: team, Stack: stack, Op: op, Status: "running", Started: time.Now()},
		request: req, notify: make(chan struct{})}
	s.jobs[j.ID] = j
	s.busy[stack] = j.ID
	return j, true
}

func (s *Server) done(j *Job, err error) {
	if errors.Is(err, engine.ErrConcurrentUpdate) {
		err = fmt.Errorf("busy: %w", err)
	}
	j.finish(err)
	s.mu.Lock()
	delete(s.busy, j.Stack)
	s.mu.Unlock()
	s.opts.Log.Info("job finished", "job", j.ID, "stack", j.Stack, "op", j.Op, "status", j.Status)
}

// operate runs a preview or an apply as a job.
func (s *Server) operate(w http.ResponseWriter, r *http.Request, id Identity, op string) {
	team, req, raw, ok := s.readRequest(w, r, id)
	if !ok {
		return
	}
	s.launch(w, team, req, raw, op, func(j *Job) { writeJSON(w, http.StatusAccepted, j.snapshot(id.Team == team)) })
}

// launch starts the job of op for a validated request.
func (s *Server) launch(w http.ResponseWriter, team string, req *Request, raw map[string]string, op string, accepted func(*Job)) {
	stack := StackName(team, req.Env)
	j, ok := s.startJob(w, team, stack, op, req)
	if !ok {
		return
	}
	accepted(j)
	go func() {
		ctx := context.Background()
		o := s.jobEngine(j, raw)
		j.logf("%s %s: opening the stack", op, stack)
		st, err := engine.Open(ctx, o)
		if err != nil {
			s.done(j, err)
			return
		}
		_ = st.SetTag(ctx, tagTeam, team)
		hash := req.Hash(team)
		switch op {
		case "preview":
			// The offline plan runs the pack's rules with every value known
			// (a new stack's preview cannot see ARNs yet), then the engine
			// previews with the pack itself.
			if blocked := s.offlinePolicies(j, stack, raw); blocked != nil {
				s.done(j, blocked)
				return
			}
			res, err := st.Preview(ctx)
			j.record(res)
			if err == nil {
				err = st.SetTag(ctx, tagPreviewed, hash)
			}
			s.done(j, err)
		case "apply":
			if st.Tag(ctx, tagPreviewed) != hash {
				s.done(j, errors.New("apply needs a passed preview of this same request first"))
				return
			}
			res, err := st.Up(ctx)
			j.record(res)
			if res != nil && err == nil {
				j.mu.Lock()
				j.Outputs = map[string]any{}
				for k, v := range res.Outputs {
					if k == "apiKeys" {
						j.apiKeys = v.Value
						continue
					}
					j.Outputs[k] = v.Value
				}
				j.mu.Unlock()
			}
			s.done(j, err)
		}
	}()
}

// offlinePolicies runs the policy rules over the offline plan of the
// request; mandatory findings block the preview.
func (s *Server) offlinePolicies(j *Job, stack string, raw map[string]string) error {
	res, err := plan.Run(plan.Options{Dir: s.opts.Engine.ProjectDir, Stack: stack, Config: raw, Policy: s.policy})
	if err != nil {
		return err
	}
	var blocked []string
	for _, v := range res.Policies {
		j.logf("policy %s %s on %s: %s", v.Level, v.Policy, v.URN, v.Message)
		j.mu.Lock()
		j.Violations = append(j.Violations, v)
		j.mu.Unlock()
		if v.Level == rules.Mandatory {
			blocked = append(blocked, v.Policy)
		}
	}
	if len(blocked) > 0 {
		return fmt.Errorf("blocked by mandatory policies: %s", strings.Join(blocked, ", "))
	}
	return nil
}

func (j *Job) record(res *engine.Result) {
	if res == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Changes = res.Changes
	for _, v := range res.Violations {
		j.Violations = append(j.Violations, v)
	}
}

func (s *Server) destroy(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env := r.PathValue("team"), r.PathValue("env")
	if !id.may(team) {
		writeError(w, http.StatusNotFound, "", "no such stack")
		return
	}
	stack := StackName(team, env)
	var body struct {
		Confirm string `json:"confirm"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Confirm != stack {
		writeError(w, http.StatusBadRequest, "confirm", "set confirm to the stack name "+stack+" to destroy it")
		return
	}
	j, ok := s.startJob(w, team, stack, "destroy", nil)
	if !ok {
		return
	}
	writeJSON(w, http.StatusAccepted, j.snapshot(id.Team == team))
	go func() {
		ctx := context.Background()
		o := s.jobEngine(j, nil)
		st, err := engine.Open(ctx, o)
		if err == nil {
			var res *engine.Result
			res, err = st.Destroy(ctx)
			j.record(res)
			if err == nil {
				err = st.Remove(ctx)
			}
		}
		s.done(j, err)
	}()
}

// StackView is a stack as the API lists it.
type StackView struct {
	Name       string         `json:"name"`
	Team       string         `json:"team"`
	LastUpdate string         `json:"lastUpdate,omitempty"`
	Status     string         `json:"status"`
	Resources  int            `json:"resources"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	RunningJob string         `json:"runningJob,omitempty"`
}

func (s *Server) stacks(ctx context.Context, id Identity) ([]StackView, error) {
	sums, err := engine.List(ctx, s.opts.Engine)
	if err != nil {
		return nil, err
	}
	var out []StackView
	for _, sum := range sums {
		team, _, _ := strings.Cut(sum.Name, "-")
		if !id.may(team) {
			continue
		}
		v := StackView{Name: sum.Name, Team: team, LastUpdate: sum.LastUpdate, Status: "idle"}
		if sum.ResourceCount != nil {
			v.Resources = *sum.ResourceCount
		}
		if sum.UpdateInProgress {
			v.Status = "updating"
		}
		s.mu.Lock()
		if jid, ok := s.busy[sum.Name]; ok {
			v.Status, v.RunningJob = "busy", jid
		}
		s.mu.Unlock()
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request, id Identity) {
	vs, err := s.stacks(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if vs == nil {
		vs = []StackView{}
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) showStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env := r.PathValue("team"), r.PathValue("env")
	if !id.may(team) {
		writeError(w, http.StatusNotFound, "", "no such stack")
		return
	}
	vs, err := s.stacks(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	for _, v := range vs {
		if v.Name == StackName(team, env) {
			st, err := engine.Open(r.Context(), s.engineOptions(v.Name, nil))
			if err == nil {
				if outs, err := st.Outputs(r.Context()); err == nil {
					v.Outputs = map[string]any{}
					for k, o := range outs {
						if k == "apiKeys" && id.Team != team {
							continue
						}
						v.Outputs[k] = o.Value
					}
				}
			}
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "no such stack")
}

func (s *Server) job(id Identity, jid string) (*Job, bool) {
	s.mu.Lock()
	j, ok := s.jobs[jid]
	s.mu.Unlock()
	if !ok || !id.may(j.Team) {
		return nil, false
	}
	return j, true
}

func (s *Server) showJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "", "no such job")
		return
	}
	writeJSON(w, http.StatusOK, j.snapshot(id.Team == j.Team))
}

// jobEvents streams a job's progress as Server-Sent Events: one "message"
// per line, then a "done" event with the job.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "", "no such job")
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	n := 0
	for {
		lines, ended, changed := j.since(n)
		for _, l := range lines {
			fmt.Fprintf(w, "data: %s\n\n", strings.ReplaceAll(l, "\n", " "))
		}
		n += len(lines)
		if ended {
			b, _ := json.Marshal(j.snapshot(id.Team == j.Team))
			fmt.Fprintf(w, "event: done\ndata: %s\n\n", b)
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}

// --- pages ---------------------------------------------------------------------

func (s *Server) page(h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.identify(r)
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, id)
	}
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.pages.ExecuteTemplate(w, name, data); err != nil {
		s.opts.Log.Error("render", "page", name, "error", err.Error())
	}
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	s.render(w, "login.html", map[string]any{"Error": r.URL.Query().Get("error")})
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	token := strings.TrimSpace(r.FormValue("token"))
	if _, ok := s.opts.Tokens.identify(token); !ok {
		http.Redirect(w, r, "/?error=unknown+token", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "hookline_token", Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/stacks", http.StatusSeeOther)
}

const sampleSources = `- name: orders
  signature: {scheme: standard-webhooks}
  groupBy: header:X-Customer
- name: refunds
  signature: {scheme: github}
`

func (s *Server) pageStacks(w http.ResponseWriter, r *http.Request, id Identity) {
	vs, err := s.stacks(r.Context(), id)
	s.render(w, "stacks.html", map[string]any{"Identity": id, "Stacks": vs, "Error": errString(err),
		"Sample": sampleSources, "Team": id.Team})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// pagePreview takes the form (env, region, sources as YAML) and starts a preview.
func (s *Server) pagePreview(w http.ResponseWriter, r *http.Request, id Identity) {
	team := id.Team
	if id.Admin {
		team = r.FormValue("team")
	}
	var sources []map[string]any
	if err := yaml.Unmarshal([]byte(r.FormValue("sources")), &sources); err != nil {
		s.render(w, "stacks.html", map[string]any{"Identity": id, "Error": "sources: " + err.Error(), "Sample": r.FormValue("sources"), "Team": team})
		return
	}
	req := &Request{Env: r.FormValue("env"), Region: r.FormValue("region")}
	for _, src := range sources {
		b, _ := json.Marshal(src)
		req.Sources = append(req.Sources, b)
	}
	raw, _, err := req.Config(team)
	if err != nil {
		s.render(w, "stacks.html", map[string]any{"Identity": id, "Error": err.Error(), "Sample": r.FormValue("sources"), "Team": team})
		return
	}
	s.launch(w, team, req, raw, "preview", func(j *Job) { http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther) })
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.render(w, "job.html", map[string]any{"Job": j.snapshot(id.Team == j.Team)})
}

// pageApply applies the request a passed preview job ran.
func (s *Server) pageApply(w http.ResponseWriter, r *http.Request, id Identity) {
	prev, ok := s.job(id, r.PathValue("id"))
	if !ok || prev.request == nil {
		http.NotFound(w, r)
		return
	}
	raw, _, err := prev.request.Config(prev.Team)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.launch(w, prev.Team, prev.request, raw, "apply", func(j *Job) { http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther) })
}
