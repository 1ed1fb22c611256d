// Package awsmodel is hookline's offline model of AWS: for every resource type
// the program creates, the attributes AWS would compute (ARNs, ids, URLs, zone
// ids), derived deterministically from the resource's name and inputs. The
// Pulumi mocks (the offline plan and the program tests) use it, and so does the
// test-double provider, so offline runs and engine runs agree.
package awsmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/hookline/hookline/contract"
)

// DefaultAccount is the account id of the offline model.
const DefaultAccount = "123456789012"

// APIGatewayCloudWatchRole is the CloudWatch Logs role the offline model's
// API Gateway account settings name in every region: the offline plan
// cannot read a real account, so it plans as if the role were set (pulumi
// preview checks the real setting; see infra.CheckAccessLogs).
const APIGatewayCloudWatchRole = "arn:aws:iam::" + DefaultAccount + ":role/apigateway-cloudwatch"

// APIGatewayAccount is infra.AccountLookup for the offline model.
func APIGatewayAccount(context.Context, string) (string, error) { return APIGatewayCloudWatchRole, nil }

// Model computes AWS attributes for one account and region.
type Model struct {
	Account string
	Region  string
}

// New returns a model of region in the default account.
func New(region string) Model { return Model{Account: DefaultAccount, Region: region} }

// albZoneIDs are Elastic Load Balancing's hosted zone ids of Application
// Load Balancers (AWS General Reference, "Elastic Load Balancing endpoints
// and quotas"), for alias records.
var albZoneIDs = map[string]string{
	"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
	"us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-west-2": "ZHURV8PSTC4K8",
	"eu-central-1": "Z215JYRZR1TBD5", "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-northeast-1": "Z14GRHDCWA56QT",
}

// regionalZoneIDs are API Gateway's regional hosted zone ids (for alias records).
var regionalZoneIDs = map[string]string{
	"us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ", "us-west-1": "Z2MUQ32089INYE",
	"us-west-2": "Z2OJLYMUO9EFXC", "eu-west-1": "ZLY8HYME6SFDD", "eu-west-2": "ZJ5UAJN8Y3Z2Q",
	"eu-central-1": "Z1U9ULNL0V5AJ3", "ap-southeast-1": "ZL327KTPIQFUL", "ap-northeast-1": "Z1YSHQZHG15GKL",
}

// Compute returns the id and the full state (inputs plus computed attributes)
// of a resource of type typ with logical name name. seed makes generated ids
// unique and stable (the URN is a good seed).
func (m Model) Compute(typ, name, seed string, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	r := &res{m: m, typ: typ, name: name, seed: seed, in: inputs, out: inputs.Copy()}
	fn, ok := computers[typ]
	if !ok {
		return "", nil, fmt.Errorf("offline model: resource type %s is not modelled (add it to awsmodel)", typ)
	}
	id := fn(r)
	r.set("id", id)
	return id, r.out, nil
}

// Types lists every resource type the model knows.
func Types() []string {
	out := make([]string, 0, len(computers))
	for t := range computers {
		out = append(out, t)
	}
	return out
}

type res struct {
	m         Model
	typ, name string
	seed      string
	in, out   resource.PropertyMap
}

