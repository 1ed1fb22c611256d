package infra_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// stackOutputs runs the program for a stack under the mocks and returns
// its outputs unwrapped to plain values, secrets revealed, as
// `pulumi stack output --json --show-secrets` prints them.
func stackOutputs(t *testing.T, raw map[string]string, secret []string, stack string) (*stackconfig.Config, map[string]any) {
	t.Helper()
	c, err := stackconfig.Load(stack, raw, true, secret)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]any{}
	program := infra.Program(infra.ProgramOptions{
		Handler: harness.StubHandler, APIGatewayAccount: awsmodel.APIGatewayAccount,
		OnOutputs: func(ctx *pulumi.Context, outs pulumi.Map) error {
			for k, v := range outs {
				r, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(v))
				if err != nil {
					return err
				}
				if !r.Known {
					t.Errorf("output %s is unknown under the mocks", k)
				}
				b, err := json.Marshal(r.Value)
				if err != nil {
					return err
				}
				var plain any
				if err := json.Unmarshal(b, &plain); err != nil {
					return err
				}
				outputs[k] = plain
			}
			return nil
		},
	})
	err = pulumi.RunErr(program, pulumi.WithMocks(stackconfig.Namespace, stack, awsmodel.NewMocks(stackconfig.Namespace, stack, c.Region)),
		func(info *pulumi.RunInfo) { info.Config, info.ConfigSecretKeys = raw, secret })
	if err != nil {
		t.Fatalf("run %s: %v", stack, err)
	}
	return c, outputs
}

// TestOutputsAreTheTypedStackOutputs: what the program exports for each
// stack and ingress decodes as stackoutputs.Stack (which refuses a key it
// does not know), each source's outputs under its own name, every field
// that should be set set, and the REST-only ones (restApiId, apiKeys) on a
// REST API only.
func TestOutputsAreTheTypedStackOutputs(t *testing.T) {
	for _, tc := range []struct {
		name, stack, ingress string
	}{
		{"dev", "dev", ""},
		{"prod", "prod", ""},
		{"dev on rest", "dev", contract.IngressREST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, secret, err := stackconfig.ReadStackFile("..", tc.stack)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ingress != "" {
				raw["hookline:ingress"] = tc.ingress
			}
			c, outs := stackOutputs(t, raw, secret, tc.stack)
			st, err := stackoutputs.Decode(outs)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range map[string]string{
				stackoutputs.KeyEnvironment: st.Environment, stackoutputs.KeyRegion: st.Region, stackoutputs.KeyIngress: st.Ingress,
				stackoutputs.KeyEndpoint: st.Endpoint, stackoutputs.KeyAPIID: st.APIID, stackoutputs.KeyInvokeURL: st.InvokeURL,
				stackoutputs.KeyStage: st.Stage, stackoutputs.KeyAlarmTopicArn: st.AlarmTopicArn, stackoutputs.KeyDashboardName: st.DashboardName,
			} {
				if v == "" {
					t.Errorf("output %s is not set", name)
				}
			}
			if st.Environment != c.Environment || st.Region != c.Region || st.Ingress != c.Ingress || st.Stage != infra.StageName {
				t.Errorf("environment %q, region %q, ingress %q, stage %q", st.Environment, st.Region, st.Ingress, st.Stage)
			}
			var apiKeySources []string
			for _, s := range c.Sources {
				if s.Auth.Type == stackconfig.AuthAPIKey {
					apiKeySources = append(apiKeySources, s.Name)
				}
			}
			if c.Ingress == contract.IngressREST {
				if st.RestAPIID == "" || st.RestAPIID != st.APIID {
					t.Errorf("restApiId %q, apiId %q", st.RestAPIID, st.APIID)
				}
				var keys []string
				for k, v := range st.APIKeys {
					keys = append(keys, k)
					if v == "" {
						t.Errorf("api key of %s is empty", k)
					}
				}
				slices.Sort(keys)
				slices.Sort(apiKeySources)
				if !slices.Equal(keys, apiKeySources) {
					t.Errorf("api keys of %v, want the apiKey sources %v", keys, apiKeySources)
				}
			} else if st.RestAPIID != "" || st.APIKeys != nil {
				t.Errorf("an HTTP API stack outputs restApiId %q, apiKeys %v", st.RestAPIID, st.APIKeys)
			}
			// The archive (on by default): its bucket, table and workgroup.
			if st.ArchiveBucket != c.ArchiveBucket(awsmodel.DefaultAccount) || st.ArchiveTable != c.ArchiveDatabase()+"."+stackconfig.ArchiveTable ||
				st.ArchiveWorkgroup != c.ArchiveWorkgroup() {
				t.Errorf("archive outputs: bucket %q, table %q, workgroup %q", st.ArchiveBucket, st.ArchiveTable, st.ArchiveWorkgroup)
			}
			if len(st.Sources) != len(c.Sources) {
				t.Errorf("outputs of %v, want %d sources", st.SourceNames(), len(c.Sources))
			}
			for _, s := range c.Sources {
				src, err := st.Source(s.Name)
				if err != nil {
					t.Error(err)
					continue
				}
				for name, v := range map[string]string{
					stackoutputs.KeyURL: src.URL, stackoutputs.KeyQueueURL: src.QueueURL, stackoutputs.KeyQueueArn: src.QueueArn,
					stackoutputs.KeyDLQURL: src.DLQURL, stackoutputs.KeyDLQArn: src.DLQArn, stackoutputs.KeyFunctionName: src.FunctionName,
					stackoutputs.KeyAuth: src.Auth,
				} {
					if v == "" {
						t.Errorf("%s: output %s is not set", s.Name, name)
					}
				}
				if src.ArchiveStream != c.ArchiveStream(s) {
					t.Errorf("%s: archiveStream %q, want %q", s.Name, src.ArchiveStream, c.ArchiveStream(s))
				}
				if src.URL != st.Endpoint+"/"+s.Name || src.Auth != s.Auth.Type || src.FunctionName != c.FunctionName(s) ||
					!strings.HasSuffix(src.QueueURL, "/"+c.QueueName(s)) || !strings.HasSuffix(src.QueueArn, ":"+c.QueueName(s)) ||
					!strings.HasSuffix(src.DLQURL, "/"+c.DLQName(s)) || !strings.HasSuffix(src.DLQArn, ":"+c.DLQName(s)) {
					t.Errorf("%s: outputs %+v are another source's", s.Name, src)
				}
			}
		})
	}
}
