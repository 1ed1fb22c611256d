package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
)

// TokenBytes is the entropy of a token the portal generates: 32 random
// bytes (256 bits), written URL-safe (base64url, 43 characters), which
// the config's token format (32 to 512 of A-Z a-z 0-9 - _ . ~) holds.
const TokenBytes = 32

// TokenView is a token the portal generated for a source: answered once,
// never stored by the portal outside the stack's encrypted config, never
// logged and never shown again.
type TokenView struct {
	Source string `json:"source"`
	// Token is the new token; URL is the sender's full URL with it, when the
	// source is deployed (its endpoint is known).
	Token        string `json:"token"`
	URL          string `json:"url,omitempty"`
	Parameter    string `json:"parameter"`
	PreviousKept bool   `json:"previousKept"`
	Note         string `json:"note"`
}

// newToken is a random URL token of TokenBytes bytes.
func newToken() string {
	b := make([]byte, TokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// generateToken makes a new token for a token source of team's stack env
// and stores it the way a secret set by hand is (setSecret: the stack's
// encrypted config, written to the source's SSM SecureString by the next
// apply). With keepPrevious the source's current token stays valid beside
// it (the rotation format, newest first) until a later rotation or a token
// set alone. The answer holds the token: the caller shows it once.
func (s *Server) generateToken(ctx context.Context, id Identity, team, env, source string, keepPrevious bool) (TokenView, error) {
	tok := newToken()
	v, err := s.setSecret(ctx, team, StackName(team, env), source, SecretInput{Kind: "token", Value: tok, KeepPrevious: keepPrevious})
	if err != nil {
		return TokenView{}, err
	}
	tv := TokenView{Source: source, Token: tok, Parameter: v.Parameter, PreviousKept: v.PreviousKept,
		Note: "shown this once; the next apply writes it to " + v.Parameter}
	if v.PreviousKept {
		tv.Note += "; the previous token keeps working beside it until the next rotation"
	}
	// The sender's URL, when the source is deployed: a failure to read the
	// outputs only leaves it out (the token is set either way).
	if sv, err := s.stack(ctx, id, team, env); err == nil && sv.Outputs != nil {
		if o, ok := sv.Outputs.Sources[source]; ok && o.URL != "" {
			tv.URL = o.URL + "?token=" + url.QueryEscape(tok)
		}
	}
	return tv, nil
}

// postToken generates a source's token: {keepPrevious} (default true: a
// rotation keeps the previous token valid beside the new one). The answer
// holds the token, once, and is never cached.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request, id Identity) {
	body := struct {
		KeepPrevious *bool `json:"keepPrevious"`
	}{}
	if r.ContentLength != 0 {
		if err := decodeStrict(r, &body); err != nil {
			s.fail(w, &FieldError{Field: "body", Message: "want {keepPrevious} or nothing (keep the previous token)"})
			return
		}
	}
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	keep := body.KeepPrevious == nil || *body.KeepPrevious
	v, err := s.generateToken(r.Context(), id, team, env, r.PathValue("source"), keep)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
}

// pageToken generates a source's token from the environment page and
// shows that page with the token, once: the answer to this POST is the
// only page that holds it (never cached; a later visit shows no token).
func (s *Server) pageToken(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	err := stackRef(id, team, env)
	var v TokenView
	if err == nil {
		v, err = s.generateToken(r.Context(), id, team, env, source, r.FormValue("keepPrevious") == "true")
	}
	if err != nil {
		http.Redirect(w, r, envLinkWith(id, team, env, "error="+url.QueryEscape(s.errorText(err))), http.StatusSeeOther)
		return
	}
	s.stackPage(w, r, id, team, env, map[string]any{"Token": v, "PendingSecret": true,
		"Notice": "a new token of " + source + " is set (parameter " + v.Parameter + "); the next apply writes it"})
}
