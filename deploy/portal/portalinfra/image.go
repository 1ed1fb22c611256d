package portalinfra

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageFile is one file the image step adds on top of the base image.
type ImageFile struct {
	// Path is the absolute path in the image.
	Path string
	// Source is a local file to copy, or Data the content.
	Source string
	Data   []byte
	Mode   int64
}

// ImageSpec is what the portal's image is made of: a base image (pulled,
// never built: there is no Docker daemon) and one layer of files on top,
// with the entrypoint and working directory set.
type ImageSpec struct {
	Base         string
	Architecture string // amd64 or arm64
	Files        []ImageFile
	Entrypoint   []string
	WorkingDir   string
	Env          []string
}

// Credentials are a registry's user name and password (ECR's come from
// ecr:GetAuthorizationToken); empty: anonymous.
type Credentials struct{ Username, Password string }

// Publisher builds an image from a spec and pushes it to a repository.
type Publisher interface {
	// Publish pushes spec's image to repository (host/path, no tag) and
	// returns the pushed image's reference by digest (repository@sha256:…).
	Publish(ctx context.Context, repository string, creds Credentials, spec ImageSpec) (string, error)
	// Reference returns the reference Publish would return, pushing
	// nothing (a preview shows it, so an unchanged image shows no diff).
	Reference(ctx context.Context, repository string, spec ImageSpec) (string, error)
}

// RegistryPublisher is the Publisher of go-containerregistry: it pulls the
// base with the local keychain (docker config, credential helpers), appends
// one reproducible layer (fixed timestamps, sorted entries, so equal files
// give an equal digest and `pulumi up` finds nothing to change) and pushes
// it under a tag derived from its digest, which an IMMUTABLE repository
// accepts once. Registry, when set, replaces the repository's host (tests
// push to go-containerregistry's in-process registry this way).
type RegistryPublisher struct {
	Registry string
}

// build builds spec's image and names the repository it goes to.
func (p RegistryPublisher) build(ctx context.Context, repository string, spec ImageSpec) (v1.Image, v1.Hash, name.Repository, error) {
	if p.Registry != "" {
		_, rest, ok := strings.Cut(repository, "/")
		if !ok {
			return nil, v1.Hash{}, name.Repository{}, fmt.Errorf("repository %q has no path", repository)
		}
		repository = p.Registry + "/" + rest
	}
	repo, err := name.NewRepository(repository)
	if err != nil {
		return nil, v1.Hash{}, name.Repository{}, fmt.Errorf("repository %q: %w", repository, err)
	}
	img, err := BuildImage(ctx, spec)
	if err != nil {
		return nil, v1.Hash{}, name.Repository{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, v1.Hash{}, name.Repository{}, fmt.Errorf("digest of the portal image: %w", err)
	}
	return img, digest, repo, nil
}

// Reference implements Publisher: it pulls the base and builds the image
// in memory, and pushes nothing.
func (p RegistryPublisher) Reference(ctx context.Context, repository string, spec ImageSpec) (string, error) {
	_, digest, repo, err := p.build(ctx, repository, spec)
	if err != nil {
		return "", err
	}
	return repo.Digest(digest.String()).String(), nil
}

// Publish implements Publisher.
func (p RegistryPublisher) Publish(ctx context.Context, repository string, creds Credentials, spec ImageSpec) (string, error) {
	img, digest, repo, err := p.build(ctx, repository, spec)
	if err != nil {
		return "", err
	}
	auth := authn.Anonymous
	if creds.Username != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	tag := repo.Tag("h-" + digest.Hex[:20])
	// An immutable tag that already names this digest is done; pushing it
	// again would be refused (ImageTagAlreadyExistsException).
	if d, err := remote.Head(tag, opts...); err == nil && d.Digest == digest {
		return repo.Digest(digest.String()).String(), nil
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return "", fmt.Errorf("push the portal image to %s: %w", tag, err)
	}
	return repo.Digest(digest.String()).String(), nil
}

// BuildImage pulls spec's base for its architecture and appends the layer.
func BuildImage(ctx context.Context, spec ImageSpec) (v1.Image, error) {
	ref, err := name.ParseReference(spec.Base)
	if err != nil {
		return nil, fmt.Errorf("base image %q: %w", spec.Base, err)
	}
	base, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: spec.Architecture}))
	if err != nil {
		return nil, fmt.Errorf("pull base image %s: %w", spec.Base, err)
	}
	layerTar, err := LayerTar(spec.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		return nil, fmt.Errorf("portal layer: %w", err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, fmt.Errorf("append the portal layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("base image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint, cf.Config.Cmd = spec.Entrypoint, nil
	if spec.WorkingDir != "" {
		cf.Config.WorkingDir = spec.WorkingDir
	}
	cf.Config.Env = append(cf.Config.Env, spec.Env...)
	cf.Architecture, cf.OS = spec.Architecture, "linux"
	return mutate.ConfigFile(img, cf)
}

// epoch is every entry's modification time: the layer depends on the
// files' contents only.
var epoch = time.Unix(0, 0).UTC()

// LayerTar writes files as a tar with their parent directories, sorted,
// with fixed times and owners.
func LayerTar(files []ImageFile) ([]byte, error) {
	sorted := append([]ImageFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range sorted {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("image file %q: the path must be absolute", f.Path)
		}
		var parents []string
		for d := path.Dir(f.Path); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
			dirs[d] = true
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		data := f.Data
		if f.Source != "" {
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return nil, fmt.Errorf("image file %s: %w", f.Path, err)
			}
			data = b
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
