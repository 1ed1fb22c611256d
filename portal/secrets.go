package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/stackconfig"
)

// secretKinds maps each kind of source secret to its stack config key and
// tells which sources have one.
var secretKinds = map[string]struct {
	key     string
	applies func(stackconfig.Source) bool
	param   func(stackconfig.Source) string
}{
	"signing": {"signingSecrets", func(s stackconfig.Source) bool { return s.Signature.Scheme != contract.SchemeNone },
		func(s stackconfig.Source) string { return s.Signature.SecretParameter }},
	"token": {"tokens", func(s stackconfig.Source) bool { return s.Auth.Type == stackconfig.AuthToken },
		func(s stackconfig.Source) string { return s.Auth.TokenParameter }},
	"forward": {"forwardSecrets", func(s stackconfig.Source) bool { return s.Processor.Type == contract.ProcessorForward },
		func(s stackconfig.Source) string { return s.Processor.SecretParameter }},
}

// stackConfig opens a stack (without setting its config) and reads its
// config, its secret keys and, when it validates, the Config (nil for a
// stack that has none yet).
func (s *Server) stackConfig(ctx context.Context, stack string) (*engine.Stack, map[string]string, []string, *stackconfig.Config, error) {
	st, err := engine.Open(ctx, s.engineOptions(stack, nil))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	raw, secret, err := st.Config(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cfg, err := stackconfig.Load(stack, raw, false, secret)
	if err != nil {
		cfg = nil
	}
	return st, raw, secret, cfg, nil
}

// SecretView is what the API answers about a secret: never its value.
type SecretView struct {
	Source       string `json:"source"`
	Kind         string `json:"kind"`
	Parameter    string `json:"parameter"`
	PreviousKept bool   `json:"previousKept"`
	Note         string `json:"note"`
}

// setSecret stores a source's signing secret, URL token or forward secret as
// a stack secret (encrypted by the stack's secrets provider; the next apply
// writes it to the source's SSM SecureString). With keepPrevious the
// previous secret stays beside the new one, space-separated — step 1 of the
// README's rotation; setting the new one alone afterwards is step 3. The
// value is never echoed, logged or shown again.
func (s *Server) setSecret(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, ok := pathStack(w, r, id)
	if !ok {
		return
	}
	source := r.PathValue("source")
	if !contract.ValidSourceName(source) {
		writeError(w, http.StatusBadRequest, "source", fmt.Sprintf("%q is not a source name", source))
		return
	}
	var body struct {
		Kind         string `json:"kind"`
		Value        string `json:"value"`
		KeepPrevious bool   `json:"keepPrevious"`
	}
	if err := decodeStrict(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, "body", "want {kind, value, keepPrevious}")
		return
	}
	kind, known := secretKinds[body.Kind]
	switch {
	case !known:
		writeError(w, http.StatusBadRequest, "kind", "want signing, token or forward")
		return
	case body.Value == "" || strings.ContainsAny(body.Value, " \t\r\n"):
		writeError(w, http.StatusBadRequest, "value", "one secret, without spaces (keepPrevious keeps the previous one beside it)")
		return
	}
	stack := StackName(team, env)
	if !s.owned(w, r.Context(), team, stack) {
		return
	}
	s.mu.Lock()
	jid, busy := s.busy[stack]
	s.mu.Unlock()
	if busy {
		writeError(w, http.StatusConflict, "", "stack "+stack+" is busy with job "+jid+"; set the secret when it ends")
		return
	}
	st, raw, secretKeys, cfg, err := s.stackConfig(r.Context(), stack)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if cfg == nil || len(cfg.Sources) == 0 {
		writeError(w, http.StatusNotFound, "", "no stack "+stack+" with sources yet: preview it first")
		return
	}
	var src *stackconfig.Source
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == source {
			src = &cfg.Sources[i]
		}
	}
	if src == nil {
		writeError(w, http.StatusNotFound, "source", "stack "+stack+" has no source "+source)
		return
	}
	if !kind.applies(*src) {
		writeError(w, http.StatusBadRequest, "kind", fmt.Sprintf("source %s has no %s secret", source, body.Kind))
		return
	}
	key := stackconfig.Namespace + ":" + kind.key
	secrets := map[string]string{}
	if cur := raw[key]; cur != "" {
		if err := json.Unmarshal([]byte(cur), &secrets); err != nil {
			writeError(w, http.StatusInternalServerError, "", key+" of "+stack+" is not a map")
			return
		}
	}
	value, kept := body.Value, false
	if prev, _, _ := strings.Cut(secrets[source], " "); body.KeepPrevious && prev != "" && prev != body.Value {
		value, kept = body.Value+" "+prev, true
	}
	secrets[source] = value
	b, _ := json.Marshal(secrets)
	raw[key] = string(b)
	if _, err := stackconfig.Load(stack, raw, false, append(secretKeys, key)); err != nil {
		// The program's own validation; its message never holds the value.
		writeError(w, http.StatusBadRequest, "value", strings.ReplaceAll(err.Error(), body.Value, "…"))
		return
	}
	if err := st.SetSecret(r.Context(), key, string(b)); err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	s.opts.Log.Info("secret set", "stack", stack, "source", source, "kind", body.Kind, "previousKept", kept)
	writeJSON(w, http.StatusOK, SecretView{Source: source, Kind: body.Kind, Parameter: kind.param(*src), PreviousKept: kept,
		Note: "stored encrypted in the stack; the next apply writes it to the parameter"})
}
