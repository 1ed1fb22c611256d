package portal

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/portal/jobs"
	"github.com/hookline/hookline/stackconfig"
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
	"stepText": func(steps []jobs.Step) string {
		counts := map[string]int{}
		for _, st := range steps {
			counts[st.Op]++
		}
		return jobs.ChangeText(counts)
	},
	"impact":   replaceImpact,
	"rule":     rules.Description,
	"resource": jobs.ResourceName,
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

// page serves h to a signed-in person: signed in at the load balancer
// (the header alone decides when present), else by a session; anyone else
// goes to the sign-in page. The caller is the request's Principal, and the
// team and stack of the path (an admin's team from the form or query) are
// noted for the audit log.
func (s *Server) page(h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, present, err := s.albPrincipal(r)
		switch {
		case err != nil:
			noteOf(r).result = "refused at the load balancer"
			s.refused(w, err)
			return
		case !present:
			var ok bool
			if p, ok = s.identifyPage(r); !ok {
				noteOf(r).result = "not signed in"
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		}
		noteOf(r).principal = &p
		r = r.WithContext(WithPrincipal(r.Context(), p))
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		id := p.identity()
		if env := r.PathValue("env"); env != "" && r.Method == http.MethodPost {
			team := pageTeam(r, id)
			noteStack(r, team, StackName(team, env))
		}
		h(w, r, id)
	}
}

// refused answers a refused sign-in at the load balancer with its status
// and what to do, on the sign-in page without the token form.
func (s *Server) refused(w http.ResponseWriter, err error) {
	code, msg := http.StatusUnauthorized, err.Error()
	var e *signInError
	if errors.As(err, &e) {
		code = e.status
	}
	s.renderStatus(w, code, "login.html", map[string]any{"Error": msg, "ALBRefused": true})
}

// signedInAtALB answers a sign-in page's request that carries the load
// balancer's sign-in: to the overview when it verifies, else refused.
// It reports whether it answered.
func (s *Server) signedInAtALB(w http.ResponseWriter, r *http.Request) bool {
	_, present, err := s.albPrincipal(r)
	switch {
	case err != nil:
		s.refused(w, err)
	case present:
		http.Redirect(w, r, "/stacks", http.StatusSeeOther)
	}
	return present
}

func (s *Server) render(w http.ResponseWriter, name string, data map[string]any) {
	s.renderStatus(w, http.StatusOK, name, data)
}

// renderStatus renders a page with an HTTP status.
func (s *Server) renderStatus(w http.ResponseWriter, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if data == nil {
		data = map[string]any{}
	}
	data["Offline"] = s.opts.Offline
	if err := s.pages.ExecuteTemplate(w, name, data); err != nil {
		s.opts.Log.Error("render", "page", name, "error", err.Error())
	}
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if s.signedInAtALB(w, r) {
		return
	}
	s.render(w, "login.html", map[string]any{"Error": r.URL.Query().Get("error")})
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	if s.signedInAtALB(w, r) { // no token session beside the load balancer's sign-in
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	token := strings.TrimSpace(r.FormValue("token"))
	id, ok := s.tokens.current().identify(token)
	if !ok {
		noteOf(r).result = "refused: unknown token"
		http.Redirect(w, r, "/?error=unknown+token", http.StatusSeeOther)
		return
	}
	noteOf(r).principal = &Principal{Subject: TokenSubject(HashToken(token)), Team: id.Team, Admin: id.Admin, Via: ViaSession}
	noteOf(r).result = "signed in"
	// The cookie holds an opaque session id, never the token; it expires
	// with the session and, when the portal is reached over TLS, is a
	// __Host- cookie sent only over TLS (cookieName).
	key := s.sessions.create(HashToken(token), s.opts.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: key, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureRequest(r), MaxAge: int(s.opts.SessionTTL / time.Second)})
	http.Redirect(w, r, "/stacks", http.StatusSeeOther)
}

// pageLogout ends the session and clears its cookie.
func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.identifyPage(r); ok {
		noteOf(r).principal = &p
		noteOf(r).result = "signed out"
	}
	if c, err := r.Cookie(s.cookieName(r)); err == nil {
		s.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureRequest(r), MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// person names who signed in at the load balancer, for the overview's
// "Signed in as": their email, else their subject; "" for a token's
// sign-in (a token names a team, not a person).
func person(r *http.Request) string {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.Via != ViaALB {
		return ""
	}
	if p.Email != "" {
		return p.Email
	}
	return p.Subject
}

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
	s.render(w, "stacks.html", map[string]any{"Identity": id, "Person": person(r), "Rows": s.overviewRows(r, id, vs), "Error": s.errString(err),
		"Form": newForm(id), "SignedIn": true})
}

