// Package portalinfra is the Pulumi program that runs the hookline portal
// as a company service (docs/portal-service.md): typed components
// (StateStore, Image, FrontDoor, Service), pure specs beside them (names,
// policy documents, the container's command, the image's layer), and the
// stack's config with its validation and defaults.
package portalinfra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/handler/build"
)

// Options adjust the program for where it runs.
type Options struct {
	// RepoDir is the hookline checkout (go.mod). Default: two levels above
	// the project (deploy/portal).
	RepoDir string
	// Publisher pushes the image. Default: RegistryPublisher{} (ECR).
	Publisher Publisher
	// ImageFiles returns the files of the portal's layer. Default:
	// DefaultImageFiles (builds hookline and its policy pack for the
	// stack's architecture, adds the Pulumi CLI and the team mapping).
	ImageFiles func(ctx context.Context, cfg *Config, repoDir string) ([]ImageFile, error)
	// OnOutputs receives the stack outputs once exported.
	OnOutputs func(ctx *pulumi.Context, outputs pulumi.Map) error
}

// ReadConfig reads the stack's portal keys from the context.
func ReadConfig(ctx *pulumi.Context) (*Config, error) {
	raw := map[string]string{}
	// The engine passes the whole config in PULUMI_CONFIG: unknown keys of
	// the namespace are errors too.
	if env := os.Getenv(pulumi.EnvConfig); env != "" {
		all := map[string]string{}
		if err := json.Unmarshal([]byte(env), &all); err == nil {
			for k, v := range all {
				if strings.HasPrefix(k, Namespace+":") {
					raw[k] = v
				}
			}
		}
	}
	for _, k := range keys {
		if v, ok := ctx.GetConfig(Namespace + ":" + k); ok {
			raw[Namespace+":"+k] = v
		}
	}
	c, err := LoadConfig(ctx.Stack(), raw)
	if err != nil {
		return nil, err
	}
	if !ctx.IsConfigSecret(Namespace + ":oidcClientSecret") {
		return nil, fmt.Errorf("Pulumi.%s.yaml: %s:oidcClientSecret must be a secret (pulumi config set --secret oidcClientSecret …)", ctx.Stack(), Namespace)
	}
	return c, nil
}

// Program is the portal's Pulumi program.
func Program(o Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg, err := ReadConfig(ctx)
		if err != nil {
			return err
		}
		names := NamesFor(cfg.Stack)
		if p := names.Problems(); len(p) > 0 {
			return fmt.Errorf("Pulumi.%s.yaml: %s", cfg.Stack, strings.Join(p, "; "))
		}
		repo := o.RepoDir
		if repo == "" {
			repo = filepath.Join(ctx.RootDirectory(), "..", "..")
		}
		files := o.ImageFiles
		if files == nil {
			files = DefaultImageFiles
		}
		imageFiles, err := files(ctx.Context(), cfg, repo)
		if err != nil {
			return fmt.Errorf("the portal image's files: %w", err)
		}
		publisher := o.Publisher
		if publisher == nil {
			publisher = RegistryPublisher{}
		}
		caller, err := aws.GetCallerIdentity(ctx, nil)
		if err != nil {
			return fmt.Errorf("look up the account: %w", err)
		}
		region, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return fmt.Errorf("look up the region: %w", err)
		}
		partition := "aws"
		if parts := strings.SplitN(caller.Arn, ":", 3); len(parts) == 3 {
			partition = parts[1]
		}
		tags := map[string]string{"hookline:portal": cfg.Stack}
		bucket := names.StateBucket(caller.AccountId)

		store, err := NewStateStore(ctx, "state", &StateStoreArgs{
			Bucket: bucket, BucketArn: fmt.Sprintf("arn:%s:s3:::%s", partition, bucket),
			KeyAlias: names.KeyAlias(), JobsTable: names.JobsTable(), Tags: tags,
		})
		if err != nil {
			return err
		}
		image, err := NewImage(ctx, "image", &ImageArgs{
			RepositoryName: names.Repository(), Publisher: publisher, Tags: tags,
			Spec: ImageSpec{Base: cfg.BaseImage, Architecture: cfg.Architecture, Files: imageFiles,
				Entrypoint: []string{"/usr/local/bin/hookline"}, WorkingDir: SourceDir,
				Env: []string{"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_HOME=/var/lib/hookline/.pulumi"}},
		})
		if err != nil {
			return err
		}
		front, err := NewFrontDoor(ctx, "front", &FrontDoorArgs{
			LoadBalancerName: names.LoadBalancer(), TargetGroupName: names.TargetGroup(),
			Domain: cfg.Domain, HostedZoneID: cfg.HostedZoneID, VpcID: cfg.VpcID,
			PublicSubnetIDs: cfg.PublicSubnetIDs, SecurityGroupIDs: cfg.ALBSecurityGroupIDs,
			ContainerPort: DefaultContainerPort, HealthPath: cfg.HealthPath, Tags: tags,
			OIDC: OIDC{Issuer: cfg.OIDCIssuer, AuthorizationEndpoint: cfg.OIDCAuthorizationEndpoint,
				TokenEndpoint: cfg.OIDCTokenEndpoint, UserInfoEndpoint: cfg.OIDCUserInfoEndpoint, ClientID: cfg.OIDCClientID,
				ClientSecret: pulumi.ToSecret(pulumi.String(cfg.OIDCClientSecret)).(pulumi.StringOutput)},
		})
		if err != nil {
			return err
		}
		policy := pulumi.All(store.KeyArn, store.JobsTableArn).ApplyT(func(v []any) string {
			return TaskPolicy(Scope{Partition: partition, Region: region.Name, Account: caller.AccountId,
				StateBucketArn: fmt.Sprintf("arn:%s:s3:::%s", partition, bucket), KeyArn: v[0].(string), JobsTableArn: v[1].(string),
				HostedZoneIDs: cfg.WebhookHostedZoneIDs}).JSON()
		}).(pulumi.StringOutput)
		command := pulumi.All(store.BackendURL, store.SecretsProvider, store.JobsTable, front.LoadBalancerArn).ApplyT(func(v []any) []string {
			return Command(v[0].(string), v[1].(string), v[2].(string), v[3].(string), DefaultContainerPort)
		}).(pulumi.StringArrayOutput)
		svc, err := NewService(ctx, "portal", &ServiceArgs{
			Names: names, Partition: partition, Account: caller.AccountId, Region: region.Name,
			ImageURI: image.URI, RepositoryArn: image.Repository.Arn, TaskPolicy: policy,
			TargetGroupArn: front.TargetGroupArn, Command: command,
			PrivateSubnetIDs: cfg.PrivateSubnetIDs, SecurityGroupIDs: cfg.ServiceSecurityGroupIDs,
			DesiredCount: cfg.DesiredCount, CPU: cfg.CPU, Memory: cfg.Memory, Architecture: cfg.Architecture,
			ContainerPort: DefaultContainerPort, LogRetentionDays: cfg.LogRetentionDays, Tags: tags,
		}, pulumi.DependsOn([]pulumi.Resource{front}))
		if err != nil {
			return err
		}
		outputs := pulumi.Map{
			"url": front.URL, "image": image.URI, "backendUrl": store.BackendURL, "secretsProvider": store.SecretsProvider,
			"jobsTable": store.JobsTable, "cluster": svc.ClusterName, "service": svc.ServiceName, "logGroup": svc.LogGroup,
			"loadBalancerArn": front.LoadBalancerArn,
		}
		for k, v := range outputs {
			ctx.Export(k, v)
		}
		if o.OnOutputs != nil {
			return o.OnOutputs(ctx, outputs)
		}
		return nil
	}
}

