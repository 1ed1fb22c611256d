package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/hookline/hookline/contract"
)

// The refusals below are what AWS (or pulumi-aws v6's own validation) answers
// for inputs this project has met, each with AWS's error text, so that an
// engine test's `pulumi up` fails where a real one would. They are checked at
// create and update (the API calls), except the provider's schema limits,
// which it checks at preview too.

// account is what the fake AWS account holds that a later call depends on:
// the queues' visibility timeouts and the functions' timeouts (an event
// source mapping is refused against them), and the region's API Gateway
// CloudWatch role. It is kept in HOOKLINE_FAKE_AWS_STATE when set, so
// successive engine runs (each starts the provider anew) see one account.
type account struct {
	mu   sync.Mutex
	path string
	// Queues maps a queue ARN to its visibility timeout (seconds).
	Queues map[string]int `json:"queues"`
	// Functions maps a function name and ARN to its timeout (seconds).
	Functions map[string]int `json:"functions"`
	// APIGatewayCloudWatchRole is the role in API Gateway's account settings.
	APIGatewayCloudWatchRole string `json:"apiGatewayCloudWatchRole"`
}

// loadAccount reads the account state; HOOKLINE_FAKE_AWS_APIGW_ROLE presets
// the API Gateway CloudWatch role (an account where someone set it).
func loadAccount() *account {
	a := &account{path: os.Getenv("HOOKLINE_FAKE_AWS_STATE"), Queues: map[string]int{}, Functions: map[string]int{}}
	if a.path != "" {
		if b, err := os.ReadFile(a.path); err == nil {
			_ = json.Unmarshal(b, a)
		}
	}
	if role := os.Getenv("HOOKLINE_FAKE_AWS_APIGW_ROLE"); role != "" && a.APIGatewayCloudWatchRole == "" {
		a.APIGatewayCloudWatchRole = role
	}
	return a
}

func (a *account) save() {
	if a.path == "" {
		return
	}
	b, _ := json.Marshal(a)
	_ = os.WriteFile(a.path, b, 0o644)
}

// remember records what a created or updated resource leaves in the account.
func (a *account) remember(typ string, st resource.PropertyMap) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := st.Mappable()
	switch typ {
	case "aws:sqs/queue:Queue":
		a.Queues[str(v["arn"])] = intOr(v["visibilityTimeoutSeconds"], 30)
	case "aws:lambda/function:Function":
		t := intOr(v["timeout"], 3)
		a.Functions[str(v["name"])], a.Functions[str(v["arn"])] = t, t
	case "aws:apigateway/account:Account":
		if role := str(v["cloudwatchRoleArn"]); role != "" {
			a.APIGatewayCloudWatchRole = role
		}
	default:
		return
	}
	a.save()
}

// checkSchema is pulumi-aws v6's own validation of inputs (at preview too).
func checkSchema(typ string, in map[string]any) error {
	switch typ {
	case "aws:sqs/queue:Queue":
		if n := intOr(in["maxMessageSize"], contract.MaxMessageBytes); n < 1024 || n > contract.MaxMessageBytes {
			return fmt.Errorf("expected max_message_size to be in the range (1024 - %d), got %d", contract.MaxMessageBytes, n)
		}
	case "aws:lb/targetGroup:TargetGroup", "aws:lb/loadBalancer:LoadBalancer":
		// CreateTargetGroup/CreateLoadBalancer Name: "can have a maximum
		// of 32 characters, must contain only alphanumeric characters or
		// hyphens, and must not begin or end with a hyphen"; the provider
		// (validLBTargetGroupName, validName) checks it before it asks.
		if name := str(in["name"]); len(name) > 32 {
			return fmt.Errorf("%q cannot be longer than 32 characters: %q", "name", name)
		} else if name != "" && !elbNameRE.MatchString(name) {
			return fmt.Errorf("only alphanumeric characters and hyphens allowed in %q: %q", "name", name)
		}
	case "aws:glue/catalogDatabase:CatalogDatabase", "aws:glue/catalogTable:CatalogTable":
		// Glue folds the names it stores to lower case ("For Hive
		// compatibility, this is folded to lowercase when it is stored",
		// DatabaseInput and TableInput), so the provider (terraform-provider-aws's
		// aws_glue_catalog_database and aws_glue_catalog_table, name:
		// StringDoesNotMatch `[A-Z]`) refuses upper case before it asks.
		if name := str(in["name"]); strings.ToLower(name) != name {
			return fmt.Errorf("invalid value for name (uppercase characters cannot be used)")
		}
	}
	return nil
}

