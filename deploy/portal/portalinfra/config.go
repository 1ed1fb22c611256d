package portalinfra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Namespace is the config namespace of the portal's project (its name in
// deploy/portal/Pulumi.yaml).
const Namespace = "hookline-portal"

// Defaults of the optional keys, all in one place.
const (
	DefaultDesiredCount     = 2
	DefaultCPU              = 512  // 0.5 vCPU
	DefaultMemory           = 1024 // MiB
	DefaultArchitecture     = "amd64"
	DefaultLogRetentionDays = 30
	DefaultHealthPath       = "/" // the sign-in page answers 200 without a session
	DefaultContainerPort    = 8080
	// MinDesiredCount: one task per Availability Zone of at least two.
	MinDesiredCount = 2
)

// Config is the portal stack's typed configuration.
type Config struct {
	Stack string

	VpcID                   string
	PublicSubnetIDs         []string
	PrivateSubnetIDs        []string
	SubnetZones             []string
	ALBSecurityGroupIDs     []string
	ServiceSecurityGroupIDs []string

	Domain       string
	HostedZoneID string

	BaseImage    string
	Architecture string // amd64 or arm64
	PulumiCLI    string // path of a Pulumi CLI for Architecture; "" = <repo>/bin/pulumi

	OIDCIssuer                string
	OIDCAuthorizationEndpoint string
	OIDCTokenEndpoint         string
	OIDCUserInfoEndpoint      string
	OIDCClientID              string
	OIDCClientSecret          string // a Pulumi secret
	OIDCTeams                 json.RawMessage

	// WebhookHostedZoneIDs are the zones the portal may write webhook
	// domains' records in (hookline:domain of the webhook stacks).
	WebhookHostedZoneIDs []string

	DesiredCount     int
	CPU, Memory      int
	LogRetentionDays int
	HealthPath       string
}

// keys lists every key the portal reads, for unknown-key errors.
var keys = []string{"vpcId", "publicSubnetIds", "privateSubnetIds", "subnetZones", "albSecurityGroupIds",
	"serviceSecurityGroupIds", "domain", "hostedZoneId", "baseImage", "architecture", "pulumiCli",
	"oidcIssuer", "oidcAuthorizationEndpoint", "oidcTokenEndpoint", "oidcUserInfoEndpoint", "oidcClientId",
	"oidcClientSecret", "oidcTeams", "webhookHostedZoneIds", "desiredCount", "cpu", "memory",
	"logRetentionDays", "healthPath"}

// Keys returns the config keys the portal program reads (without namespace).
func Keys() []string { return append([]string(nil), keys...) }

// fargateMemory is Fargate's supported CPU (units) and memory (MiB)
// combinations for Linux tasks (Amazon ECS Developer Guide, "Task CPU and
// memory"): 256: 512, 1024, 2048; 512: 1024-4096 by 1024; 1024: 2048-8192
// by 1024; 2048: 4096-16384 by 1024; 4096: 8192-30720 by 1024; 8192:
// 16384-61440 by 4096; 16384: 32768-122880 by 8192.
func FargateMemoryValid(cpu, memory int) bool {
	between := func(lo, hi, step int) bool { return memory >= lo && memory <= hi && (memory-lo)%step == 0 }
	switch cpu {
	case 256:
		return memory == 512 || memory == 1024 || memory == 2048
	case 512:
		return between(1024, 4096, 1024)
	case 1024:
		return between(2048, 8192, 1024)
	case 2048:
		return between(4096, 16384, 1024)
	case 4096:
		return between(8192, 30720, 1024)
	case 8192:
		return between(16384, 61440, 4096)
	case 16384:
		return between(32768, 122880, 8192)
	}
	return false
}

