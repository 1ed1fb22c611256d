package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (s *Server) page(h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.identifyPage(r)
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, id)
	}
}

func (s *Server) render(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
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
	id, ok := s.tokens.current().identify(token)
	if !ok {
		http.Redirect(w, r, "/?error=unknown+token", http.StatusSeeOther)
		return
	}
	// The cookie holds an opaque session id, never the token; it expires
	// with the session and is sent only over TLS when the portal is reached
	// over TLS.
	key := s.sessions.create(id, HashToken(token), s.opts.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: key, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secureRequest(r), MaxAge: int(s.opts.SessionTTL / time.Second)})
	http.Redirect(w, r, "/stacks", http.StatusSeeOther)
}

// pageLogout ends the session and clears its cookie.
func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secureRequest(r), MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
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
		"Sample": sampleSources, "Team": id.Team, "SignedIn": true})
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
		s.render(w, "stacks.html", map[string]any{"Identity": id, "Error": "sources: " + err.Error(), "Sample": r.FormValue("sources"), "Team": team, "SignedIn": true})
		return
	}
	req := &Request{Env: r.FormValue("env"), Region: r.FormValue("region")}
	for _, src := range sources {
		b, _ := json.Marshal(src)
		req.Sources = append(req.Sources, b)
	}
	raw, _, err := req.Config(team)
	if err != nil {
		s.render(w, "stacks.html", map[string]any{"Identity": id, "Error": err.Error(), "Sample": r.FormValue("sources"), "Team": team, "SignedIn": true})
		return
	}
	s.launch(w, r.Context(), team, req, raw, "preview", func(j *Job) { http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther) })
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.render(w, "job.html", map[string]any{"Job": j.snapshot(id.Team == j.Team), "SignedIn": true})
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
	s.launch(w, r.Context(), prev.Team, prev.request, raw, "apply", func(j *Job) { http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther) })
}
