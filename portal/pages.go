package portal

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/policy/rules"
)

// pageFuncs are the templates' helpers: every value a page shows is
// written out for a person, never in Go's default formatting.
var pageFuncs = template.FuncMap{
	"duration": func(v any) string {
		var sec int64
		switch n := v.(type) {
		case int:
			sec = int64(n)
		case int64:
			sec = n
		}
		switch {
		case sec < 60:
			return fmt.Sprintf("%d s", sec)
		case sec < 3600:
			return fmt.Sprintf("%d min %02d s", sec/60, sec%60)
		default:
			return fmt.Sprintf("%d h %02d min", sec/3600, sec%3600/60)
		}
	},
	"stepText": func(steps []Step) string {
		counts := map[string]int{}
		for _, st := range steps {
			counts[st.Op]++
		}
		return changeText(counts)
	},
	"impact":   replaceImpact,
	"rule":     rules.Description,
	"resource": urnName,
}

// replaceImpact says what replacing a resource of type typ means to the
// team: the engine creates the new one, then deletes the old.
func replaceImpact(typ string) string {
	switch typ {
	case "aws:sqs/queue:Queue":
		return "a new, empty queue: messages still waiting in the old one are deleted with it"
	case "aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api":
		return "a new API: the endpoint URL changes, every sender must be given the new one"
	case "aws:apigateway/domainName:DomainName", "aws:apigatewayv2/domainName:DomainName":
		return "a new custom domain: its DNS target changes while the alias follows"
	case "aws:apigateway/resource:Resource":
		return "a new route: the source's URL path changes"
	case "aws:apigateway/deployment:Deployment":
		return "a new deployment of the API: the stage switches to it, the URL stays"
	case "aws:ssm/parameter:Parameter":
		return "the parameter is written under its new name and the old one deleted"
	case "aws:lambda/function:Function":
		return "a new function: the old one is deleted once the new one exists"
	case "aws:dynamodb/table:Table":
		return "a new, empty table: the idempotency records of the old one are lost"
	case "aws:cloudwatch/logGroup:LogGroup":
		return "a new log group: the old one's logs are deleted with it"
	}
	return "created anew, then the old one deleted (its identifier changes)"
}

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
	s.renderStatus(w, http.StatusOK, name, data)
}

// renderStatus renders a page with an HTTP status.
func (s *Server) renderStatus(w http.ResponseWriter, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
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

// overviewRow is one environment on the stacks overview.
type overviewRow struct {
	Name, Link, Job, JobLink, Updated, Cost string
	Sources                                 string
	Mismatch                                bool
}

// pageStacks is the overview: each environment with its last job, its
// sources, its last update and its estimated monthly cost; and the form
// for a new one.
func (s *Server) pageStacks(w http.ResponseWriter, r *http.Request, id Identity) {
	vs, err := s.stacks(r.Context(), id)
	var rows []overviewRow
	for _, v := range vs {
		row := overviewRow{Name: v.Name, Link: envLink(id, v.Team, v.Env), Updated: when(v.LastUpdate), Job: "none yet",
			Sources: "–", Cost: "–", Mismatch: v.Status == "owner-mismatch"}
		if v.RunningJob != "" {
			row.Job, row.JobLink = "running now", "/jobs/"+v.RunningJob
		} else if l := v.LastJob; l != nil {
			row.Job = l.Text()
			if _, ok := s.job(id, l.ID); ok {
				row.JobLink = "/jobs/" + l.ID
			}
		}
		if d := v.Deployed; d != nil {
			row.Sources = strconv.Itoa(d.Sources)
			row.Cost = d.CostText()
		}
		rows = append(rows, row)
	}
	s.render(w, "stacks.html", map[string]any{"Identity": id, "Rows": rows, "Error": errString(err),
		"Sample": sampleSources, "Team": id.Team, "SignedIn": true})
}

// envLink is the environment page of team's env, as id reaches it.
func envLink(id Identity, team, env string) string {
	link := "/stacks/" + url.PathEscape(env)
	if id.Admin {
		link += "?team=" + url.QueryEscape(team)
	}
	return link
}

// when writes a backend time ("2026-12-01T04:30:12Z" or with fractions)
// as "2026-12-01 04:30 UTC"; anything else as it is, "" as "never".
func when(t string) string {
	if t == "" {
		return "never"
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if v, err := time.Parse(layout, t); err == nil {
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	return t
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
	req := &Request{Env: r.FormValue("env"), Region: r.FormValue("region"), Ingress: r.FormValue("ingress")}
	for _, src := range sources {
		b, _ := json.Marshal(src)
		req.Sources = append(req.Sources, b)
	}
	raw, _, err := req.Config(team)
	if err != nil {
		s.render(w, "stacks.html", map[string]any{"Identity": id, "Error": err.Error(), "Sample": r.FormValue("sources"), "Team": team, "SignedIn": true})
		return
	}
	s.launchPage(w, r, team, req, raw, "preview", func(status int, msg string) {
		s.renderStatus(w, status, "stacks.html", map[string]any{"Identity": id, "Error": msg, "Sample": r.FormValue("sources"), "Team": team, "SignedIn": true})
	})
}

// launchPage starts a job from a page and shows it; a refusal (busy stack,
// limits, ownership) is shown by refused with the API's message and status.
func (s *Server) launchPage(w http.ResponseWriter, r *http.Request, team string, req *Request, raw map[string]string, op string, refused func(int, string)) {
	rec := httptest.NewRecorder()
	var started *Job
	s.launch(rec, r.Context(), team, req, raw, op, func(j *Job) { started = j })
	if started == nil {
		var v map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		if ra := rec.Header().Get("Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		refused(rec.Code, apiMessage(v))
		return
	}
	http.Redirect(w, r, "/jobs/"+started.ID, http.StatusSeeOther)
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.renderJob(w, http.StatusOK, id, j, "")
}

// renderJob renders a job's page, with notice as an error above it.
func (s *Server) renderJob(w http.ResponseWriter, status int, id Identity, j *Job, notice string) {
	v := j.snapshot(false) // the page never shows API keys
	j.mu.Lock()
	lines := append([]string(nil), j.lines...)
	j.mu.Unlock()
	data := map[string]any{"Job": v, "Lines": lines, "SignedIn": true, "Refresh": v.Status == "running", "Notice": notice,
		"OpTitle": strings.ToUpper(v.Op[:1]) + v.Op[1:], "EnvLink": envLink(id, v.Team, strings.TrimPrefix(v.Stack, v.Team+"-"))}
	type blocker struct{ Policy, Resource string }
	var blocked []blocker
	for _, f := range v.Violations {
		if f.Level == rules.Mandatory {
			blocked = append(blocked, blocker{f.Policy, urnName(f.URN)})
		}
	}
	if v.Op == "preview" {
		data["Blocked"] = blocked
		data["CanApply"] = v.Status == "succeeded" && len(blocked) == 0
	}
	if v.Op == "apply" && v.Status == "succeeded" && v.Outputs != nil && j.request != nil {
		if _, cfg, err := j.request.Config(j.Team); err == nil {
			data["Cards"] = sourceCards(cfg, v.Outputs)
		}
	}
	s.renderStatus(w, status, "job.html", data)
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
	s.launchPage(w, r, prev.Team, prev.request, raw, "apply", func(status int, msg string) {
		s.renderJob(w, status, id, prev, "Apply was refused: "+msg)
	})
}
