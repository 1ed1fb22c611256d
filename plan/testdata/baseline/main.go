// Command baseline is the yardstick of the compile benchmark: a Pulumi Go
// program that uses the SDK but no provider package.
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		ctx.Export("hello", pulumi.String("world"))
		return nil
	})
}
