package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// Component type tokens.
const (
	TypeWebhook    = "hookline:infra:Webhook"
	TypeRestAPI    = "hookline:infra:RestApi"
	TypeSource     = "hookline:infra:Source"
	TypeAPIStage   = "hookline:infra:ApiStage"
	TypeDomain     = "hookline:infra:Domain"
	TypeMonitoring = "hookline:infra:Monitoring"
)

// StageName is the API Gateway stage every stack publishes.
const StageName = "v1"

// Tags are the tags of every taggable resource: the stack's configured tags
// plus hookline's own, which say where a resource came from.
func Tags(c *stackconfig.Config) map[string]string {
	t := map[string]string{}
	for k, v := range c.Tags {
		t[k] = v
	}
	t["hookline:environment"] = c.Environment
	t["hookline:stack"] = c.Stack
	t["managed-by"] = "hookline"
	return t
}

func tagMap(c *stackconfig.Config) pulumi.StringMap { return pulumi.ToStringMap(Tags(c)) }
