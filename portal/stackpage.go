package portal

import (
	"bytes"
	"context"
	"encoding/json"
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

// sourceCard is one source on the stack page.
type sourceCard struct {
	Name, Endpoint string
	SecretKinds    []string
	DLQ            DLQView
	DLQError       string
}

// pageStack shows one environment: per source its endpoint, a form to set
// its secrets, its DLQ and a redrive form.
func (s *Server) pageStack(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env := pageTeam(r, id), r.PathValue("env")
	path := map[string]string{"team": team, "env": env}
	data := map[string]any{"SignedIn": true, "Env": env, "Stack": StackName(team, env), "Notice": r.URL.Query().Get("notice"),
		"Error": r.URL.Query().Get("error")}
	code, stack := s.callAPI(r, id, s.showStack, "GET", nil, path)
	if code != http.StatusOK {
		w.WriteHeader(code)
		data["Error"] = apiMessage(stack)
		s.render(w, "stack.html", data)
		return
	}
	outs, _ := stack["outputs"].(map[string]any)
	srcs, _ := outs["sources"].(map[string]any)
	kinds := s.secretKindsOf(r.Context(), StackName(team, env))
	var cards []sourceCard
	for name, v := range srcs {
		o, _ := v.(map[string]any)
		c := sourceCard{Name: name, SecretKinds: kinds[name]}
		c.Endpoint, _ = o["endpoint"].(string)
		p := map[string]string{"team": team, "env": env, "source": name}
		if code, dlq := s.callAPI(r, id, s.showDLQ, "GET", nil, p); code == http.StatusOK {
			b, _ := json.Marshal(dlq)
			_ = json.Unmarshal(b, &c.DLQ)
		} else {
			c.DLQError = "the DLQ could not be read: " + apiMessage(dlq)
		}
		cards = append(cards, c)
	}
	sort.Slice(cards, func(i, j int) bool { return cards[i].Name < cards[j].Name })
	data["Sources"] = cards
	s.render(w, "stack.html", data)
}

// secretKindsOf lists, per source of a stack, the kinds of secret it has.
func (s *Server) secretKindsOf(ctx context.Context, stack string) map[string][]string {
	out := map[string][]string{}
	_, _, _, cfg, err := s.stackConfig(ctx, stack)
	if err != nil || cfg == nil {
		return out
	}
	for _, src := range cfg.Sources {
		for _, k := range []string{"signing", "token", "forward"} {
			if secretKinds[k].applies(src) {
				out[src.Name] = append(out[src.Name], k)
			}
		}
	}
	return out
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
