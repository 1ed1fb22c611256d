package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/portal/50dc6c495c0c9188"

// TestPortalALBFlags: --alb-arn, --oidc-config and --alb-key-url go
// together, and a wrong one stops hookline portal before it listens, with
// a sentence naming the flag or the file.
func TestPortalALBFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "oidc.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"groupsClaim":"groups","teams":{"pay":["idp-payments"]},"admins":["idp-platform"]}`), 0o600)
	_ = os.WriteFile(bad, []byte(`{"groupsClaim":"groups","teams":{"Pay":["x"]}}`), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"arn without config", []string{"--alb-arn", testALB}, "--alb-arn needs --oidc-config"},
		{"config without arn", []string{"--oidc-config", good}, "need --alb-arn"},
		{"key URL without arn", []string{"--alb-key-url", "https://keys.example.com/"}, "need --alb-arn"},
		{"not an ALB's ARN", []string{"--alb-arn", "arn:aws:iam::123456789012:role/x", "--oidc-config", good}, "not an Application Load Balancer ARN"},
		{"not an ALB's ARN, with a key URL", []string{"--alb-arn", "arn:aws:iam::123456789012:role/x", "--oidc-config", good, "--alb-key-url", "https://keys.example.com/"}, "not an Application Load Balancer ARN"},
		{"a key URL that is not http(s)", []string{"--alb-arn", testALB, "--oidc-config", good, "--alb-key-url", "file:///etc/"}, "want https://"},
		{"a China region without a key URL", []string{"--alb-arn", strings.Replace(strings.Replace(testALB, "eu-west-1", "cn-north-1", 1), "arn:aws:", "arn:aws-cn:", 1), "--oidc-config", good}, "give its URL"},
		{"a bad config", []string{"--alb-arn", testALB, "--oidc-config", bad}, bad + `: team "Pay" must be`},
		{"a missing config", []string{"--alb-arn", testALB, "--oidc-config", filepath.Join(dir, "none.json")}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(append([]string{"portal", "--data", t.TempDir()}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.says) {
				t.Fatalf("exit %d, stderr %q; want 2 saying %q", code, errOut, tc.says)
			}
		})
	}

	alb, err := albSignIn(&portalOptions{albARN: testALB, oidcConfig: good, albKeyURL: "https://keys.example.com/"})
	if err != nil || alb == nil || alb.ARN != testALB || alb.KeyURL != "https://keys.example.com/" || alb.SSO.GroupsClaim != "groups" {
		t.Fatalf("albSignIn: %+v, %v", alb, err)
	}
	if alb, err := albSignIn(&portalOptions{}); alb != nil || err != nil {
		t.Errorf("no flags: %+v, %v; want no sign-in at a load balancer", alb, err)
	}
}
