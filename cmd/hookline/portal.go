package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/portal/albauth"
	"github.com/hookline/hookline/portal/jobs"
)

// portalOptions are hookline portal's flags.
type portalOptions struct {
	addr, dataDir, tokensPath, backend, pack, policyConfig, hashToken, dir string
	trustProto                                                             bool
	// jobsTable is the DynamoDB table the jobs live in (empty: this
	// process's memory); jobsLease how long a running job's lease lasts.
	jobsTable string
	jobsLease time.Duration
	// secretsProvider encrypts new stacks' secrets (awskms://…); empty:
	// the passphrase provider.
	secretsProvider string
	// albARN, oidcConfig and albKeyURL: sign-in at a load balancer.
	albARN, oidcConfig, albKeyURL string
	// offline is "true", "false" or "auto" (--offline unset).
	offline string
}

func newPortalCmd() *cobra.Command {
	o := &portalOptions{}
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Serve the self-service portal (teams provision their own endpoints)",
		Long: `portal serves the self-service portal: teams sign in with a bearer token and
create, preview and apply their own webhook environments, each a stack in the
portal's backend (--backend, default the local state under --data). The
commands find those stacks by name (see hookline --help).

Behind an Application Load Balancer whose authenticate-oidc (or Cognito)
action signs people in, --alb-arn and --oidc-config make the pages take the
load balancer's signed x-amzn-oidc-data header instead: it is verified
(ES256, the key of its kid from --alb-key-url, signed by --alb-arn, not
expired) and the person's groups are mapped to a team or admin by the
--oidc-config file. The API keeps taking bearer tokens only.`,
		Example: `  hookline portal
  hookline portal --addr 127.0.0.1:9090 --policy-config policy-config.json
  hookline portal --backend s3://hookline-state --jobs-table hookline-portal-jobs
  hookline portal --hash-token hl_…
  hookline portal --addr :8080 --trust-forwarded-proto \
    --alb-arn arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/portal/50dc6c495c0c9188 \
    --oidc-config oidc.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(portalRun(o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (loopback by default)")
	fs.StringVar(&o.dataDir, "data", ".build/portal", "data directory: token file, local state, policy pack")
	fs.StringVar(&o.tokensPath, "tokens", "", "token file (default: <data>/tokens.json, created with a demo team token when missing)")
	fs.StringVar(&o.backend, "backend", "", "state backend URL: file://…, s3://…, https://api.pulumi.com (default: file://<data>/state)")
	fs.StringVar(&o.pack, "policy-pack", "", "policy pack binary (default: built into <data>/hookline-policy)")
	fs.StringVar(&o.policyConfig, "policy-config", "", "the policy pack's config file (levels and bounds), for previews and the offline checks alike")
	fs.StringVar(&o.hashToken, "hash-token", "", "print the token-file hash of a token and exit")
	dirFlag(fs, &o.dir)
	fs.StringVar(&o.offline, "offline", "auto", "no-AWS mode: previews run the offline plan (no Pulumi CLI, no AWS credentials, nothing deployed); "+
		"--offline, --offline=false, or unset (auto): on when no Pulumi CLI is found (bin/pulumi or on PATH)")
	fs.Lookup("offline").NoOptDefVal = "true"
	fs.StringVar(&o.jobsTable, "jobs-table", "", "DynamoDB table of the jobs, their leases and logs, and the audit log, shared by every portal process: "+
		"any serves any job, the limits hold across them, a dead one's jobs are marked interrupted (AWS credentials and region from the environment; "+
		"AWS_ENDPOINT_URL_DYNAMODB for another endpoint). Default: this process's memory")
	fs.DurationVar(&o.jobsLease, "jobs-lease", jobs.DefaultLease, "how long a running job's lease lasts unless its process renews it (every third of it): "+
		"with --jobs-table, another process marks the job interrupted once it lapses")
	fs.StringVar(&o.secretsProvider, "secrets-provider", "", "how new stacks' secrets are encrypted: awskms://alias/… (AWS credentials from the environment); default: a passphrase (HOOKLINE_PORTAL_PASSPHRASE, else one kept in <data>)")
	fs.StringVar(&o.albARN, "alb-arn", "", "sign the pages' users in at this Application Load Balancer: its x-amzn-oidc-data must be signed by it (needs --oidc-config)")
	fs.StringVar(&o.oidcConfig, "oidc-config", "", `with --alb-arn: the file mapping the IdP's groups to teams and admins, {"groupsClaim":"groups","teams":{"pay":["idp-payments"]},"admins":["idp-platform"]}`)
	fs.StringVar(&o.albKeyURL, "alb-key-url", "", "with --alb-arn: where the load balancer's public keys are, the kid appended (default: https://public-keys.auth.elb.<region of --alb-arn>.amazonaws.com/; GovCloud's S3 URL)")
	fs.BoolVar(&o.trustProto, "trust-forwarded-proto", false, "believe X-Forwarded-Proto: only behind a proxy that terminates TLS and always sets it (the __Host- Secure session cookie and HSTS then follow the proxy's https)")
	return cmd
}

