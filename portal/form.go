package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/portal/jobs"
	"github.com/hookline/hookline/stackconfig"
)

// sampleSources is the new-environment form's sample: valid on either
// ingress (an HTTP API has no API keys, so the sources authenticate by
// their signatures, which the consumer verifies).
const sampleSources = `- name: orders
  signature: {scheme: standard-webhooks}
  groupBy: header:X-Customer
  auth: {type: signature}
- name: refunds
  signature: {scheme: github}
  auth: {type: signature}
`

// envForm is the environment form: what was typed, kept as typed, and
// every problem beside its field. Edit is the form of an existing
// environment (its name fixed); Settings carry the request's keys the form
// does not show (throttle, log retention, alarm e-mails) as they were.
type envForm struct {
	Edit, Admin                        bool
	Team, Env, Region, Ingress         string
	Tracing                            string
	Sources                            string
	Throttle, LogRetention, AlarmEmail string
	// Problems are by form field: env, region, ingress, sources, other.
	Problems map[string][]string
}

// newForm is the new-environment form with its defaults.
func newForm(id Identity) envForm {
	return envForm{Admin: id.Admin, Team: id.Team, Env: "dev", Region: "us-east-1", Ingress: "rest", Tracing: stackconfig.DefaultTracing, Sources: sampleSources}
}

// postedForm is the form as posted.
func postedForm(r *http.Request, id Identity, team string) envForm {
	return envForm{Edit: r.FormValue("edit") == "true", Admin: id.Admin, Team: team, Env: r.FormValue("env"), Region: r.FormValue("region"),
		Ingress: r.FormValue("ingress"), Tracing: r.FormValue("tracing"), Sources: r.FormValue("sources"), Throttle: r.FormValue("throttle"),
		LogRetention: r.FormValue("logRetentionDays"), AlarmEmail: r.FormValue("alarmEmails")}
}

// request is the form as a request, or its problems (by field) when it
// does not parse.
func (f *envForm) request() (*Request, bool) {
	req := &Request{Env: f.Env, Region: f.Region, Ingress: f.Ingress, Tracing: f.Tracing}
	var sources []map[string]any
	if err := yaml.Unmarshal([]byte(f.Sources), &sources); err != nil {
		f.problem("sources", "not a YAML list of sources: "+strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for _, src := range sources {
		b, _ := json.Marshal(src)
		req.Sources = append(req.Sources, b)
	}
	for _, c := range []struct {
		field, v string
		into     any
	}{{"throttle", f.Throttle, &req.Throttle}, {"logRetentionDays", f.LogRetention, &req.LogRetentionDays}, {"alarmEmails", f.AlarmEmail, &req.AlarmEmails}} {
		if c.v != "" && json.Unmarshal([]byte(c.v), c.into) != nil {
			f.problem("other", c.field+": not as the environment had it; open the edit form again")
		}
	}
	return req, len(f.Problems) == 0
}

// problem puts a problem beside a form field.
func (f *envForm) problem(field, msg string) {
	if f.Problems == nil {
		f.Problems = map[string][]string{}
	}
	f.Problems[field] = append(f.Problems[field], msg)
}

var sourceFieldRE = regexp.MustCompile(`^sources\[(\d+)\]\.?(.*)$`)

// problems puts err's problems beside the form's fields, in the form's
// words; an error that is no request's problem is the page's (false).
func (f *envForm) problems(err error, req *Request) bool {
	var (
		form  *FormError
		field *FieldError
		list  []*FieldError
	)
	switch {
	case errors.As(err, &form):
		list = form.Problems
	case errors.As(err, &field):
		list = []*FieldError{field}
	default:
		return false
	}
	for _, p := range list {
		switch {
		case p.Field == "env" || p.Field == "region" || p.Field == "ingress" || p.Field == "tracing":
			f.problem(p.Field, p.Message)
		case p.Field == "sources":
			f.problem("sources", p.Message)
		case sourceFieldRE.MatchString(p.Field):
			m := sourceFieldRE.FindStringSubmatch(p.Field)
			i, _ := strconv.Atoi(m[1])
			label := fmt.Sprintf("source %d", i+1)
			if i < len(req.Sources) {
				var s struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(req.Sources[i], &s) == nil && s.Name != "" {
					label = fmt.Sprintf("source %d (%s)", i+1, s.Name)
				}
			}
			if m[2] != "" {
				label += ", " + m[2]
			}
			f.problem("sources", label+": "+p.Message)
		default:
			f.problem("other", p.Field+": "+p.Message)
		}
	}
	return true
}

// formOf is the edit form of an environment: its stack's config as the
// portal wrote it (raw), sources as YAML.
func formOf(team, env string, raw map[string]string) (envForm, error) {
	f := envForm{Edit: true, Team: team, Env: env, Region: raw[stackconfig.RegionKey], Ingress: raw["hookline:ingress"], Tracing: raw["hookline:tracing"],
		Throttle: raw["hookline:throttle"], LogRetention: raw["hookline:logRetentionDays"], AlarmEmail: raw["hookline:alarmEmails"]}
	if f.Ingress == "" {
		f.Ingress = "rest"
	}
	if f.Tracing == "" {
		f.Tracing = stackconfig.DefaultTracing
	}
	src, err := jsonAsYAML(raw["hookline:sources"])
	if err != nil {
		return envForm{}, fmt.Errorf("the sources of %s: %w", StackName(team, env), err)
	}
	f.Sources = src
	return f, nil
}

// jsonAsYAML writes JSON as block YAML, keys in their order.
func jsonAsYAML(j string) (string, error) {
	if j == "" {
		return "", nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(j), &n); err != nil { // JSON is YAML
		return "", err
	}
	var block func(*yaml.Node)
	block = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			n.Style = 0 // quoted only where YAML needs it
		}
		for _, c := range n.Content {
			block(c)
		}
	}
	block(&n)
	b, err := yaml.Marshal(&n)
	return string(b), err
}

