// Command hookline is the Pulumi program of a hookline stack: it loads the
// stack's configuration (Pulumi.<stack>.yaml), builds the handler, creates the
// webhook components and exports their outputs. All of it lives in package
// infra so that the offline plan and the tests run the very same program.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/infra"
)

func main() {
	pulumi.Run(infra.Program(infra.ProgramOptions{}))
}
