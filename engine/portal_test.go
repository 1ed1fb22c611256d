package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/internal/testing/registrytest"
	"github.com/hookline/hookline/stackconfig"
)

// TestPortalServiceLifecycle deploys deploy/portal's program (the example
// stack, its base image in the in-process registry) with the real engine,
// the policy pack and the test-double provider: the preview passes the
// pack with a stub image URI and pushes nothing, `up` builds and pushes the
// image and creates every resource, a second preview changes nothing, and
// destroy removes it all.
func TestPortalServiceLifecycle(t *testing.T) {
	requireEngine(t)
	const stack = "example"
	raw, _, err := stackconfig.ReadStackFile(filepath.Join(projectDir, "deploy", "portal"), stack)
	if err != nil {
		t.Fatal(err)
	}
	host, base := registrytest.Start(t)
	raw[portalinfra.Namespace+":baseImage"] = base
	files := func(context.Context, *portalinfra.Config, string) ([]portalinfra.ImageFile, error) {
		return []portalinfra.ImageFile{{Path: "/usr/local/bin/hookline", Data: []byte("stub hookline"), Mode: 0o755}}, nil
	}
	state := t.TempDir()
	logPath := filepath.Join(state, "provider.log")
	e := &env{log: logPath, opts: engine.Options{
		ProjectDir: projectDir, Project: portalinfra.Namespace, Stack: stack, Config: raw, StateDir: state,
		Passphrase: "test-only", PolicyPack: packBin,
		Program: portalinfra.Program(portalinfra.Options{Publisher: portalinfra.RegistryPublisher{Registry: host}, ImageFiles: files}),
		Env: map[string]string{
			"PATH":                    pluginDir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOOKLINE_FAKE_AWS_LOG":   logPath,
			"HOOKLINE_FAKE_AWS_STATE": filepath.Join(state, "account.json"),
		},
	}}
	s := e.open(t)
	if err := s.SetSecret(ctx(t), portalinfra.Namespace+":oidcClientSecret", "s3cret-from-the-idp"); err != nil {
		t.Fatal(err)
	}

	pre, err := s.Preview(ctx(t))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if m := mandatory(pre.Violations); len(m) > 0 {
		t.Fatalf("preview: mandatory violations:\n%s", findings(m))
	}
	if pre.Changes["create"] == 0 {
		t.Fatalf("preview creates nothing: %v", pre.Changes)
	}
	if tags, _ := remote.List(mustRepo(t, host+"/hlportal-example")); len(tags) != 0 {
		t.Errorf("preview pushed %v", tags)
	}

	up, err := s.Up(ctx(t))
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if m := mandatory(up.Violations); len(m) > 0 {
		t.Errorf("up: mandatory violations:\n%s", findings(m))
	}
	img, _ := up.Outputs["image"].Value.(string)
	if !strings.HasPrefix(img, host+"/hlportal-example@sha256:") {
		t.Fatalf("image output %q: want the pushed digest", img)
	}
	ref, err := name.ParseReference(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref); err != nil {
		t.Errorf("the image the task runs is not in the registry: %v", err)
	}
	created := map[string]int{}
	for _, c := range e.calls(t) {
		if c.Method == "Create" && !c.Preview {
			created[c.Type]++
		}
		if c.Method == "Refuse" {
			t.Errorf("refused: %s", c.URN)
		}
	}
	for _, typ := range []string{"aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:lb/loadBalancer:LoadBalancer",
		"aws:lb/targetGroup:TargetGroup", "aws:ecr/repository:Repository", "aws:dynamodb/table:Table", "aws:kms/key:Key", "aws:s3/bucketV2:BucketV2"} {
		if created[typ] != 1 {
			t.Errorf("%s created %d times", typ, created[typ])
		}
	}
	if created["aws:lb/listener:Listener"] != 2 {
		t.Errorf("%d listeners, want HTTPS and the HTTP redirect", created["aws:lb/listener:Listener"])
	}

	again, err := s.Preview(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for op, n := range again.Changes {
		if op != "same" && n > 0 {
			t.Errorf("second preview: %d %s (the image's digest is reproducible, nothing should change)", n, op)
		}
	}
	if _, err := s.Destroy(ctx(t)); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