// DefaultImageFiles builds the hookline command and its policy pack for the
// stack's architecture (handler/build, as infra builds the handler) and
// adds the Pulumi CLI (pulumiCli, default <repo>/bin/pulumi, which must be
// built for the same architecture), the project's tracked sources under
// SourceDir and the team mapping (oidcTeams).
func DefaultImageFiles(ctx context.Context, cfg *Config, repoDir string) ([]ImageFile, error) {
	target := build.Target{GOOS: "linux", GOARCH: cfg.Architecture}
	dir := filepath.Join(repoDir, build.Dir, "portal-image", target.String())
	var files []ImageFile
	for _, b := range []struct{ pkg, name string }{{"./cmd/hookline", "hookline"}, {"./policy", "hookline-policy"}} {
		out, err := build.Binary(ctx, repoDir, build.Spec{Package: b.pkg, Target: target,
			Flags: []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}}, filepath.Join(dir, b.name))
		if err != nil {
			return nil, err
		}
		files = append(files, ImageFile{Path: "/usr/local/bin/" + b.name, Source: out, Mode: 0o755})
	}
	cli := cfg.PulumiCLI
	if cli == "" {
		cli = filepath.Join(repoDir, "bin", "pulumi")
	}
	files = append(files, ImageFile{Path: "/usr/local/bin/pulumi", Source: cli, Mode: 0o755})
	// The portal builds the webhook handler when it deploys a stack
	// (infra/handler.go runs go build in the project), so the image holds
	// the project's tracked sources; the base image brings the Go toolchain.
	src, err := SourceFiles(ctx, repoDir, SourceDir)
	if err != nil {
		return nil, err
	}
	files = append(files, src...)
	teams := cfg.OIDCTeams
	if len(teams) == 0 {
		teams = []byte(`{"groupsClaim":"groups","teams":{},"admins":[]}`)
	}
	return append(files, ImageFile{Path: OIDCConfigPath, Data: teams, Mode: 0o644}), nil
}

// SourceDir is where the image holds the hookline project (--dir).
const SourceDir = "/opt/hookline/src"

// SourceFiles lists the files git tracks in repoDir (no build output, no
// bin/), placed under dir.
func SourceFiles(ctx context.Context, repoDir, dir string) ([]ImageFile, error) {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z")
	cmd.Dir = repoDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list the project's sources (git ls-files in %s): %w: %s", repoDir, err, strings.TrimSpace(stderr.String()))
	}
	var files []ImageFile
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		abs := filepath.Join(repoDir, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		mode := int64(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, ImageFile{Path: path.Join(dir, rel), Source: abs, Mode: mode})
	}
	return files, nil
}
