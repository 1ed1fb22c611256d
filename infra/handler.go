package infra

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/stackconfig"
)

// HandlerArchives builds the handler for Lambda once per feature set cfg's
// sources need (build.Features) and returns the full archive, for sources
// with idempotency, and the lean one, built without the DynamoDB client,
// for the others. When no source has idempotency, full is the lean archive
// too; when every source has it, lean is nil.
func HandlerArchives(projectDir string, cfg *stackconfig.Config) (full, lean pulumi.Archive, err error) {
	needFull, needLean := false, false
	for _, s := range cfg.Sources {
		if s.Idempotency.Enabled {
			needFull = true
		} else {
			needLean = true
		}
	}
	archive := func(f build.Features) (pulumi.Archive, error) {
		path, err := build.BootstrapWith(context.Background(), projectDir, build.Lambda, f)
		if err != nil {
			return nil, err
		}
		return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewFileAsset(path)}), nil
	}
	if needLean {
		if lean, err = archive(build.Features{}); err != nil {
			return nil, nil, err
		}
	}
	if !needFull {
		return lean, lean, nil
	}
	if full, err = archive(build.Full); err != nil {
		return nil, nil, err
	}
	return full, lean, nil
}

// AuthorizerArchive builds the edge authorizer for Lambda, as
// HandlerArchives does the handler.
func AuthorizerArchive(projectDir string) (pulumi.Archive, error) {
	path, err := build.AuthorizerBootstrap(context.Background(), projectDir, build.Lambda)
	if err != nil {
		return nil, err
	}
	return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewFileAsset(path)}), nil
}
