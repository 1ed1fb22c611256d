package portal

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/hookline/hookline/engine"
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