// str reads a string input, looking through secrets; "" when absent or unknown.
func (r *res) str(key string) string {
	v, ok := r.in[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (r *res) boolean(key string) bool {
	v, ok := r.in[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

func (r *res) set(key string, v any) { r.out[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }

// setDefault sets an attribute only when the inputs did not.
func (r *res) setDefault(key string, v any) {
	if _, ok := r.in[resource.PropertyKey(key)]; !ok {
		r.set(key, v)
	}
}

// hash returns n lower-case hex characters derived from the seed and salt.
func (r *res) hash(salt string, n int) string {
	sum := sha256.Sum256([]byte(r.seed + "|" + salt))
	return hex.EncodeToString(sum[:])[:n]
}

// shortID is an API Gateway style id: 10 lower-case alphanumerics.
func (r *res) shortID(salt string) string { return r.hash(salt, 10) }

// physicalName is the name input, or a Pulumi-style autoname.
func (r *res) physicalName(key string) string {
	if n := r.str(key); n != "" {
		return n
	}
	n := r.name + "-" + r.hash("autoname", 7)
	r.set(key, n)
	return n
}

func (r *res) arn(service, resourcePart string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.m.Region, r.m.Account, resourcePart)
}

func (r *res) globalArn(service, resourcePart string) string {
	return fmt.Sprintf("arn:aws:%s::%s:%s", service, r.m.Account, resourcePart)
}

func (r *res) tagsAll() {
	if t, ok := r.in["tags"]; ok {
		r.out["tagsAll"] = t
	}
}

const fixedTime = "2026-01-01T00:00:00Z"

var computers = map[string]func(r *res) string{
	"aws:sqs/queue:Queue": func(r *res) string {
		name := r.str("name")
		if name == "" {
			name = r.name + "-" + r.hash("autoname", 7)
			if r.boolean("fifoQueue") {
				name += ".fifo"
			}
			r.set("name", name)
		}
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r.m.Region, r.m.Account, name)
		r.set("arn", r.arn("sqs", name))
		r.set("url", url)
		r.setDefault("visibilityTimeoutSeconds", 30)
		r.setDefault("messageRetentionSeconds", 345600)
		r.setDefault("maxMessageSize", contract.MaxMessageBytes) // pulumi-aws v6's default and its maximum
		r.tagsAll()
		return url
	},
	"aws:sqs/queuePolicy:QueuePolicy":               func(r *res) string { return r.str("queueUrl") },
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": func(r *res) string { return r.str("queueUrl") },
	"aws:iam/role:Role": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.globalArn("iam", "role/"+name))
		r.set("uniqueId", "AROA"+strings.ToUpper(r.hash("unique", 17)))
		r.set("createDate", fixedTime)
		r.tagsAll()
		return name
	},
	"aws:iam/rolePolicy:RolePolicy": func(r *res) string {
		return r.str("role") + ":" + r.physicalName("name")
	},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": func(r *res) string {
		return r.str("role") + "-" + r.hash("id", 20)
	},
	"aws:apigateway/restApi:RestApi": func(r *res) string {
		id := r.shortID("id")
		r.physicalName("name")
		r.set("rootResourceId", r.shortID("root"))
		r.set("executionArn", r.arn("execute-api", id))
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/restapis/%s", r.m.Region, id))
		r.set("createdDate", fixedTime)
		r.tagsAll()
		return id
	},
	"aws:apigateway/requestValidator:RequestValidator": func(r *res) string { return r.shortID("id") },
	"aws:apigateway/response:Response": func(r *res) string {
		return "aggr-" + r.str("restApiId") + "-" + r.str("responseType")
	},
	"aws:apigateway/account:Account": func(r *res) string {
		r.set("throttleSettings", []any{map[string]any{"burstLimit": 5000, "rateLimit": 10000}})
		return "api-gateway-account"
	},
	"aws:apigateway/resource:Resource": func(r *res) string {
		r.set("path", "/"+r.str("pathPart"))
		return r.shortID("id")
	},
	"aws:apigateway/authorizer:Authorizer": func(r *res) string {
		id := r.shortID("id")
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/restapis/%s/authorizers/%s", r.m.Region, r.str("restApi"), id))
		return id
	},
	"aws:apigateway/method:Method": func(r *res) string {
		return "agm-" + r.str("restApi") + "-" + r.str("resourceId") + "-" + r.str("httpMethod")
	},
	"aws:apigateway/integration:Integration": func(r *res) string {
		r.setDefault("timeoutMilliseconds", 29000)
		return "agi-" + r.str("restApi") + "-" + r.str("resourceId") + "-" + r.str("httpMethod")
	},
	"aws:apigateway/methodResponse:MethodResponse": func(r *res) string {
		return "agmr-" + r.str("restApi") + "-" + r.str("resourceId") + "-" + r.str("httpMethod") + "-" + r.str("statusCode")
	},
	"aws:apigateway/integrationResponse:IntegrationResponse": func(r *res) string {
		return "agir-" + r.str("restApi") + "-" + r.str("resourceId") + "-" + r.str("httpMethod") + "-" + r.str("statusCode")
	},
	"aws:apigateway/deployment:Deployment": func(r *res) string {
		id := r.shortID("id")
		r.set("createdDate", fixedTime)
		r.set("executionArn", r.arn("execute-api", r.str("restApi")+"/"))
		r.set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/", r.str("restApi"), r.m.Region))
		return id
	},
	"aws:apigateway/stage:Stage": func(r *res) string {
		api, stage := r.str("restApi"), r.str("stageName")
		r.set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s", api, r.m.Region, stage))
		r.set("executionArn", r.arn("execute-api", api+"/"+stage))
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/restapis/%s/stages/%s", r.m.Region, api, stage))
		r.tagsAll()
		return "ags-" + api + "-" + stage
	},
	"aws:apigateway/methodSettings:MethodSettings": func(r *res) string {
		return r.str("restApi") + "-" + r.str("stageName") + "-" + r.str("methodPath")
	},
	"aws:apigateway/usagePlan:UsagePlan": func(r *res) string {
		id := r.shortID("id")
		r.physicalName("name")
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/usageplans/%s", r.m.Region, id))
		r.tagsAll()
		return id
	},
	"aws:apigateway/apiKey:ApiKey": func(r *res) string {
		id := r.shortID("id")
		r.physicalName("name")
		if r.str("value") == "" {
			r.out["value"] = resource.MakeSecret(resource.NewProperty(r.hash("value", 40)))
		}
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apikeys/%s", r.m.Region, id))
		r.set("createdDate", fixedTime)
		r.set("lastUpdatedDate", fixedTime)
		r.tagsAll()
		return id
	},
	"aws:apigateway/usagePlanKey:UsagePlanKey": func(r *res) string {
		r.set("name", r.name)
		r.set("value", "")
		return r.str("keyId")
	},
	"aws:apigateway/domainName:DomainName": func(r *res) string {
		d := r.str("domainName")
		r.set("regionalDomainName", fmt.Sprintf("d-%s.execute-api.%s.amazonaws.com", r.shortID("regional"), r.m.Region))
		zone, ok := regionalZoneIDs[r.m.Region]
		if !ok {
			zone = "Z" + strings.ToUpper(r.hash("zone", 13))
		}
		r.set("regionalZoneId", zone)
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/domainnames/%s", r.m.Region, d))
		r.set("domainNameId", r.shortID("domainNameId"))
		r.tagsAll()
		return d
	},
	"aws:apigateway/basePathMapping:BasePathMapping": func(r *res) string {
		return r.str("domainName") + "/" + r.str("basePath")
	},
	"aws:apigatewayv2/api:Api": func(r *res) string {
		id := r.shortID("id")
		r.physicalName("name")
		r.set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, r.m.Region))
		r.set("executionArn", r.arn("execute-api", id))
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", r.m.Region, id))
		r.setDefault("routeSelectionExpression", "$request.method $request.path")
		r.setDefault("apiKeySelectionExpression", "$request.header.x-api-key")
		r.tagsAll()
		return id
	},
	"aws:apigatewayv2/integration:Integration": func(r *res) string {
		r.setDefault("connectionType", "INTERNET")
		r.setDefault("timeoutMilliseconds", 30000)
		return r.hash("id", 7)
	},
	"aws:apigatewayv2/route:Route":           func(r *res) string { return r.hash("id", 7) },
	"aws:apigatewayv2/authorizer:Authorizer": func(r *res) string { return r.hash("id", 6) },
	"aws:apigatewayv2/deployment:Deployment": func(r *res) string {
		r.set("autoDeployed", false)
		return r.hash("id", 6)
	},
	"aws:apigatewayv2/stage:Stage": func(r *res) string {
		api, stage := r.str("apiId"), r.str("name")
		r.set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s", api, r.m.Region, stage))
		r.set("executionArn", r.arn("execute-api", api+"/"+stage))
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s/stages/%s", r.m.Region, api, stage))
		r.tagsAll()
		return stage
	},
	"aws:apigatewayv2/domainName:DomainName": func(r *res) string {
		d := r.str("domainName")
		conf := map[string]any{}
		if v, ok := r.in["domainNameConfiguration"]; ok && v.IsObject() {
			conf = v.ObjectValue().Mappable()
		}
		conf["targetDomainName"] = fmt.Sprintf("d-%s.execute-api.%s.amazonaws.com", r.shortID("regional"), r.m.Region)
		zone, ok := regionalZoneIDs[r.m.Region]
		if !ok {
			zone = "Z" + strings.ToUpper(r.hash("zone", 13))
		}
		conf["hostedZoneId"] = zone
		r.set("domainNameConfiguration", conf)
		r.set("apiMappingSelectionExpression", "$request.basepath")
		r.set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/domainnames/%s", r.m.Region, d))
		r.tagsAll()
		return d
	},
	"aws:apigatewayv2/apiMapping:ApiMapping": func(r *res) string { return r.hash("id", 6) },
	"aws:acm/certificate:Certificate": func(r *res) string {
		d := r.str("domainName")
		arn := r.arn("acm", "certificate/"+r.hash("cert", 8)+"-"+r.hash("cert2", 4)+"-"+r.hash("cert3", 4)+"-"+r.hash("cert4", 4)+"-"+r.hash("cert5", 12))
		r.set("arn", arn)
		r.set("status", "PENDING_VALIDATION")
		r.set("domainValidationOptions", []any{map[string]any{
			"domainName":          d,
			"resourceRecordName":  "_" + r.hash("dv", 32) + "." + d + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + r.hash("dvv", 32) + ".acm-validations.aws.",
		}})
		r.tagsAll()
		return arn
	},
	"aws:acm/certificateValidation:CertificateValidation": func(r *res) string {
		return fixedTime
	},
	"aws:route53/record:Record": func(r *res) string {
		name := strings.TrimSuffix(r.str("name"), ".")
		r.set("fqdn", name)
		return r.str("zoneId") + "_" + name + "_" + r.str("type")
	},
	"aws:cloudwatch/logGroup:LogGroup": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("logs", "log-group:"+name))
		r.tagsAll()
		return name
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("cloudwatch", "alarm:"+name))
		r.tagsAll()
		return name
	},
	"aws:cloudwatch/dashboard:Dashboard": func(r *res) string {
		name := r.physicalName("dashboardName")
		r.set("dashboardArn", r.globalArn("cloudwatch", "dashboard/"+name))
		return name
	},
	"aws:sns/topic:Topic": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("sns", name)
		r.set("arn", arn)
		r.set("owner", r.m.Account)
		r.tagsAll()
		return arn
	},
	"aws:sns/topicSubscription:TopicSubscription": func(r *res) string {
		arn := r.str("topic") + ":" + r.hash("sub", 8) + "-" + r.hash("sub2", 4)
		r.set("arn", arn)
		r.set("ownerId", r.m.Account)
		r.set("pendingConfirmation", true)
		return arn
	},
	"aws:lambda/function:Function": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("lambda", "function:"+name)
		r.set("arn", arn)
		r.set("qualifiedArn", arn+":$LATEST")
		r.set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", r.m.Region, arn))
		r.set("version", "$LATEST")
		r.set("lastModified", fixedTime)
		r.tagsAll()
		return name
	},
	"aws:lambda/permission:Permission": func(r *res) string {
		// The provider names an unnamed statement terraform-<timestamp-ish id>.
		sid := r.str("statementId")
		if sid == "" {
			sid = "terraform-" + r.hash("sid", 26)
			r.set("statementId", sid)
		}
		return sid
	},
	"aws:lambda/eventSourceMapping:EventSourceMapping": func(r *res) string {
		uuid := r.hash("u1", 8) + "-" + r.hash("u2", 4) + "-" + r.hash("u3", 4) + "-" + r.hash("u4", 4) + "-" + r.hash("u5", 12)
		r.set("uuid", uuid)
		r.set("functionArn", r.str("functionName"))
		r.set("arn", r.arn("lambda", "event-source-mapping:"+uuid))
		r.set("state", "Enabled")
		r.tagsAll()
		return uuid
	},
	"aws:kms/key:Key": func(r *res) string {
		// A key id is a UUID; the model derives one from the seed.
		h := r.hash("key", 32)
		id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		r.set("arn", r.arn("kms", "key/"+id))
		r.set("keyId", id)
		r.setDefault("keyUsage", "ENCRYPT_DECRYPT")
		r.setDefault("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
		r.setDefault("isEnabled", true)
		r.setDefault("enableKeyRotation", false)
		r.tagsAll()
		return id
	},
	"aws:kms/alias:Alias": func(r *res) string {
		name := r.str("name")
		r.set("arn", r.arn("kms", name))
		r.set("targetKeyArn", r.arn("kms", "key/"+r.str("targetKeyId")))
		return name
	},
	"aws:ssm/parameter:Parameter": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("ssm", "parameter"+name))
		r.set("version", 1)
		r.set("tier", "Standard")
		r.tagsAll()
		return name
	},
	"aws:dynamodb/table:Table": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("dynamodb", "table/"+name))
		r.tagsAll()
		return name
	},
	// S3: a bucket's id is its name and its ARN has no region or account
	// (arn:aws:s3:::name); each of its configurations is a resource whose
	// id is the bucket's name.
	"aws:s3/bucketV2:BucketV2": func(r *res) string {
		name := r.physicalName("bucket")
		r.set("arn", "arn:aws:s3:::"+name)
		r.set("bucketDomainName", name+".s3.amazonaws.com")
		r.set("bucketRegionalDomainName", name+".s3."+r.m.Region+".amazonaws.com")
		r.set("region", r.m.Region)
		r.setDefault("forceDestroy", false)
		r.tagsAll()
		return name
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": func(r *res) string { return r.str("bucket") },
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": func(r *res) string { return r.str("bucket") },
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": func(r *res) string {
		return r.str("bucket")
	},
	"aws:s3/bucketPolicy:BucketPolicy": func(r *res) string { return r.str("bucket") },
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": func(r *res) string {
		return r.str("bucket")
	},
	// Firehose: the provider's id is the stream's ARN.
	"aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("firehose", "deliverystream/"+name)
		r.set("arn", arn)
		r.set("versionId", "1")
		r.set("destinationId", "destinationId-000000000001")
		r.tagsAll()
		return arn
	},
	// Glue folds database and table names to lower case when it stores
	// them (DatabaseInput, TableInput: "For Hive compatibility, this is
	// folded to lowercase when it is stored"); the provider refuses upper
	// case before it asks (the test-double provider's checkSchema).
	"aws:glue/catalogDatabase:CatalogDatabase": func(r *res) string {
		name := strings.ToLower(r.physicalName("name"))
		r.setDefault("catalogId", r.m.Account)
		r.set("arn", r.arn("glue", "database/"+name))
		r.tagsAll()
		return r.m.Account + ":" + name
	},
	"aws:glue/catalogTable:CatalogTable": func(r *res) string {
		name, db := strings.ToLower(r.physicalName("name")), strings.ToLower(r.str("databaseName"))
		r.setDefault("catalogId", r.m.Account)
		r.set("arn", r.arn("glue", "table/"+db+"/"+name))
		return r.m.Account + ":" + db + ":" + name
	},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": func(r *res) string { return r.str("bucket") },
	// The portal's service (deploy/portal): ECR, ECS on Fargate, an ALB.
	"aws:ecr/repository:Repository": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("ecr", "repository/"+name))
		r.set("registryId", r.m.Account)
		r.set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.m.Account, r.m.Region, name))
		r.setDefault("imageTagMutability", "MUTABLE")
		r.tagsAll()
		return name
	},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": func(r *res) string {
		r.set("registryId", r.m.Account)
		return r.str("repository")
	},
	"aws:ecs/cluster:Cluster": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("ecs", "cluster/"+name)
		r.set("arn", arn)
		r.tagsAll()
		return arn
	},
	"aws:ecs/taskDefinition:TaskDefinition": func(r *res) string {
		family := r.str("family")
		// Each registration is a new revision; the model's is 1.
		r.set("revision", 1)
		r.set("arn", r.arn("ecs", "task-definition/"+family+":1"))
		r.set("arnWithoutRevision", r.arn("ecs", "task-definition/"+family))
		r.tagsAll()
		return family
	},
	"aws:ecs/service:Service": func(r *res) string {
		name := r.physicalName("name")
		cluster := r.str("cluster")
		clusterName := cluster[strings.LastIndex(cluster, "/")+1:]
		arn := r.arn("ecs", "service/"+clusterName+"/"+name)
		r.tagsAll()
		return arn
	},
	"aws:lb/loadBalancer:LoadBalancer": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+r.hash("alb", 16))
		r.set("arn", arn)
		r.set("arnSuffix", "app/"+name+"/"+r.hash("alb", 16))
		r.set("dnsName", fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, r.hash("dns", 9), r.m.Region))
		r.set("zoneId", albZoneIDs[r.m.Region])
		r.setDefault("loadBalancerType", "application")
		r.setDefault("idleTimeout", 60)
		r.tagsAll()
		return arn
	},
	"aws:lb/targetGroup:TargetGroup": func(r *res) string {
		name := r.physicalName("name")
		arn := r.arn("elasticloadbalancing", "targetgroup/"+name+"/"+r.hash("tg", 16))
		r.set("arn", arn)
		r.set("arnSuffix", "targetgroup/"+name+"/"+r.hash("tg", 16))
		r.tagsAll()
		return arn
	},
	"aws:lb/listener:Listener": func(r *res) string {
		lbArn := r.str("loadBalancerArn")
		arn := strings.Replace(lbArn, ":loadbalancer/", ":listener/", 1) + "/" + r.hash("listener", 16)
		r.set("arn", arn)
		r.tagsAll()
		return arn
	},
	"aws:athena/workgroup:Workgroup": func(r *res) string {
		name := r.physicalName("name")
		r.set("arn", r.arn("athena", "workgroup/"+name))
		r.setDefault("state", "ENABLED")
		r.tagsAll()
		return name
	},
}

