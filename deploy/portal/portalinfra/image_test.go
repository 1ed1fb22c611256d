package portalinfra_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
	"github.com/hookline/hookline/internal/testing/registrytest"
)

func TestPublishToInProcessRegistry(t *testing.T) {
	host, base := registrytest.Start(t)
	spec := portalinfra.ImageSpec{
		Base: base, Architecture: "amd64", Entrypoint: []string{"/usr/local/bin/hookline"}, WorkingDir: "/var/lib/hookline",
		Env: []string{"PULUMI_SKIP_UPDATE_CHECK=true"},
		Files: []portalinfra.ImageFile{
			{Path: "/usr/local/bin/hookline", Data: []byte("hookline binary"), Mode: 0o755},
			{Path: "/usr/local/bin/pulumi", Data: []byte("pulumi binary"), Mode: 0o755},
			{Path: portalinfra.OIDCConfigPath, Data: []byte(`{"groupsClaim":"groups"}`)},
		},
	}
	// The repository as ECR names it; the publisher pushes to host instead.
	p := portalinfra.RegistryPublisher{Registry: host}
	// What a preview shows: the digest, with nothing pushed.
	preview, err := p.Reference(context.Background(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hlportal-example", spec)
	if err != nil {
		t.Fatal(err)
	}
	if tags, err := remote.List(mustRepository(t, host+"/hlportal-example")); err == nil && len(tags) > 0 {
		t.Fatalf("Reference pushed %v", tags)
	}
	got, err := p.Publish(context.Background(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hlportal-example", portalinfra.Credentials{}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, host+"/hlportal-example@sha256:") {
		t.Fatalf("reference %q", got)
	}
	if preview != got {
		t.Errorf("preview showed %q, up pushed %q", preview, got)
	}
	ref, err := name.ParseReference(got)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull what was pushed: %v", err)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want the base's and the portal's", len(layers))
	}
	cf, _ := img.ConfigFile()
	if strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/hookline" || cf.Config.WorkingDir != "/var/lib/hookline" || cf.Architecture != "amd64" {
		t.Errorf("config: %+v", cf.Config)
	}
	if !strings.Contains(strings.Join(cf.Config.Env, " "), "PATH=/usr/local/bin") {
		t.Errorf("the base's environment was lost: %v", cf.Config.Env)
	}
	rc, err := layers[1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
			if h.Name == "usr/local/bin/hookline" && h.Mode != 0o755 {
				t.Errorf("hookline mode %o", h.Mode)
			}
		}
	}
	if files["usr/local/bin/hookline"] != "hookline binary" || files["usr/local/bin/pulumi"] != "pulumi binary" || files["etc/hookline/oidc.json"] == "" {
		t.Errorf("layer files: %v", files)
	}

	// Reproducible: the same files give the same digest, and publishing
	// again finds the tag in place (an immutable repository refuses a
	// second push of a tag).
	again, err := p.Publish(context.Background(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hlportal-example", portalinfra.Credentials{}, spec)
	if err != nil || again != got {
		t.Errorf("second publish: %q, %v; want %q", again, err, got)
	}
	spec.Files[0].Data = []byte("hookline binary v2")
	changed, err := p.Publish(context.Background(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hlportal-example", portalinfra.Credentials{}, spec)
	if err != nil || changed == got {
		t.Errorf("a changed binary: %q, %v; want a new digest", changed, err)
	}
}

func TestPublishWithoutBase(t *testing.T) {
	host, _ := registrytest.Start(t)
	_, err := portalinfra.RegistryPublisher{Registry: host}.Publish(context.Background(), "x.example/portal",
		portalinfra.Credentials{}, portalinfra.ImageSpec{Base: host + "/library/missing:1", Architecture: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "pull base image") {
		t.Fatalf("err = %v", err)
	}
}

func mustRepository(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
