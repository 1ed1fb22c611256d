package portalinfra_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
)

func TestFargateMemoryValid(t *testing.T) {
	for _, tc := range []struct {
		cpu, mem int
		ok       bool
	}{
		{256, 512, true}, {256, 3072, false}, {512, 1024, true}, {512, 4096, true}, {512, 5120, false},
		{1024, 1024, false}, {2048, 16384, true}, {4096, 30720, true}, {8192, 20480, true}, {8192, 18432, false},
		{16384, 122880, true}, {300, 1024, false},
	} {
		if got := portalinfra.FargateMemoryValid(tc.cpu, tc.mem); got != tc.ok {
			t.Errorf("cpu %d memory %d: %v, want %v", tc.cpu, tc.mem, got, tc.ok)
		}
	}
}

func TestNames(t *testing.T) {
	n := portalinfra.NamesFor("prod")
	for _, name := range []string{n.LoadBalancer(), n.TargetGroup(), n.Repository(), n.TaskRole(), n.JobsTable(), n.StateBucket("123456789012")} {
		// The task role may change hookline-* resources; the portal's own
		// must not match.
		if strings.HasPrefix(name, portalinfra.DeployPrefix) {
			t.Errorf("%s starts with %s", name, portalinfra.DeployPrefix)
		}
	}
	if p := portalinfra.NamesFor(strings.Repeat("a", 20)).Problems(); len(p) != 0 {
		t.Errorf("a 20-character stack: %v", p)
	}
	if p := portalinfra.NamesFor(strings.Repeat("a", 21)).Problems(); len(p) == 0 {
		t.Error("a 21-character stack's target group name fits 32 characters?")
	}
}

func TestTaskPolicyWithoutZones(t *testing.T) {
	doc := portalinfra.TaskPolicy(portalinfra.Scope{Partition: "aws", Region: "eu-west-1", Account: "123456789012",
		StateBucketArn: "arn:aws:s3:::hlportal-example-state-123456789012", KeyArn: "arn:aws:kms:eu-west-1:123456789012:key/hlportal-example",
		JobsTableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/hlportal-example-jobs"})
	for _, st := range doc.Statement {
		if strings.HasPrefix(st.Sid, "WebhookDomainRecords") {
			t.Error("no zones configured, yet a Route 53 statement")
		}
	}
	checkScoped(t, doc)
}

func TestSourceFiles(t *testing.T) {
	files, err := portalinfra.SourceFiles(context.Background(), filepath.Join("..", "..", ".."), portalinfra.SourceDir)
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
		if strings.Contains(f.Path, "/bin/pulumi") || strings.Contains(f.Path, "/.build/") {
			t.Errorf("%s is a build artifact", f.Path)
		}
	}
	for _, want := range []string{"/go.mod", "/Pulumi.yaml", "/handler/build/build.go"} {
		if !have[portalinfra.SourceDir+want] {
			t.Errorf("no %s in the image's sources", want)
		}
	}
}