// stackRE: the stack name goes into names of at most 32 characters (the
// target group's), so it is short, lower case, digits and hyphens.
var stackRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$`)

// LoadConfig reads a stack's config from raw (keys with or without the
// "hookline-portal:" prefix; lists and objects as JSON), applies the
// defaults and reports every problem at once, naming the key and the file.
func LoadConfig(stack string, raw map[string]string) (*Config, error) {
	get := func(k string) string { return raw[Namespace+":"+k] }
	var problems []string
	bad := func(k, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s:%s %s", Namespace, k, fmt.Sprintf(format, a...)))
	}
	for k := range raw {
		name, ok := strings.CutPrefix(k, Namespace+":")
		if ok && !contains(keys, name) {
			bad(name, "is not a key the portal reads (known: %s)", strings.Join(keys, ", "))
		}
	}
	list := func(k string) []string {
		v := get(k)
		if v == "" {
			return nil
		}
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			bad(k, "must be a list of strings: %v", err)
		}
		return out
	}
	num := func(k string, def int) int {
		v := get(k)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad(k, "must be a whole number, not %q", v)
		}
		return n
	}
	str := func(k, def string) string {
		if v := get(k); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Stack:                     stack,
		VpcID:                     get("vpcId"),
		PublicSubnetIDs:           list("publicSubnetIds"),
		PrivateSubnetIDs:          list("privateSubnetIds"),
		SubnetZones:               list("subnetZones"),
		ALBSecurityGroupIDs:       list("albSecurityGroupIds"),
		ServiceSecurityGroupIDs:   list("serviceSecurityGroupIds"),
		Domain:                    get("domain"),
		HostedZoneID:              get("hostedZoneId"),
		BaseImage:                 get("baseImage"),
		Architecture:              str("architecture", DefaultArchitecture),
		PulumiCLI:                 get("pulumiCli"),
		OIDCIssuer:                get("oidcIssuer"),
		OIDCAuthorizationEndpoint: get("oidcAuthorizationEndpoint"),
		OIDCTokenEndpoint:         get("oidcTokenEndpoint"),
		OIDCUserInfoEndpoint:      get("oidcUserInfoEndpoint"),
		OIDCClientID:              get("oidcClientId"),
		OIDCClientSecret:          get("oidcClientSecret"),
		OIDCTeams:                 json.RawMessage(get("oidcTeams")),
		WebhookHostedZoneIDs:      list("webhookHostedZoneIds"),
		DesiredCount:              num("desiredCount", DefaultDesiredCount),
		CPU:                       num("cpu", DefaultCPU),
		Memory:                    num("memory", DefaultMemory),
		LogRetentionDays:          num("logRetentionDays", DefaultLogRetentionDays),
		HealthPath:                str("healthPath", DefaultHealthPath),
	}
	if !stackRE.MatchString(stack) {
		problems = append(problems, fmt.Sprintf("stack name %q: use 1-20 lower-case letters, digits and hyphens (it is part of the target group's name, at most 32 characters)", stack))
	}
	for _, r := range []struct{ key, v string }{
		{"vpcId", c.VpcID}, {"domain", c.Domain}, {"hostedZoneId", c.HostedZoneID}, {"baseImage", c.BaseImage},
		{"oidcIssuer", c.OIDCIssuer}, {"oidcAuthorizationEndpoint", c.OIDCAuthorizationEndpoint},
		{"oidcTokenEndpoint", c.OIDCTokenEndpoint}, {"oidcUserInfoEndpoint", c.OIDCUserInfoEndpoint},
		{"oidcClientId", c.OIDCClientID}, {"oidcClientSecret", c.OIDCClientSecret},
	} {
		if r.v == "" {
			bad(r.key, "is required")
		}
	}
	for _, r := range []struct{ key, v string }{
		{"oidcIssuer", c.OIDCIssuer}, {"oidcAuthorizationEndpoint", c.OIDCAuthorizationEndpoint},
		{"oidcTokenEndpoint", c.OIDCTokenEndpoint}, {"oidcUserInfoEndpoint", c.OIDCUserInfoEndpoint},
	} {
		// The ALB talks to the IdP over HTTPS only (authenticate-oidc).
		if r.v != "" && !strings.HasPrefix(r.v, "https://") {
			bad(r.key, "must be an https:// URL, not %q", r.v)
		}
	}
	if len(c.PublicSubnetIDs) < 2 {
		bad("publicSubnetIds", "needs at least two subnets in different Availability Zones (an ALB requires two)")
	}
	if len(c.PrivateSubnetIDs) < 2 {
		bad("privateSubnetIds", "needs at least two subnets in different Availability Zones (the tasks spread over them)")
	}
	if len(c.SubnetZones) != len(c.PrivateSubnetIDs) {
		bad("subnetZones", "must name the Availability Zone of each of privateSubnetIds, in order (%d zones for %d subnets)", len(c.SubnetZones), len(c.PrivateSubnetIDs))
	} else if distinct(c.SubnetZones) < 2 {
		bad("subnetZones", "the private subnets are in %d Availability Zone(s); use at least two", distinct(c.SubnetZones))
	}
	if len(c.ALBSecurityGroupIDs) == 0 {
		bad("albSecurityGroupIds", "is required (a group that lets 443 and 80 in)")
	}
	if len(c.ServiceSecurityGroupIDs) == 0 {
		bad("serviceSecurityGroupIds", "is required (a group that lets the load balancer's group reach port %d)", DefaultContainerPort)
	}
	if c.Architecture != "amd64" && c.Architecture != "arm64" {
		bad("architecture", "must be amd64 or arm64, not %q", c.Architecture)
	}
	if c.DesiredCount < MinDesiredCount {
		bad("desiredCount", "must be at least %d (one task per Availability Zone survives a zone's loss), not %d", MinDesiredCount, c.DesiredCount)
	}
	if !FargateMemoryValid(c.CPU, c.Memory) {
		bad("memory", "%d MiB is not a Fargate combination with cpu %d (see \"Task CPU and memory\" in the ECS Developer Guide)", c.Memory, c.CPU)
	}
	if !validRetention(c.LogRetentionDays) {
		bad("logRetentionDays", "must be one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, …), not %d", c.LogRetentionDays)
	}
	if !strings.HasPrefix(c.HealthPath, "/") {
		bad("healthPath", "must start with /, not %q", c.HealthPath)
	}
	if len(c.OIDCTeams) > 0 && !json.Valid(c.OIDCTeams) {
		bad("oidcTeams", "must be an object like {\"groupsClaim\":\"groups\",\"teams\":{…},\"admins\":[…]}")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("Pulumi.%s.yaml: %s", stack, strings.Join(problems, "; "))
	}
	return c, nil
}

// validRetention: CloudWatch Logs' PutRetentionPolicy retentionInDays values.
func validRetention(d int) bool {
	for _, v := range []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
		if d == v {
			return true
		}
	}
	return false
}

func distinct(xs []string) int {
	seen := map[string]bool{}
	for _, x := range xs {
		seen[x] = true
	}
	return len(seen)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
