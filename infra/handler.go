package infra

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/handler/build"
)

// HandlerArchive builds the handler under projectDir for Lambda and returns
// it as a Lambda code archive. An AssetArchive of a file is hashed by
// content, so an unchanged handler never shows a diff.
func HandlerArchive(projectDir string) (pulumi.Archive, error) {
	path, err := build.Bootstrap(context.Background(), projectDir, build.Lambda)
	if err != nil {
		return nil, err
	}
	return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewFileAsset(path)}), nil
}

// AuthorizerArchive builds the edge authorizer for Lambda, as HandlerArchive
// does the handler.
func AuthorizerArchive(projectDir string) (pulumi.Archive, error) {
	path, err := build.AuthorizerBootstrap(context.Background(), projectDir, build.Lambda)
	if err != nil {
		return nil, err
	}
	return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewFileAsset(path)}), nil
}