// validBucketName is S3's naming rules for general purpose buckets (Amazon
// S3 User Guide, "General purpose bucket naming rules"): 3 to 63
// characters of lower-case letters, digits, '.' and '-', beginning and
// ending with a letter or digit, no two adjacent periods, not an IP
// address, none of the reserved prefixes (xn--, sthree-, amzn-s3-demo-) or
// suffixes (-s3alias, --ol-s3, .mrap, --x-s3).
func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 || strings.Contains(n, "..") || net.ParseIP(n) != nil {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	for i := 0; i < len(n); i++ {
		if c := n[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	if !alnum(n[0]) || !alnum(n[len(n)-1]) {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(n, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(n, sfx) {
			return false
		}
	}
	return true
}

// firehoseNameRE is a stream name as CreateDeliveryStream takes it
// (DeliveryStreamName: 1-64 characters of [a-zA-Z0-9_.-]).
var firehoseNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// refuseFirehose is what CreateDeliveryStream refuses of an extended_s3
// stream: a name outside its pattern, buffering hints outside their ranges
// (BufferingHints: IntervalInSeconds 0-900, SizeInMBs 1-128; the provider's
// defaults are 300 and 5), and the prefix rules of "Custom prefixes for
// Amazon S3 objects": ErrorOutputPrefix can't be null when Prefix contains
// expressions, an ErrorOutputPrefix with expressions must include
// !{firehose:error-output-type}, and Prefix can't contain it.
func refuseFirehose(in map[string]any) error {
	if name := str(in["name"]); !firehoseNameRE.MatchString(name) {
		return fmt.Errorf("ValidationException: 1 validation error detected: Value '%s' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length less than or equal to 64", name)
	}
	x, ok := in["extendedS3Configuration"].(map[string]any)
	if !ok {
		return nil
	}
	const hints = "extendedS3DestinationConfiguration.bufferingHints"
	switch n := intOr(x["bufferingInterval"], 300); {
	case n < 0:
		return fmt.Errorf("ValidationException: 1 validation error detected: Value '%d' at '%s.intervalInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 0", n, hints)
	case n > 900:
		return fmt.Errorf("ValidationException: 1 validation error detected: Value '%d' at '%s.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900", n, hints)
	}
	switch n := intOr(x["bufferingSize"], 5); {
	case n < 1:
		return fmt.Errorf("ValidationException: 1 validation error detected: Value '%d' at '%s.sizeInMBs' failed to satisfy constraint: Member must have value greater than or equal to 1", n, hints)
	case n > 128:
		return fmt.Errorf("ValidationException: 1 validation error detected: Value '%d' at '%s.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128", n, hints)
	}
	prefix, errPrefix := str(x["prefix"]), str(x["errorOutputPrefix"])
	const errType = "!{firehose:error-output-type}"
	switch {
	case strings.Contains(prefix, "!{") && errPrefix == "":
		return fmt.Errorf("InvalidArgumentException: ErrorOutputPrefix can't be null when Prefix contains expressions")
	case strings.Contains(prefix, errType):
		return fmt.Errorf("InvalidArgumentException: Prefix can't contain %s", errType)
	case strings.Contains(errPrefix, "!{") && !strings.Contains(errPrefix, errType):
		return fmt.Errorf("InvalidArgumentException: ErrorOutputPrefix with expressions must include at least one instance of %s", errType)
	}
	return nil
}

// refuse returns the error AWS answers when asked to create (or update)
// a resource of type typ with inputs in, or nil.
func (a *account) refuse(typ string, in map[string]any, create bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch typ {
	case "aws:iam/role:Role":
		name := str(in["name"])
		if len(name) > 64 {
			return fmt.Errorf("ValidationError: 1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64", name)
		}
		for _, st := range statements(in["assumeRolePolicy"]) {
			for _, f := range []string{"Resource", "NotResource"} {
				if _, has := st[f]; has {
					return fmt.Errorf("MalformedPolicyDocument: Has prohibited field %s", f)
				}
			}
		}
	case "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy":
		for _, st := range statements(in["policy"]) {
			_, notResource := st["NotResource"]
			if st["Resource"] == nil && !notResource {
				return fmt.Errorf("MalformedPolicyDocument: Policy statement must contain resources.")
			}
		}
	case "aws:sqs/queue:Queue":
		name, fifo := str(in["name"]), in["fifoQueue"] == true
		switch {
		case fifo && !strings.HasSuffix(name, ".fifo"), len(name) > 80 && fifo:
			return fmt.Errorf("InvalidParameterValue: The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		case len(name) > 80, !fifo && strings.HasSuffix(name, ".fifo"):
			return fmt.Errorf("InvalidParameterValue: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
		}
		if rp := str(in["redrivePolicy"]); rp != "" {
			var p struct{ DeadLetterTargetArn string }
			if err := json.Unmarshal([]byte(rp), &p); err == nil && strings.HasSuffix(p.DeadLetterTargetArn, ".fifo") != fifo {
				return fmt.Errorf("InvalidParameterValue: Value %s for parameter RedrivePolicy is invalid. Reason: The dead-letter queue of a FIFO queue must also be a FIFO queue; the dead-letter queue of a standard queue must also be a standard queue.", rp)
			}
		}
	case "aws:lambda/function:Function":
		if name := str(in["name"]); len(name) > 64 {
			return fmt.Errorf("ValidationException: 1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64", name)
		}
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		src := str(in["eventSourceArn"])
		if strings.HasSuffix(src, ".fifo") && intOr(in["batchSize"], 10) > 10 {
			return fmt.Errorf("InvalidParameterValueException: Maximum batch size must be between 1 and 10 inclusive")
		}
		vis, qok := a.Queues[src]
		timeout, fok := a.Functions[str(in["functionName"])]
		if create && qok && fok && vis < timeout {
			return fmt.Errorf("InvalidParameterValueException: Queue visibility timeout: %d seconds is less than Function timeout: %d seconds", vis, timeout)
		}
	case "aws:s3/bucketV2:BucketV2":
		if name := str(in["bucket"]); name != "" && !validBucketName(name) {
			return fmt.Errorf("InvalidBucketName: The specified bucket is not valid.")
		}
	case "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
		return refuseFirehose(in)
	case "aws:ecs/taskDefinition:TaskDefinition":
		return refuseTaskDefinition(in)
	case "aws:ecs/service:Service":
		if str(in["launchType"]) == "FARGATE" && in["networkConfiguration"] == nil {
			return fmt.Errorf("InvalidParameterException: Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
	case "aws:ecr/repository:Repository":
		if name := str(in["name"]); len(name) < 2 || len(name) > 256 || !ecrNameRE.MatchString(name) {
			return fmt.Errorf("InvalidParameterException: Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '%s''", ecrNamePattern)
		}
	case "aws:lb/listener:Listener":
		if str(in["protocol"]) == "HTTPS" && str(in["certificateArn"]) == "" {
			return fmt.Errorf("ValidationError: A certificate must be specified for HTTPS listeners")
		}
	case "aws:dynamodb/table:Table":
		defined := map[string]bool{}
		if attrs, ok := in["attributes"].([]any); ok {
			for _, a := range attrs {
				if m, ok := a.(map[string]any); ok {
					defined[str(m["name"])] = true
				}
			}
		}
		for _, k := range []string{str(in["hashKey"]), str(in["rangeKey"])} {
			if k != "" && !defined[k] {
				return fmt.Errorf("ValidationException: One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s]", k)
			}
		}
	case "aws:apigateway/stage:Stage":
		if ls, ok := in["accessLogSettings"].(map[string]any); ok && str(ls["destinationArn"]) != "" && a.APIGatewayCloudWatchRole == "" {
			return fmt.Errorf("BadRequestException: CloudWatch Logs role ARN must be set in account settings to enable logging")
		}
	}
	return nil
}

// elbNameRE is a load balancer's or target group's name.
var elbNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)

// ecrNamePattern is CreateRepository's repositoryName pattern (2-256).
const ecrNamePattern = `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`

var ecrNameRE = regexp.MustCompile(`^` + ecrNamePattern + `$`)

// fargateMemory is Fargate's task sizes (Amazon ECS Developer Guide,
// "Task CPU and memory"): for each CPU value, the memory (MiB) range and step.
var fargateMemory = map[int][3]int{
	256: {512, 2048, 512}, 512: {1024, 4096, 1024}, 1024: {2048, 8192, 1024}, 2048: {4096, 16384, 1024},
	4096: {8192, 30720, 1024}, 8192: {16384, 61440, 4096}, 16384: {32768, 122880, 8192},
}

// refuseTaskDefinition is what RegisterTaskDefinition refuses of a
// Fargate task: a network mode other than awsvpc, and a CPU/memory pair
// that is not a Fargate size (256 CPU takes 512, 1024 or 2048 MiB).
func refuseTaskDefinition(in map[string]any) error {
	fargate := false
	if rc, ok := in["requiresCompatibilities"].([]any); ok {
		for _, c := range rc {
			fargate = fargate || c == "FARGATE"
		}
	}
	if !fargate {
		return nil
	}
	if str(in["networkMode"]) != "awsvpc" {
		return fmt.Errorf("ClientException: Fargate only supports network mode 'awsvpc'.")
	}
	cpu, _ := strconv.Atoi(str(in["cpu"]))
	mem, _ := strconv.Atoi(str(in["memory"]))
	r, ok := fargateMemory[cpu]
	if !ok || mem < r[0] || mem > r[1] || (mem-r[0])%r[2] != 0 || (cpu == 256 && mem == 1536) {
		return fmt.Errorf("ClientException: No Fargate configuration exists for given values: %s CPU, %s memory. See the Amazon ECS documentation for the valid values.", str(in["cpu"]), str(in["memory"]))
	}
	return nil
}

// statements parses an IAM policy document's statements.
func statements(doc any) []map[string]any {
	var p struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(str(doc)), &p); err != nil {
		return nil
	}
	return p.Statement
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func intOr(v any, def int) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return def
}
