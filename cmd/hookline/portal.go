package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/portal"
)

// portalCmd serves the self-service portal.
func portalCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	dataDir := fs.String("data", ".build/portal", "data directory: token file, local state, policy pack")
	tokensPath := fs.String("tokens", "", "token file (default: <data>/tokens.json, created with a demo team token when missing)")
	backend := fs.String("backend", "", "state backend URL: file://…, s3://…, https://api.pulumi.com (default: file://<data>/state)")
	pack := fs.String("policy-pack", "", "policy pack binary (default: built into <data>/hookline-policy)")
	policyConfig := fs.String("policy-config", "", "the policy pack's config file (levels and bounds), for previews and the offline checks alike")
	hashToken := fs.String("hash-token", "", "print the token-file hash of a token and exit")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	offline := &autoBool{v: "auto"}
	fs.Var(offline, "offline", "no-AWS mode: previews run the offline plan (no Pulumi CLI, no AWS credentials, nothing deployed); "+
		"--offline, --offline=false, or unset: on when no Pulumi CLI is found (bin/pulumi or on PATH)")
	trustProto := fs.Bool("trust-forwarded-proto", false, "believe X-Forwarded-Proto: only behind a proxy that terminates TLS and always sets it (the __Host- Secure session cookie and HSTS then follow the proxy's https)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *hashToken != "" {
		fmt.Fprintln(stdout, portal.HashToken(*hashToken))
		return 0
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline portal: "+format+"\n", a...)
		return 2
	}
	projectDir, err := projectDirOrFind(*dir)
	if err != nil {
		return fail("%v", err)
	}
	noAWS, why, err := offlineMode(offline.v, projectDir)
	if err != nil {
		return fail("%v", err)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fail("%v", err)
	}
	if *tokensPath == "" {
		*tokensPath = filepath.Join(*dataDir, "tokens.json")
		if _, err := os.Stat(*tokensPath); errors.Is(err, os.ErrNotExist) {
			token := randToken()
			b, _ := json.MarshalIndent(portal.Tokens{Teams: map[string][]string{"demo": {portal.HashToken(token)}}}, "", "  ")
			if err := os.WriteFile(*tokensPath, b, 0o600); err != nil {
				return fail("%v", err)
			}
			fmt.Fprintf(stdout, "created %s with a token for team demo (shown once): %s\n", *tokensPath, token)
		}
	}
	passphrase := os.Getenv("HOOKLINE_PORTAL_PASSPHRASE")
	if passphrase == "" {
		if passphrase, err = localPassphrase(*dataDir); err != nil {
			return fail("%v", err)
		}
	}
	if *pack == "" && !noAWS { // the offline plan runs the rules in process
		abs, _ := filepath.Abs(filepath.Join(*dataDir, "hookline-policy"))
		if *pack, err = build.Binary(context.Background(), projectDir, build.Spec{Package: "./policy"}, abs); err != nil {
			return fail("build the policy pack: %v", err)
		}
	}
	configAbs := ""
	if *policyConfig != "" {
		configAbs, _ = filepath.Abs(*policyConfig)
	}
	stateDir, _ := filepath.Abs(filepath.Join(*dataDir, "state"))
	packAbs := ""
	if *pack != "" {
		packAbs, _ = filepath.Abs(*pack)
	}
	srv, err := portal.New(portal.Options{
		TrustForwardedProto: *trustProto,
		Offline:             noAWS,
		TokensFile:          *tokensPath,
		Engine:              engine.Options{ProjectDir: projectDir, StateDir: stateDir, BackendURL: *backend, Passphrase: passphrase, PolicyPack: packAbs, PolicyConfig: configAbs},
		Log:                 slog.New(slog.NewJSONHandler(stderr, nil)),
	})
	if err != nil {
		return fail("%v", err)
	}
	// The token file is read again when it changes; SIGHUP reads it at once.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := srv.ReloadTokens(); err != nil {
				fmt.Fprintf(stderr, "reload %s: %v (the tokens in force stay)\n", *tokensPath, err)
			}
		}
	}()
	if noAWS {
		fmt.Fprintf(stdout, "hookline portal on http://%s in no-AWS mode (%s): previews run the offline plan, nothing is deployed\n", *addr, why)
	} else {
		fmt.Fprintf(stdout, "hookline portal on http://%s (state: %s)\n", *addr, orDefault(*backend, "file://"+stateDir))
	}
	hs := portal.HTTPServer(*addr, srv, portal.DefaultTimeouts)
	if err := hs.ListenAndServe(); err != nil {
		return fail("%v", err)
	}
	return 0
}

// autoBool is a flag that is set (--offline, --offline=false) or left
// to decide itself ("auto").
type autoBool struct{ v string }

func (a *autoBool) String() string     { return a.v }
func (a *autoBool) Set(s string) error { a.v = s; return nil }
func (a *autoBool) IsBoolFlag() bool   { return true }

// offlineMode decides the no-AWS mode from --offline: true, false, or auto
// (on when no Pulumi CLI is found, since then no engine call can work).
// Credentials are not probed: telling "none" from "a role this host will
// get from its metadata service" would take a call to AWS at every start;
// without them an engine call fails with a sentence naming --offline.
func offlineMode(flag, projectDir string) (bool, string, error) {
	switch flag {
	case "true", "1", "yes":
		return true, "--offline", nil
	case "false", "0", "no":
		return false, "", nil
	case "auto", "":
		if _, err := engine.FindCLI(projectDir); err != nil {
			return true, "no Pulumi CLI found: make tools builds bin/pulumi", nil
		}
		return false, "", nil
	}
	return false, "", fmt.Errorf("--offline %q: want true, false or auto", flag)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func randToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "hl_" + hex.EncodeToString(b)
}

// localPassphrase keeps a random passphrase for the local file backend in
// the data directory (mode 0600).
func localPassphrase(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "passphrase")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	p := randToken()
	return p, os.WriteFile(path, []byte(p+"\n"), 0o600)
}
