package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline/portal/jobs"
)

// Every state-changing request (a job started, a secret or token set, a
// source paused or resumed, a sign-in or sign-out) is appended to the audit
// log of the jobs store: who (the Principal's Subject and Via, never a
// token), the team and stack, the action, the request's hash (preview and
// apply), the status answered and what came of it in words. A request's
// body is never kept: what came of it is the job's id, the refusal, or the
// page's notice, none of which holds a secret's value.

// auditNote is what a request's handlers learn for its audit entry: the
// wrappers that identify the caller and parse the request fill it in.
type auditNote struct {
	principal   *Principal
	team, stack string
	hash        string
	result      string
}

type auditKey struct{}

// noteOf is the audit note of r (a throw-away one when r is not audited).
func noteOf(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// noteStack records the team and stack r acts on.
func noteStack(r *http.Request, team, stack string) {
	n := noteOf(r)
	n.team, n.stack = team, stack
}

// audited wraps a state-changing route's handler: once it answered, the
// request's entry is appended to the audit log.
func (s *Server) audited(action string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		started := time.Now().UTC()
		note := &auditNote{}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		e := jobs.AuditEntry{Time: started, Action: action, Team: note.team, Stack: note.stack, RequestHash: note.hash, Status: rec.status,
			Result: note.result}
		if p := note.principal; p != nil {
			e.Subject, e.Via = p.Subject, p.Via
			if e.Team == "" {
				e.Team = p.Team
			}
		}
		if e.Result == "" {
			e.Result = rec.result()
		}
		if err := s.jobs.Audit(context.WithoutCancel(r.Context()), e); err != nil {
			s.opts.Log.Error("the audit log is not written", "action", action, "stack", e.Stack, "error", err.Error())
		}
	}
}

// statusRecorder keeps the status of an answer, its redirect and the
// start of a JSON body, to say what came of a request.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

// jsonKept is how much of a JSON answer the recorder reads (its id or
// error come first or are short).
const jsonKept = 8 << 10

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	if strings.HasPrefix(s.Header().Get("Content-Type"), "application/json") && s.body.Len() < jsonKept {
		s.body.Write(b[:min(len(b), jsonKept-s.body.Len())])
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes on to the connection (the pages' redirects never stream,
// but a wrapped writer must not lose it).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// result says what came of the request: the job it started, the refusal
// the API answered, or where a page sent the browser (its job, its
// error or its notice); otherwise the status in words. Nothing else of
// an answer is read: a token's answer holds the token.
func (s *statusRecorder) result() string {
	var answer struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if s.body.Len() > 0 && json.Unmarshal(s.body.Bytes(), &answer) == nil {
		switch {
		case s.status < 300 && answer.ID != "":
			return "job " + answer.ID
		case s.status >= 400 && answer.Error != "":
			return answer.Error
		}
	}
	if loc := s.Header().Get("Location"); loc != "" {
		if id, ok := strings.CutPrefix(loc, "/jobs/"); ok {
			return "job " + id
		}
		if u, err := url.Parse(loc); err == nil {
			if msg := u.Query().Get("error"); msg != "" {
				return msg
			}
			if msg := u.Query().Get("notice"); msg != "" {
				return msg
			}
		}
	}
	return http.StatusText(s.status)
}

// auditRow is an audit entry as the environment page shows it.
type auditRow struct {
	When, Who, Action, Result string
	Refused                   bool
}

// auditRows are the newest entries of stack's audit log as rows ("" and
// the reason when it cannot be read).
func (s *Server) auditRows(ctx context.Context, stack string) ([]auditRow, string) {
	entries, err := s.jobs.AuditLog(ctx, stack, AuditShown)
	if err != nil {
		return nil, "the audit log could not be read: " + s.errorText(err)
	}
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		who := e.Subject
		if who == "" {
			who = "unidentified"
		}
		if e.Via != "" {
			who += " (" + e.Via + ")"
		}
		action := e.Action
		if len(e.RequestHash) >= 12 {
			action += " of request " + e.RequestHash[:12]
		}
		rows = append(rows, auditRow{When: e.Time.UTC().Format("2006-01-02 15:04:05 UTC"), Who: who, Action: action, Result: e.Result,
			Refused: e.Status >= 400})
	}
	return rows, ""
}

// AuditShown is how many audit entries the environment page and the API
// show, newest first.
const AuditShown = 20

// showAudit answers a stack's audit log, newest first.
func (s *Server) showAudit(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	entries, err := s.jobs.AuditLog(r.Context(), StackName(team, env), AuditShown)
	if err != nil {
		s.fail(w, err)
		return
	}
	if entries == nil {
		entries = []jobs.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}