// portalRun serves the self-service portal.
func portalRun(o *portalOptions, stdout, stderr io.Writer) int {
	addr, dataDir, tokensPath, backend, pack, policyConfig, hashToken, dir, trustProto := &o.addr, &o.dataDir, &o.tokensPath, &o.backend, &o.pack, &o.policyConfig, &o.hashToken, &o.dir, &o.trustProto
	if *hashToken != "" {
		fmt.Fprintln(stdout, portal.HashToken(*hashToken))
		return 0
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline portal: "+format+"\n", a...)
		return 2
	}
	alb, err := albSignIn(o)
	if err != nil {
		return fail("%v", err)
	}
	projectDir, err := projectDirOrFind(*dir)
	if err != nil {
		return fail("%v", err)
	}
	noAWS, why, err := offlineMode(o.offline, projectDir)
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
	var store jobs.Store
	if o.jobsTable != "" {
		if store, err = jobsStore(context.Background(), o.jobsTable); err != nil {
			return fail("%v", err)
		}
	}
	srv, err := portal.New(portal.Options{
		Jobs: store, JobLease: o.jobsLease,
		TrustForwardedProto: *trustProto,
		ALB:                 alb,
		Offline:             noAWS,
		TokensFile:          *tokensPath,
		Engine:              engine.Options{ProjectDir: projectDir, StateDir: stateDir, BackendURL: *backend, SecretsProvider: o.secretsProvider, Passphrase: passphrase, PolicyPack: packAbs, PolicyConfig: configAbs},
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
		fmt.Fprintf(stdout, "hookline portal on http://%s (state: %s; jobs: %s)\n", *addr, orDefault(*backend, "file://"+stateDir),
			orDefault(o.jobsTable, "this process's memory"))
	}
	hs := portal.HTTPServer(*addr, srv, portal.DefaultTimeouts)
	if err := hs.ListenAndServe(); err != nil {
		return fail("%v", err)
	}
	return 0
}

// albSignIn is the load balancer's sign-in of --alb-arn, --oidc-config
// and --alb-key-url, or nil without --alb-arn. The key URL defaults to the
// ARN's region's endpoint (portal.New derives it).
func albSignIn(o *portalOptions) (*portal.ALBSignIn, error) {
	switch {
	case o.albARN == "" && (o.oidcConfig != "" || o.albKeyURL != ""):
		return nil, errors.New("--oidc-config and --alb-key-url need --alb-arn (the load balancer that signs people in)")
	case o.albARN == "":
		return nil, nil
	case o.oidcConfig == "":
		return nil, errors.New("--alb-arn needs --oidc-config: the file mapping the IdP's groups to teams and admins (see docs/portal.md)")
	}
	// The ARN and key URL are checked now, before the policy pack builds
	// (no network: keys are fetched at the first sign-in).
	if _, err := albauth.New(albauth.Config{ARN: o.albARN, KeyURL: o.albKeyURL}); err != nil {
		return nil, fmt.Errorf("--alb-arn/--alb-key-url: %w", err)
	}
	sso, err := portal.LoadSSOConfig(o.oidcConfig)
	if err != nil {
		return nil, err
	}
	return &portal.ALBSignIn{ARN: o.albARN, KeyURL: o.albKeyURL, SSO: sso}, nil
}

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

// jobsStore is the jobs table's store, read once so a table that cannot
// be reached stops the portal at start with why.
func jobsStore(ctx context.Context, table string) (jobs.Store, error) {
	cfg, err := awsConfig(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("--jobs-table %s: %w", table, err)
	}
	store := jobs.NewDynamoStore(dynamodb.NewFromConfig(cfg), table)
	if _, err := store.Running(ctx); err != nil {
		return nil, fmt.Errorf("--jobs-table: %w", err)
	}
	return store, nil
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