// overviewRows are the overview's rows of the stacks vs.
func (s *Server) overviewRows(r *http.Request, id Identity, vs []StackView) []overviewRow {
	var rows []overviewRow
	for _, v := range vs {
		row := overviewRow{Name: v.Name, Link: envLink(id, v.Team, v.Env), Updated: when(v.LastUpdate), Job: "none yet",
			Sources: "–", Cost: "–", Mismatch: v.Status == "owner-mismatch"}
		if v.RunningJob != "" {
			row.Job, row.JobLink = "running now", "/jobs/"+v.RunningJob
		} else if l := v.LastJob; l != nil {
			row.Job = lastJobText(*l)
			if _, err := s.job(r.Context(), id, l.ID); err == nil {
				row.JobLink = "/jobs/" + l.ID
			}
		}
		if d := v.Deployed; d != nil {
			row.Sources = strconv.Itoa(d.Sources)
			row.Cost = costText(*d)
		}
		rows = append(rows, row)
	}
	return rows
}

// costText is a deployment's estimate in words: "$31.11 / month at 1
// webhook/s per source".
func costText(d jobs.Deployed) string {
	return fmt.Sprintf("$%.2f / month at %s webhook/s per source", d.MonthlyUSD, strconv.FormatFloat(d.WebhooksPerSecond, 'g', 4, 64))
}

// lastJobText is a stack's last job in words: "apply succeeded 2026-12-01
// 04:42 UTC".
func lastJobText(l jobs.LastJob) string {
	return fmt.Sprintf("%s %s %s", l.Op, l.Status, when(l.Ended.Format(time.RFC3339)))
}

// envLink is the environment page of team's env, as id reaches it.
func envLink(id Identity, team, env string) string {
	link := "/stacks/" + url.PathEscape(env)
	if id.Admin {
		link += "?team=" + url.QueryEscape(team)
	}
	return link
}

// editLink is the form that edits and previews team's env, as id reaches
// it.
func editLink(id Identity, team, env string) string {
	link := "/stacks/" + url.PathEscape(env) + "/edit"
	if id.Admin {
		link += "?team=" + url.QueryEscape(team)
	}
	return link
}

// envLinkWith is envLink with further query parameters (query, encoded).
func envLinkWith(id Identity, team, env, query string) string {
	link := envLink(id, team, env)
	if strings.Contains(link, "?") {
		return link + "&" + query
	}
	return link + "?" + query
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

// errString is err as a page shows it ("" for none).
func (s *Server) errString(err error) string {
	if err == nil {
		return ""
	}
	return s.errorText(err)
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request, id Identity) {
	j, err := s.job(r.Context(), id, r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	s.renderJob(w, http.StatusOK, id, j, "")
}

// renderJob renders a job's page, with notice as an error above it.
func (s *Server) renderJob(w http.ResponseWriter, status int, id Identity, j *jobs.Job, notice string) {
	v := j.View(false) // the page never shows API keys
	op := string(v.Op)
	env := strings.TrimPrefix(v.Stack, v.Team+"-")
	data := map[string]any{"Job": v, "Lines": j.Lines(), "SignedIn": true, "Refresh": v.Status == jobs.StatusRunning, "Notice": notice,
		"OpTitle": strings.ToUpper(op[:1]) + op[1:], "EnvLink": envLink(id, v.Team, env), "EditLink": editLink(id, v.Team, env)}
	type blocker struct{ Policy, Resource string }
	var blocked []blocker
	for _, f := range v.Violations {
		if f.Level == rules.Mandatory {
			blocked = append(blocked, blocker{f.Policy, jobs.ResourceName(f.URN)})
		}
	}
	if v.Op == jobs.OpPreview {
		data["Blocked"] = blocked
		data["CanApply"] = v.Status == jobs.StatusSucceeded && len(blocked) == 0 && !v.Offline
		data["OfflineApply"] = v.Status == jobs.StatusSucceeded && v.Offline
	}
	if req := j.Request(); v.Op == jobs.OpApply && v.Status == jobs.StatusSucceeded && v.Outputs != nil && req != nil {
		if cfg, err := stackconfig.Load(v.Stack, req.Config, true, nil); err == nil {
			data["Cards"] = sourceCards(cfg, v.Outputs)
		}
	}
	s.renderStatus(w, status, "job.html", data)
}

// pageApply applies the request a passed preview job ran.
func (s *Server) pageApply(w http.ResponseWriter, r *http.Request, id Identity) {
	prev, err := s.job(r.Context(), id, r.PathValue("id"))
	if err != nil || prev.Request() == nil {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	noteStack(r, prev.Team(), prev.Stack())
	noteOf(r).hash = prev.Request().Hash
	uc := &jobs.Apply{Service: s.jobs, Team: prev.Team(), Stack: prev.Stack(), Request: *prev.Request(), ConfirmDeletes: r.PostForm["confirm"]}
	j, err := uc.Run(r.Context())
	if err != nil {
		code := s.pageStatus(w, err)
		noteOf(r).result = s.errorText(err)
		s.renderJob(w, code, id, prev, "Apply was refused: "+s.errorText(err))
		return
	}
	http.Redirect(w, r, "/jobs/"+j.ID(), http.StatusSeeOther)
}

// pageStatus is the status a page refused with err answers (Retry-After
// set on w for a limit).
func (s *Server) pageStatus(w http.ResponseWriter, err error) int {
	code, _, _ := status(err)
	s.retryAfter(w, code)
	return code
}
