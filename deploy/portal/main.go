// Command portal is the Pulumi program that runs the hookline portal as a
// company service (docs/portal-service.md). The program lives in package
// portalinfra so that the tests run the very same program.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
)

func main() {
	pulumi.Run(portalinfra.Program(portalinfra.Options{}))
}
