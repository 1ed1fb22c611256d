package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/portal/jobs"
)

// The pages call the same service as the API (the jobs service and the
// portal's stack reads), so the rules (names, ownership, limits, secrets
// never echoed) live in one place; they render its answers and refusals as
// HTML.

// pageTeam is the team a page acts for: the signed-in team, or for an admin
// the team named in the query or form.
func pageTeam(r *http.Request, id Identity) string {
	if id.Admin {
		return r.FormValue("team")
	}
	return id.Team
}

// envSource is one source on the environment page: its card, the kinds of
// secret it has, its DLQ; for a token source whether it has a token.
type envSource struct {
	SourceCard
	SecretKinds []string
	DLQ         DLQView
	DLQError    string
	// TokenSource: the source's URL carries a token; NoToken: none is set
	// in the stack's config yet (its senders get 401 until one is).
	TokenSource, NoToken bool
	TokenParameter       string
	// Pause is whether the source processes its queue (read from its event
	// source mapping); PauseError why that could not be read.
	Pause      jobs.SourceState
	PauseError string
	// Archive is the last hour of its archive (newest first, at most
	// five), ArchiveError why it could not be read.
	Archive      *ArchiveView
	ArchiveError string
}

// pageStack shows one environment: per source its card (endpoint, what to
// paste into the sender, ordering, console links), a form to set its
// secrets, its DLQ and a redrive form.
func (s *Server) pageStack(w http.ResponseWriter, r *http.Request, id Identity) {
	q := r.URL.Query()
	s.stackPage(w, r, id, pageTeam(r, id), r.PathValue("env"), map[string]any{"Notice": q.Get("notice"), "Error": q.Get("error"),
		"PendingSecret": q.Get("pending") == "secret"})
}

// stackPage renders the environment page of team's env with extra (a
// notice, an error, a secret waiting for an apply, a token shown once).
func (s *Server) stackPage(w http.ResponseWriter, r *http.Request, id Identity, team, env string, extra map[string]any) {
	stack := StackName(team, env)
	data := map[string]any{"SignedIn": true, "Env": env, "Stack": stack, "Team": team, "Admin": id.Admin}
	for k, v := range extra {
		data[k] = v
	}
	err := stackRef(id, team, env)
	var v StackView
	if err == nil {
		v, err = s.stack(r.Context(), id, team, env)
	}
	if err != nil {
		data["Error"] = s.errorText(err)
		s.renderStatus(w, s.pageStatus(w, err), "stack.html", data)
		return
	}
	data["Audit"], data["AuditError"] = s.auditRows(r.Context(), stack)
	_, raw, _, cfg, err := s.stackConfig(r.Context(), stack)
	if err != nil || cfg == nil {
		data["Error"] = "the stack's configuration could not be read: " + s.errString(err)
		s.render(w, "stack.html", data)
		return
	}
	var srcs []envSource
	for i, card := range sourceCards(cfg, v.Outputs) {
		e := envSource{SourceCard: card}
		for _, k := range []string{"signing", "token", "forward"} {
			if secretKinds[k].applies(cfg.Sources[i]) {
				e.SecretKinds = append(e.SecretKinds, k)
			}
		}
		if src := cfg.Sources[i]; secretKinds["token"].applies(src) {
			e.TokenSource, e.NoToken, e.TokenParameter = true, cfg.Tokens[src.Name] == "", src.Auth.TokenParameter
		}
		if card.Endpoint != "" { // deployed: its DLQ exists
			if e.DLQ, err = s.dlq(r.Context(), team, stack, card.Name); err != nil {
				e.DLQError = "the DLQ could not be read: " + s.errorText(err)
			}
			if e.Pause, err = s.jobs.PauseState(r.Context(), team, stack, card.Name); err != nil {
				e.PauseError = "whether it is paused could not be read: " + s.errorText(err)
			}
			// The outputs read above name the archive: no engine call.
			if o := v.Outputs; o == nil || o.ArchiveBucket == "" {
				e.ArchiveError = "archiving is off for this environment (or it was applied before hookline archived)"
			} else {
				now := time.Now()
				av, err := s.searchArchive(r.Context(), o.Region, o.ArchiveBucket, archive.Query{Source: card.Name, From: now.Add(-time.Hour), To: now})
				if err != nil {
					e.ArchiveError = "the archive could not be read: " + s.errorText(err)
				} else {
					av.Deliveries = av.Deliveries[:min(len(av.Deliveries), 5)]
					e.Archive = &av
				}
			}
		}
		srcs = append(srcs, e)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	data["Sources"] = srcs
	data["Summary"] = stackSummary(v)
	if data["PendingSecret"] == true {
		// A secret set waits for an apply: offer it, as a preview of the
		// environment as it is (the apply follows from the preview's page).
		if f, ferr := formOf(team, env, raw); ferr == nil {
			f.Admin = id.Admin
			data["Pending"] = f
		}
	}
	data["EditLink"] = editLink(id, team, env)
	s.render(w, "stack.html", data)
}

// stackSummary says in a line what an environment is: its last job and
// what its last apply deployed.
func stackSummary(v StackView) string {
	var parts []string
	if d := v.Deployed; d != nil {
		parts = append(parts, fmt.Sprintf("%d source(s), %d resources, about %s", d.Sources, d.Resources, costText(*d)))
	} else {
		parts = append(parts, "not applied yet")
	}
	if l := v.LastJob; l != nil {
		parts = append(parts, "last job: "+lastJobText(*l))
	}
	return strings.Join(parts, "; ")
}

// pageSetSecret sets a source's secret from the stack page's form.
func (s *Server) pageSetSecret(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	in := SecretInput{Kind: r.FormValue("kind"), Value: r.FormValue("value"), KeepPrevious: r.FormValue("keepPrevious") == "true"}
	err := stackRef(id, team, env)
	var v SecretView
	if err == nil {
		v, err = s.setSecret(r.Context(), team, StackName(team, env), source, in)
	}
	if err != nil {
		http.Redirect(w, r, envLinkWith(id, team, env, "error="+url.QueryEscape(s.errorText(err))), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, envLinkWith(id, team, env, "pending=secret&notice="+url.QueryEscape("the "+in.Kind+" secret of "+source+" is set (parameter "+v.Parameter+"); the next apply writes it")), http.StatusSeeOther)
}

// pageRedrive starts a redrive from the stack page and shows its job.
func (s *Server) pageRedrive(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	var groups []string
	for _, g := range strings.Split(r.FormValue("groups"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	err := stackRef(id, team, env)
	var j *jobs.Job
	if err == nil {
		uc := &jobs.Redrive{Service: s.jobs, Team: team, Stack: StackName(team, env), Source: source, Groups: groups}
		j, err = uc.Run(r.Context())
	}
	if err != nil {
		http.Redirect(w, r, "/stacks/"+url.PathEscape(env)+"?error="+url.QueryEscape(s.errorText(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(j.ID()), http.StatusSeeOther)
}
