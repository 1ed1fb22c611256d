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

// TestLeanHandlerLinksNoDynamoDB: the handler of sources without
// idempotency links no DynamoDB package; the full handler does (the tag
// selects it, nothing else does).
func TestLeanHandlerLinksNoDynamoDB(t *testing.T) {
	const ddb = "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	lean := deps(t, build.HandlerWith(build.Lambda, build.Features{}))
	for d := range lean {
		if d == ddb || strings.HasPrefix(d, ddb+"/") {
			t.Errorf("the lean handler links %s", d)
		}
	}
	if !lean["github.com/hookline/hookline/handler/dedup"] {
		t.Error("the lean handler does not link handler/dedup: the test looks wrong")
	}
	if full := deps(t, build.Handler(build.Lambda)); !full[ddb] {
		t.Errorf("the full handler does not link %s", ddb)
	}
	for _, f := range []build.Features{build.Full, {}} {
		for _, g := range []build.Features{build.Full, {}} {
			if (f == g) != (build.HandlerDirWith(build.Lambda, f) == build.HandlerDirWith(build.Lambda, g)) {
				t.Errorf("%v and %v share a build directory", f, g)
			}
		}
	}
}
