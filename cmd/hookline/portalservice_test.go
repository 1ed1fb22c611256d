package main

import (
	"testing"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
)

// TestPortalServiceCommandParses: the command line deploy/portal gives its
// tasks is one `hookline portal` accepts (a wrong flag would stop every
// task at start).
func TestPortalServiceCommandParses(t *testing.T) {
	args := portalinfra.Command("s3://hlportal-x-state-123456789012", "awskms://alias/hlportal-x", "hlportal-x-jobs",
		"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/hlportal-x/0123456789abcdef", portalinfra.DefaultContainerPort)
	if args[0] != "portal" {
		t.Fatalf("command %v does not start with portal", args)
	}
	cmd := newPortalCmd()
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("hookline %v: %v", args, err)
	}
	if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
		t.Fatalf("hookline %v: %v", args, err)
	}
	for flag, want := range map[string]string{"jobs-table": "hlportal-x-jobs", "secrets-provider": "awskms://alias/hlportal-x",
		"oidc-config": portalinfra.OIDCConfigPath, "dir": portalinfra.SourceDir, "addr": ":8080"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
}
