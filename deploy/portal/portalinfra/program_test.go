package portalinfra_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/deploy/portal/portalinfra"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/portal/jobs"
	"github.com/hookline/hookline/stackconfig"
)

// exampleConfig is deploy/portal/Pulumi.example.yaml's config plus the
// client secret, which the file cannot hold in plain text.
func exampleConfig(t *testing.T) map[string]string {
	t.Helper()
	raw, _, err := stackconfig.ReadStackFile(filepath.Join("..", ""), "example")
	if err != nil {
		t.Fatal(err)
	}
	raw[portalinfra.Namespace+":oidcClientSecret"] = "s3cret-from-the-idp"
	return raw
}

// stubPublisher records what it was asked to publish.
type stubPublisher struct {
	mu    sync.Mutex
	calls []string
	spec  portalinfra.ImageSpec
}

func (p *stubPublisher) Publish(_ context.Context, repo string, creds portalinfra.Credentials, spec portalinfra.ImageSpec) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, repo+" as "+creds.Username)
	p.spec = spec
	return repo + "@sha256:" + strings.Repeat("ab", 32), nil
}

func (p *stubPublisher) Reference(_ context.Context, repo string, _ portalinfra.ImageSpec) (string, error) {
	return repo + "@sha256:" + strings.Repeat("ab", 32), nil
}

func stubFiles(context.Context, *portalinfra.Config, string) ([]portalinfra.ImageFile, error) {
	return []portalinfra.ImageFile{{Path: "/usr/local/bin/hookline", Data: []byte("#!stub"), Mode: 0o755}}, nil
}

type run struct {
	regs    []awsmodel.Registered
	outputs map[string]any
	pub     *stubPublisher
}

func runMocked(t *testing.T, raw map[string]string, dryRun bool) (*run, error) {
	t.Helper()
	mocks := awsmodel.NewMocks(portalinfra.Namespace, "example", "eu-west-1")
	pub := &stubPublisher{}
	r := &run{pub: pub, outputs: map[string]any{}}
	var mu sync.Mutex
	prog := portalinfra.Program(portalinfra.Options{Publisher: pub, ImageFiles: stubFiles, RepoDir: t.TempDir(),
		OnOutputs: func(ctx *pulumi.Context, outs pulumi.Map) error {
			for k, v := range outs {
				k := k
				pulumi.ToOutput(v).ApplyT(func(x any) any { mu.Lock(); r.outputs[k] = x; mu.Unlock(); return x })
			}
			return nil
		}})
	secret := []string{portalinfra.Namespace + ":oidcClientSecret"}
	err := pulumi.RunErr(prog, pulumi.WithMocks(portalinfra.Namespace, "example", mocks), func(info *pulumi.RunInfo) {
		info.Config, info.ConfigSecretKeys, info.DryRun = raw, secret, dryRun
	})
	r.regs = mocks.Registered()
	return r, err
}

func (r *run) ofType(typ string) []awsmodel.Registered {
	var out []awsmodel.Registered
	for _, x := range r.regs {
		if x.Type == typ {
			out = append(out, x)
		}
	}
	return out
}

func one(t *testing.T, r *run, typ string) resource.PropertyMap {
	t.Helper()
	xs := r.ofType(typ)
	if len(xs) != 1 {
		t.Fatalf("%d resources of %s, want 1", len(xs), typ)
	}
	return xs[0].State
}

func mapOf(v resource.PropertyValue) map[string]any {
	m, _ := v.Mappable().(map[string]any)
	return m
}

