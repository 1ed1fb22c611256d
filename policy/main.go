// Command policy is hookline's Pulumi policy pack. The Pulumi CLI runs it
// from this directory (PulumiPolicy.yaml, runtime go) or as a prebuilt
// binary (make policy): pulumi preview --policy-pack bin/hookline-policy.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/hookline/hookline/policy/pack"
)

func main() {
	if err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return pack.New() }); err != nil {
		fmt.Fprintf(os.Stderr, "hookline policy pack: %v\n", err)
		os.Exit(1)
	}
}