// TokenGetCallerIdentity is the provider function the program calls to learn
// its account and partition.
const TokenGetCallerIdentity = "aws:index/getCallerIdentity:getCallerIdentity"

// Invoke answers the provider functions the program calls, as AWS would for
// the model's account: getCallerIdentity (the account, and a caller ARN whose
// partition the program reads) and getRegion.
func (m Model) Invoke(token string) (map[string]any, error) {
	switch token {
	case TokenGetCallerIdentity:
		return map[string]any{"accountId": m.Account, "arn": "arn:aws:iam::" + m.Account + ":user/hookline-offline",
			"userId": "AIDAHOOKLINEOFFLINE", "id": m.Account}, nil
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		// The model's token: user AWS, a password that is no secret.
		return map[string]any{"authorizationToken": "QVdTOm9mZmxpbmU=", "userName": "AWS", "password": "offline",
			"proxyEndpoint": "https://" + m.Account + ".dkr.ecr." + m.Region + ".amazonaws.com", "expiresAt": "2026-01-01T12:00:00Z",
			"id": m.Region, "registryId": m.Account}, nil
	case "aws:index/getRegion:getRegion":
		return map[string]any{"name": m.Region, "region": m.Region, "id": m.Region}, nil
	}
	return nil, fmt.Errorf("offline model: invoke %s is not modelled", token)
}