// pageEdit is an environment's edit form, filled with its current config.
func (s *Server) pageEdit(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env := pageTeam(r, id), r.PathValue("env")
	data := map[string]any{"SignedIn": true, "Env": env, "Stack": StackName(team, env), "EnvLink": envLink(id, team, env)}
	err := stackRef(id, team, env)
	if err == nil {
		err = s.jobs.CheckOwner(r.Context(), team, StackName(team, env))
	}
	var raw map[string]string
	if err == nil {
		_, raw, _, _, err = s.stackConfig(r.Context(), StackName(team, env))
	}
	var f envForm
	if err == nil {
		f, err = formOf(team, env, raw)
		f.Admin = id.Admin
	}
	if err != nil {
		data["Error"] = s.errorText(err)
		s.renderStatus(w, s.pageStatus(w, err), "edit.html", data)
		return
	}
	data["Form"] = f
	data["Identity"] = id
	s.render(w, "edit.html", data)
}

// renderForm renders the form f again, with its problems, on the page it
// came from; notice is an error of the page's own.
func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, id Identity, status int, f envForm, notice string) {
	switch n := noteOf(r); {
	case notice != "":
		n.result = notice
	case len(f.Problems) > 0:
		n.result = fmt.Sprintf("refused: %d problem(s) in the form", len(f.Problems))
	}
	if f.Edit {
		s.renderStatus(w, status, "edit.html", map[string]any{"SignedIn": true, "Identity": id, "Env": f.Env, "Stack": StackName(f.Team, f.Env),
			"EnvLink": envLink(id, f.Team, f.Env), "Form": f, "Error": notice})
		return
	}
	vs, err := s.stacks(r.Context(), id)
	if notice == "" {
		notice = s.errString(err)
	}
	s.renderStatus(w, status, "stacks.html", map[string]any{"Identity": id, "Person": person(r), "Rows": s.overviewRows(r, id, vs), "Error": notice,
		"Form": f, "SignedIn": true})
}

// pagePreview takes the form (env, region, ingress, sources as YAML) and
// starts a preview; a form with problems comes back as typed, each problem
// beside its field.
func (s *Server) pagePreview(w http.ResponseWriter, r *http.Request, id Identity) {
	team := pageTeam(r, id)
	f := postedForm(r, id, team)
	req, ok := f.request()
	var raw map[string]string
	var err error
	if ok {
		raw, _, err = req.Config(team)
		if err == nil {
			err = stackRef(id, team, req.Env)
		}
		if err != nil && !f.problems(err, req) {
			s.renderForm(w, r, id, s.pageStatus(w, err), f, s.errorText(err))
			return
		}
	}
	if len(f.Problems) > 0 {
		s.renderForm(w, r, id, http.StatusOK, f, "")
		return
	}
	noteStack(r, team, StackName(team, req.Env))
	jr := req.jobRequest(team, raw)
	noteOf(r).hash = jr.Hash
	uc := &jobs.Preview{Service: s.jobs, Team: team, Stack: StackName(team, req.Env), Request: jr}
	j, err := uc.Run(r.Context())
	if err != nil {
		s.renderForm(w, r, id, s.pageStatus(w, err), f, s.errorText(err))
		return
	}
	http.Redirect(w, r, "/jobs/"+j.ID(), http.StatusSeeOther)
}
