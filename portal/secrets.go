package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal/jobs"
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

// stackConfig selects a stack (never creating it, nor setting its config)
// and reads its config, its secret keys and, when it validates, the Config
// (nil for a stack that has none yet); a *jobs.NotFoundError when the
// backend has no such stack.
func (s *Server) stackConfig(ctx context.Context, stack string) (*engine.Stack, map[string]string, []string, *stackconfig.Config, error) {
	st, err := engine.Select(ctx, s.engineOptions(stack, nil))
	if errors.Is(err, engine.ErrNoStack) {
		return nil, nil, nil, nil, &jobs.NotFoundError{Message: "no stack " + stack + " with sources yet: preview it first"}
	}
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

// MinSecretBytes is the shortest secret the portal sets, counted without
// a standard-webhooks "whsec_" prefix: 24 bytes (192 bits) of a random
// secret cannot be guessed, and a shared HMAC or token secret has no other
// defence. stackconfig sets no minimum (a stack file's secrets are the
// operator's), so the portal keeps its own.
const MinSecretBytes = 24

// SecretView is what the API answers about a secret: never its value.
type SecretView struct {
	Source       string `json:"source"`
	Kind         string `json:"kind"`
	Parameter    string `json:"parameter"`
	PreviousKept bool   `json:"previousKept"`
	Note         string `json:"note"`
}

// SecretInput is a secret to set: its kind (signing, token or forward),
// its value, and whether the previous one stays beside it.
type SecretInput struct {
	Kind         string `json:"kind"`
	Value        string `json:"value"`
	KeepPrevious bool   `json:"keepPrevious"`
}

// setSecret stores a source's signing secret, URL token or forward secret as
// a stack secret (encrypted by the stack's secrets provider; the next apply
// writes it to the source's SSM SecureString). With KeepPrevious the
// previous secret stays on the line below the new one — step 1 of the
// README's rotation; setting the new one alone afterwards is step 3. The
// value is never echoed, logged or shown again. team owns stack (checked
// here), which must not be busy with a job.
func (s *Server) setSecret(ctx context.Context, team, stack, source string, in SecretInput) (SecretView, error) {
	if !contract.ValidSourceName(source) {
		return SecretView{}, &FieldError{Field: "source", Message: fmt.Sprintf("%q is not a source name", source)}
	}
	kind, known := secretKinds[in.Kind]
	switch {
	case !known:
		return SecretView{}, &FieldError{Field: "kind", Message: "want signing, token or forward"}
	case in.Value == "" || strings.ContainsAny(in.Value, " \t\r\n"):
		return SecretView{}, &FieldError{Field: "value", Message: "one secret, without spaces (keepPrevious keeps the previous one beside it)"}
	case len(strings.TrimPrefix(in.Value, "whsec_")) < MinSecretBytes:
		return SecretView{}, &FieldError{Field: "value", Message: fmt.Sprintf("a secret of at least %d bytes (without a whsec_ prefix), random: openssl rand -base64 32 makes one", MinSecretBytes)}
	}
	if err := s.jobs.CheckOwner(ctx, team, stack); err != nil {
		return SecretView{}, err
	}
	// The stack's lease, as a job holds it, serialises the read, edit and
	// write of the secrets map below: two changes at once would each write
	// back the map they read, and one would be lost.
	var view SecretView
	err := s.jobs.Exclusive(ctx, stack, func(ctx context.Context) error {
		var err error
		view, err = s.writeSecret(ctx, stack, source, kind.key, kind.param, in)
		return err
	})
	if busy := (*jobs.BusyError)(nil); errors.As(err, &busy) && busy.Job != "" {
		busy.What = "job " + busy.Job + "; set the secret when it ends"
	}
	return view, err
}

// writeSecret is setSecret's change of the stack, made holding its lease.
func (s *Server) writeSecret(ctx context.Context, stack, source, key string, param func(stackconfig.Source) string, in SecretInput) (SecretView, error) {
	st, raw, secretKeys, cfg, err := s.stackConfig(ctx, stack)
	if err != nil {
		return SecretView{}, err
	}
	if cfg == nil || len(cfg.Sources) == 0 {
		return SecretView{}, &jobs.NotFoundError{Message: "no stack " + stack + " with sources yet: preview it first"}
	}
	var src *stackconfig.Source
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == source {
			src = &cfg.Sources[i]
		}
	}
	if src == nil {
		return SecretView{}, &jobs.NotFoundError{Field: "source", Message: "stack " + stack + " has no source " + source}
	}
	if !secretKinds[in.Kind].applies(*src) {
		return SecretView{}, &FieldError{Field: "kind", Message: fmt.Sprintf("source %s has no %s secret", source, in.Kind)}
	}
	key = stackconfig.Namespace + ":" + key
	secrets := map[string]string{}
	if cur := raw[key]; cur != "" {
		if err := json.Unmarshal([]byte(cur), &secrets); err != nil {
			return SecretView{}, fmt.Errorf("%s of %s is not a map", key, stack)
		}
	}
	// One rotation format for every secret and token (contract.RotateSecret):
	// one per line, newest first, so a secret with a space stays one secret.
	value, kept, err := contract.RotateSecret(key+"."+source, in.Value, secrets[source], in.KeepPrevious)
	if err != nil {
		return SecretView{}, &FieldError{Field: "value", Message: err.Error()} // never holds the value
	}
	secrets[source] = value
	b, _ := json.Marshal(secrets)
	raw[key] = string(b)
	if _, err := stackconfig.Load(stack, raw, false, append(secretKeys, key)); err != nil {
		// The program's own validation; its message never holds the value.
		return SecretView{}, &FieldError{Field: "value", Message: strings.ReplaceAll(err.Error(), in.Value, "…")}
	}
	if err := st.SetSecret(ctx, key, string(b)); err != nil {
		return SecretView{}, err
	}
	s.opts.Log.Info("secret set", "stack", stack, "source", source, "kind", in.Kind, "previousKept", kept)
	return SecretView{Source: source, Kind: in.Kind, Parameter: param(*src), PreviousKept: kept,
		Note: "stored encrypted in the stack; the next apply writes it to the parameter"}, nil
}