// TestProgramUnderMocks runs the program on the example stack and checks the
// resources the issue asks for.
func TestProgramUnderMocks(t *testing.T) {
	r, err := runMocked(t, exampleConfig(t), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("https listener: TLS 1.2+, OIDC before forward", func(t *testing.T) {
		var https, http map[string]any
		for _, l := range r.ofType("aws:lb/listener:Listener") {
			m := l.State.Mappable()
			switch m["protocol"] {
			case "HTTPS":
				https = m
			case "HTTP":
				http = m
			}
		}
		if https == nil || http == nil {
			t.Fatalf("want an HTTPS and an HTTP listener")
		}
		if https["sslPolicy"] != portalinfra.TLSPolicy || https["port"] != 443.0 {
			t.Errorf("https listener: %v", https)
		}
		acts, _ := https["defaultActions"].([]any)
		if len(acts) != 2 {
			t.Fatalf("https actions: %v", acts)
		}
		a0, a1 := acts[0].(map[string]any), acts[1].(map[string]any)
		if a0["type"] != "authenticate-oidc" || a0["order"] != 1.0 || a1["type"] != "forward" || a1["order"] != 2.0 {
			t.Errorf("actions: %v", acts)
		}
		oidc := a0["authenticateOidc"].(map[string]any)
		if oidc["issuer"] != "https://login.example.com" || oidc["clientId"] != "0oa1portalclient" {
			t.Errorf("oidc: %v", oidc)
		}
		// The client secret stays a secret in the listener's inputs.
		for _, l := range r.ofType("aws:lb/listener:Listener") {
			if l.Inputs["protocol"].StringValue() != "HTTPS" {
				continue
			}
			act := l.Inputs["defaultActions"].ArrayValue()[0].ObjectValue()
			if sec := act["authenticateOidc"].ObjectValue()["clientSecret"]; !sec.IsSecret() && !sec.ContainsSecrets() {
				t.Errorf("client secret is not a secret: %v", sec)
			}
		}
		red := http["defaultActions"].([]any)[0].(map[string]any)
		rd := red["redirect"].(map[string]any)
		if red["type"] != "redirect" || rd["protocol"] != "HTTPS" || rd["port"] != "443" || rd["statusCode"] != "HTTP_301" {
			t.Errorf("http listener does not redirect to https: %v", red)
		}
	})
	t.Run("fargate service of 2+ tasks over 2 subnets", func(t *testing.T) {
		svc := one(t, r, "aws:ecs/service:Service").Mappable()
		if svc["desiredCount"].(float64) < 2 || svc["launchType"] != "FARGATE" {
			t.Errorf("service: %v", svc)
		}
		nc := svc["networkConfiguration"].(map[string]any)
		if len(nc["subnets"].([]any)) < 2 || nc["assignPublicIp"] != false {
			t.Errorf("network: %v", nc)
		}
		td := one(t, r, "aws:ecs/taskDefinition:TaskDefinition").Mappable()
		if td["cpu"] != "512" || td["memory"] != "1024" || td["networkMode"] != "awsvpc" {
			t.Errorf("task definition: %v", td)
		}
		var cds []map[string]any
		if err := json.Unmarshal([]byte(td["containerDefinitions"].(string)), &cds); err != nil {
			t.Fatal(err)
		}
		cmd := strings.Join(anyStrings(cds[0]["command"]), " ")
		for _, want := range []string{"--jobs-table hlportal-example-jobs", "--alb-arn arn:aws:elasticloadbalancing:", "--backend s3://hlportal-example-state-",
			"--secrets-provider awskms://alias/hlportal-example", "--oidc-config " + portalinfra.OIDCConfigPath} {
			if !strings.Contains(cmd, want) {
				t.Errorf("command %q lacks %q", cmd, want)
			}
		}
		if img := cds[0]["image"].(string); !strings.Contains(img, ".dkr.ecr.eu-west-1.amazonaws.com/hlportal-example@sha256:") {
			t.Errorf("image %q: want the pushed digest", img)
		}
		if len(r.pub.calls) != 1 || r.pub.calls[0] != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hlportal-example as AWS" {
			t.Errorf("publisher calls: %v", r.pub.calls)
		}
		tg := one(t, r, "aws:lb/targetGroup:TargetGroup").Mappable()
		if tg["targetType"] != "ip" || tg["healthCheck"].(map[string]any)["path"] != "/" || len(tg["name"].(string)) > 32 {
			t.Errorf("target group: %v", tg)
		}
	})
	t.Run("encryption, versioning, TTL, PITR, scan on push", func(t *testing.T) {
		tbl := one(t, r, "aws:dynamodb/table:Table").Mappable()
		if tbl["billingMode"] != "PAY_PER_REQUEST" || tbl["hashKey"] != "pk" || tbl["rangeKey"] != "sk" ||
			tbl["ttl"].(map[string]any)["attributeName"] != "expires" || tbl["pointInTimeRecovery"].(map[string]any)["enabled"] != true ||
			tbl["serverSideEncryption"].(map[string]any)["enabled"] != true {
			t.Errorf("table: %v", tbl)
		}
		sse := one(t, r, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2").Mappable()
		if !strings.Contains(mustJSON(sse), `"sseAlgorithm":"aws:kms"`) {
			t.Errorf("sse: %v", sse)
		}
		if v := one(t, r, "aws:s3/bucketVersioningV2:BucketVersioningV2").Mappable(); v["versioningConfiguration"].(map[string]any)["status"] != "Enabled" {
			t.Errorf("versioning: %v", v)
		}
		pab := one(t, r, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").Mappable()
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if pab[k] != true {
				t.Errorf("public access block %s: %v", k, pab[k])
			}
		}
		if pol := one(t, r, "aws:s3/bucketPolicy:BucketPolicy").Mappable(); !strings.Contains(pol["policy"].(string), `"aws:SecureTransport":"false"`) {
			t.Errorf("bucket policy: %v", pol)
		}
		if k := one(t, r, "aws:kms/key:Key").Mappable(); k["enableKeyRotation"] != true {
			t.Errorf("key: %v", k)
		}
		repo := one(t, r, "aws:ecr/repository:Repository").Mappable()
		if repo["imageTagMutability"] != "IMMUTABLE" || repo["imageScanningConfiguration"].(map[string]any)["scanOnPush"] != true {
			t.Errorf("repository: %v", repo)
		}
		if lp := one(t, r, "aws:ecr/lifecyclePolicy:LifecyclePolicy").Mappable(); !strings.Contains(lp["policy"].(string), `"countNumber":10`) {
			t.Errorf("lifecycle policy: %v", lp)
		}
		if lg := one(t, r, "aws:cloudwatch/logGroup:LogGroup").Mappable(); lg["retentionInDays"] != 30.0 {
			t.Errorf("log group: %v", lg)
		}
	})
	t.Run("policy pack: no mandatory violation", func(t *testing.T) {
		for _, v := range rules.Evaluate(plan.RuleResources(r.regs), rules.Defaults()) {
			if v.Level == rules.Mandatory {
				t.Errorf("%s: %s: %s", v.Policy, v.URN, v.Message)
			}
		}
	})
	t.Run("task role policy is scoped", func(t *testing.T) {
		var doc portalinfra.Document
		for _, p := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
			if strings.HasSuffix(p.State["role"].StringValue(), "-task") {
				if err := json.Unmarshal([]byte(p.State["policy"].StringValue()), &doc); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkScoped(t, doc)
	})
}

// checkScoped: every statement names hookline-* or the portal's own
// resources, except the documented no-resource-level ones; SSM is read only
// and under /hookline/.
func checkScoped(t *testing.T, doc portalinfra.Document) {
	t.Helper()
	if len(doc.Statement) == 0 {
		t.Fatal("no statements")
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			if strings.HasPrefix(a, "ssm:") && a != "ssm:DescribeParameters" && !strings.HasPrefix(a, "ssm:Get") {
				t.Errorf("%s: ssm action %s is not a read", st.Sid, a)
			}
			if a == "*" || a == "iam:*" {
				t.Errorf("%s: action %s", st.Sid, a)
			}
		}
		for _, res := range st.Resource {
			switch {
			case res == "*":
				if !strings.Contains(st.Sid, "NoResourceLevel") && !strings.Contains(st.Sid, "NoNames") {
					t.Errorf("%s: Resource * without saying why (Sid)", st.Sid)
				}
			case strings.Contains(res, ":ssm:"):
				if !strings.HasSuffix(res, ":parameter/hookline/*") {
					t.Errorf("%s: ssm resource %s", st.Sid, res)
				}
			case strings.Contains(res, "hookline-*"), strings.Contains(res, "hookline_*"),
				strings.Contains(res, "hlportal-example"), strings.Contains(res, ":kms:") && strings.Contains(st.Sid, "SecretsKey"),
				strings.Contains(res, ":apigateway:") && strings.Contains(st.Sid, "NoNames"),
				strings.Contains(res, ":glue:") && strings.HasSuffix(res, ":catalog"),
				strings.Contains(res, "event-source-mapping:"), strings.Contains(res, ":route53:::"):
			default:
				t.Errorf("%s: resource %s is not scoped to hookline-*", st.Sid, res)
			}
		}
	}
}

func TestPreviewPublishesNothing(t *testing.T) {
	r, err := runMocked(t, exampleConfig(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.pub.calls) != 0 {
		t.Errorf("preview published: %v", r.pub.calls)
	}
}

func TestProgramRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"one az", "subnetZones", `["eu-west-1a","eu-west-1a"]`, "at least two"},
		{"one task", "desiredCount", "1", "desiredCount must be at least 2"},
		{"fargate size", "memory", "3000", "not a Fargate combination"},
		{"http idp", "oidcIssuer", "http://login.example.com", "must be an https:// URL"},
		{"unknown key", "color", "blue", "is not a key the portal reads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := exampleConfig(t)
			raw[portalinfra.Namespace+":"+tc.key] = tc.value
			env, _ := json.Marshal(raw)
			t.Setenv(pulumi.EnvConfig, string(env))
			r, err := runMocked(t, raw, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(r.regs) != 0 {
				t.Errorf("%d resources registered before the config was refused", len(r.regs))
			}
		})
	}
	t.Run("plain client secret", func(t *testing.T) {
		mocks := awsmodel.NewMocks(portalinfra.Namespace, "example", "eu-west-1")
		err := pulumi.RunErr(portalinfra.Program(portalinfra.Options{Publisher: &stubPublisher{}, ImageFiles: stubFiles}),
			pulumi.WithMocks(portalinfra.Namespace, "example", mocks), func(info *pulumi.RunInfo) { info.Config = exampleConfig(t) })
		if err == nil || !strings.Contains(err.Error(), "must be a secret") {
			t.Fatalf("err = %v", err)
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestJobsTableIsTheStoreTable: the table the program creates is the one
// portal/jobs defines (jobs.TableInput), and the task role may make every
// call its DynamoStore makes (jobs.DynamoAPI).
func TestJobsTableIsTheStoreTable(t *testing.T) {
	r, err := runMocked(t, exampleConfig(t), false)
	if err != nil {
		t.Fatal(err)
	}
	tbl := one(t, r, "aws:dynamodb/table:Table").Mappable()
	want := jobs.TableInput("x")
	for _, k := range want.KeySchema {
		key := map[string]string{"HASH": "hashKey", "RANGE": "rangeKey"}[string(k.KeyType)]
		if tbl[key] != *k.AttributeName {
			t.Errorf("%s = %v, want %s", key, tbl[key], *k.AttributeName)
		}
	}
	if tbl["billingMode"] != string(want.BillingMode) {
		t.Errorf("billing mode %v, want %s", tbl["billingMode"], want.BillingMode)
	}
	var doc portalinfra.Document
	for _, p := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		if strings.HasSuffix(p.State["role"].StringValue(), "-task") {
			_ = json.Unmarshal([]byte(p.State["policy"].StringValue()), &doc)
		}
	}
	allowed := map[string]bool{}
	for _, st := range doc.Statement {
		if st.Sid == "JobsTable" {
			for _, a := range st.Action {
				allowed[a] = true
			}
		}
	}
	api := reflect.TypeOf((*jobs.DynamoAPI)(nil)).Elem()
	for i := 0; i < api.NumMethod(); i++ {
		if a := "dynamodb:" + api.Method(i).Name; !allowed[a] {
			t.Errorf("the task role lacks %s, which the job store calls", a)
		}
	}
}
