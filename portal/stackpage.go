package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
)

// The pages are a client of the API: each page action calls the API's own
// handler, so the rules (names, ownership, limits, secrets never echoed)
// live in one place.

// callAPI runs an API handler for the page's identity with a JSON body and
// path values, and returns its status and decoded answer.
func (s *Server) callAPI(r *http.Request, id Identity, h func(http.ResponseWriter, *http.Request, Identity), method string, body any, path map[string]string) (int, map[string]any) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequestWithContext(r.Context(), method, r.URL.Path, rd)
	for k, v := range path {
		req.SetPathValue(k, v)
	}
	rec := httptest.NewRecorder()
	h(rec, req, id)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// apiMessage is the error text of an API answer.
func apiMessage(v map[string]any) string {
	msg, _ := v["error"].(string)
	if f, _ := v["field"].(string); f != "" {
		return f + ": " + msg
	}
	return msg
}

// pageTeam is the team a page acts for: the signed-in team, or for an admin
// the team named in the query or form.
func pageTeam(r *http.Request, id Identity) string {
	if id.Admin {
		return r.FormValue("team")
	}
	return id.Team
}

// envSource is one source on the environment page: its card, the kinds of
// secret it has, its DLQ.
type envSource struct {
	SourceCard
	SecretKinds []string
	DLQ         DLQView
	DLQError    string
}

// pageStack shows one environment: per source its card (endpoint, what to
// paste into the sender, ordering, console links), a form to set its
// secrets, its DLQ and a redrive form.
func (s *Server) pageStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env := pageTeam(r, id), r.PathValue("env")
	path := map[string]string{"team": team, "env": env}
	data := map[string]any{"SignedIn": true, "Env": env, "Stack": StackName(team, env), "Notice": r.URL.Query().Get("notice"),
		"Error": r.URL.Query().Get("error")}
	code, stack := s.callAPI(r, id, s.showStack, "GET", nil, path)
	if code != http.StatusOK {
		data["Error"] = apiMessage(stack)
		s.renderStatus(w, code, "stack.html", data)
		return
	}
	var v StackView
	b, _ := json.Marshal(stack)
	_ = json.Unmarshal(b, &v) // the API's own answer
	_, _, _, cfg, err := s.stackConfig(r.Context(), StackName(team, env))
	if err != nil || cfg == nil {
		data["Error"] = "the stack's configuration could not be read: " + errString(err)
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
		if card.Endpoint != "" { // deployed: its DLQ exists
			p := map[string]string{"team": team, "env": env, "source": card.Name}
			if code, dlq := s.callAPI(r, id, s.showDLQ, "GET", nil, p); code == http.StatusOK {
				b, _ := json.Marshal(dlq)
				_ = json.Unmarshal(b, &e.DLQ)
			} else {
				e.DLQError = "the DLQ could not be read: " + apiMessage(dlq)
			}
		}
		srcs = append(srcs, e)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	data["Sources"] = srcs
	data["Summary"] = stackSummary(v)
	s.render(w, "stack.html", data)
}

// stackSummary says in a line what an environment is: its last job and
// what its last apply deployed.
func stackSummary(v StackView) string {
	var parts []string
	if d := v.Deployed; d != nil {
		parts = append(parts, fmt.Sprintf("%d source(s), %d resources, about %s", d.Sources, d.Resources, d.CostText()))
	} else {
		parts = append(parts, "not applied yet")
	}
	if l := v.LastJob; l != nil {
		parts = append(parts, "last job: "+l.Text())
	}
	return strings.Join(parts, "; ")
}

// pageSetSecret sets a source's secret from the stack page's form.
func (s *Server) pageSetSecret(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	body := map[string]any{"kind": r.FormValue("kind"), "value": r.FormValue("value"), "keepPrevious": r.FormValue("keepPrevious") == "true"}
	code, v := s.callAPI(r, id, s.setSecret, "PUT", body, map[string]string{"team": team, "env": env, "source": source})
	back := "/stacks/" + url.PathEscape(env) + "?"
	if id.Admin {
		back += "team=" + url.QueryEscape(team) + "&"
	}
	if code != http.StatusOK {
		http.Redirect(w, r, back+"error="+url.QueryEscape(apiMessage(v)), http.StatusSeeOther)
		return
	}
	param, _ := v["parameter"].(string)
	http.Redirect(w, r, back+"notice="+url.QueryEscape("the "+r.FormValue("kind")+" secret of "+source+" is set (parameter "+param+"); the next apply writes it"), http.StatusSeeOther)
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
	code, v := s.callAPI(r, id, s.startRedrive, "POST", map[string]any{"groups": groups}, map[string]string{"team": team, "env": env, "source": source})
	if code != http.StatusAccepted {
		http.Redirect(w, r, "/stacks/"+url.PathEscape(env)+"?error="+url.QueryEscape(apiMessage(v)), http.StatusSeeOther)
		return
	}
	jid, _ := v["id"].(string)
	http.Redirect(w, r, "/jobs/"+url.PathEscape(jid), http.StatusSeeOther)
}
