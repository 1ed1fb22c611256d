package build_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hookline/hookline/handler/build"
)

// coldStartBanned are packages a function never uses whose package inits
// (service schemas, endpoint tables) every cold start would pay: the SDK's
// config loader and the clients it links for credentials a function does not
// have (shared files, SSO, STS, sign-in, IMDS).
var coldStartBanned = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/signin",
}

// deps lists the packages spec's binary links, with spec's flags (build tags).
func deps(t *testing.T, spec build.Spec) map[string]bool {
	t.Helper()
	args := []string{"list", "-deps"}
	for i, f := range spec.Flags {
		if f == "-tags" && i+1 < len(spec.Flags) {
			args = append(args, "-tags", spec.Flags[i+1])
		}
	}
	cmd := exec.Command("go", append(args, spec.Package)...)
	cmd.Dir = project(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+spec.Target.GOOS, "GOARCH="+spec.Target.GOARCH)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	got := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		got[p] = true
	}
	return got
}

// TestFunctionsLinkNoConfigLoader: neither the consumer nor the edge
// authorizer links the SDK's config package or the clients it brings (a
// package that needs them belongs to the operators' side).
func TestFunctionsLinkNoConfigLoader(t *testing.T) {
	for _, spec := range []build.Spec{build.Handler(build.Lambda), build.Authorizer(build.Lambda)} {
		got := deps(t, spec)
		if !got["github.com/aws/aws-lambda-go/lambda"] {
			t.Fatalf("%s: go list -deps looks wrong (no aws-lambda-go): %d packages", spec.Package, len(got))
		}
		for _, p := range coldStartBanned {
			for d := range got {
				if d == p || strings.HasPrefix(d, p+"/") {
					t.Errorf("%s links %s", spec.Package, d)
				}
			}
		}
	}
}
