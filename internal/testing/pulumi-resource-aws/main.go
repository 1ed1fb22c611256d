// Command pulumi-resource-aws is a TEST DOUBLE of the AWS resource provider,
// for hookline's engine tests only; it is never shipped. The Pulumi engine
// prefers a plugin found on PATH, so the tests put this binary first there.
//
// It accepts every resource type the offline model knows, answers with the
// inputs plus the model's deterministic computed attributes (the same code
// the Pulumi mocks use), supports preview (computed attributes unknown),
// create, update, diff, read and delete, and appends every call it receives
// to the file named by HOOKLINE_FAKE_AWS_LOG, one JSON object per line, so
// tests can assert on what the engine sent. HOOKLINE_FAKE_AWS_HOLD (see
// hold) pauses the creates of one type until a file exists.
//
// It proves that the engine accepts the program, the config and the policy
// pack, and that updates, replacements and deletes flow as planned. No AWS
// API is involved, but it refuses, with AWS's error text, the inputs AWS is
// documented to refuse that this project has met (refuse.go): IAM policy
// grammar, FIFO queue names and DLQ types, name lengths, event source
// mappings against the queue's visibility timeout, access logs in an
// account whose API Gateway settings name no CloudWatch role, bucket names
// S3 refuses, Firehose buffering and prefixes CreateDeliveryStream refuses,
// and upper-case Glue names.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hookline/hookline/plan/awsmodel"
)

// Version is the plugin version it reports (pulumi-aws's, as the program asks).
const Version = "6.83.4"

// replaceOn lists, per type, the inputs whose change replaces the resource
// (the real provider's ForceNew), so replacements show up as they would.
var replaceOn = map[string][]string{
	"aws:apigateway/deployment:Deployment": {"triggers", "restApi"},
	"aws:sqs/queue:Queue":                  {"name", "fifoQueue"},
	"aws:lambda/function:Function":         {"name"},
	"aws:iam/role:Role":                    {"name"},
	"aws:cloudwatch/logGroup:LogGroup":     {"name"},
	"aws:dynamodb/table:Table":             {"name", "hashKey"},
	"aws:apigateway/resource:Resource":     {"pathPart", "parentId", "restApi"},
	"aws:apigateway/domainName:DomainName": {"domainName"},
	"aws:acm/certificate:Certificate":      {"domainName"},
	"aws:ssm/parameter:Parameter":          {"name"},
	// The HTTP API's (apigatewayv2): what the provider marks ForceNew.
	"aws:apigatewayv2/api:Api":                 {"protocolType"},
	"aws:apigatewayv2/deployment:Deployment":   {"apiId", "triggers"},
	"aws:apigatewayv2/stage:Stage":             {"apiId", "name"},
	"aws:apigatewayv2/route:Route":             {"apiId"},
	"aws:apigatewayv2/integration:Integration": {"apiId", "integrationType"},
	"aws:apigatewayv2/authorizer:Authorizer":   {"apiId"},
	"aws:apigatewayv2/domainName:DomainName":   {"domainName"},
	"aws:apigatewayv2/apiMapping:ApiMapping":   {"apiId", "domainName"},
	// The archive's.
	"aws:s3/bucketV2:BucketV2":                                  {"bucket"},
	"aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": {"name", "destination"},
	"aws:glue/catalogDatabase:CatalogDatabase":                  {"name", "catalogId"},
	"aws:glue/catalogTable:CatalogTable":                        {"name", "databaseName", "catalogId"},
	"aws:athena/workgroup:Workgroup":                            {"name"},
}

// hold makes a create of the type HOOKLINE_FAKE_AWS_HOLD_TYPE wait until
// the file HOOKLINE_FAKE_AWS_HOLD exists (or the engine gives up), so a
// test can look at an update while it runs, as a slow AWS create would let
// it, without guessing at timings.
func hold(ctx context.Context, typ string) {
	file := os.Getenv("HOOKLINE_FAKE_AWS_HOLD")
	if file == "" || typ != os.Getenv("HOOKLINE_FAKE_AWS_HOLD_TYPE") {
		return
	}
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type fakeAWS struct {
	pulumirpc.UnimplementedResourceProviderServer
	mu      sync.Mutex
	model   awsmodel.Model
	log     *os.File
	account *account
}

// main serves the provider protocol the way every plugin does: listen on a
// free port, print it, serve until the engine hangs up.
func main() {
	p := &fakeAWS{model: awsmodel.New("us-east-1"), account: loadAccount()}
	if path := os.Getenv("HOOKLINE_FAKE_AWS_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		p.log = f
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Call is one recorded call.
type Call struct {
	Method  string   `json:"method"`
	URN     string   `json:"urn,omitempty"`
	Type    string   `json:"type,omitempty"`
	ID      string   `json:"id,omitempty"`
	Preview bool     `json:"preview,omitempty"`
	Changes []string `json:"changes,omitempty"`
	Replace []string `json:"replace,omitempty"`
}

func (p *fakeAWS) record(c Call) {
	if p.log == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(c)
	_, _ = p.log.Write(append(b, '\n'))
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, opts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

func (p *fakeAWS) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *fakeAWS) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *fakeAWS) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *fakeAWS) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *fakeAWS) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	region := req.GetVariables()["aws:config:region"]
	if args := req.GetArgs(); args != nil {
		if v, ok := args.GetFields()["region"]; ok && v.GetStringValue() != "" {
			region = v.GetStringValue()
		}
	}
	if region != "" {
		p.model = awsmodel.New(region)
	}
	p.record(Call{Method: "Configure", ID: region})
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *fakeAWS) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	typ := string(resource.URN(req.GetUrn()).Type())
	if _, _, err := p.model.Compute(typ, "check", req.GetUrn(), news); err != nil {
		return &pulumirpc.CheckResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	if err := checkSchema(typ, news.Mappable()); err != nil {
		return &pulumirpc.CheckResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *fakeAWS) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	typ := string(resource.URN(req.GetUrn()).Type())
	var changes, replaces []string
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for k := range keys {
		if k == "__defaults" {
			continue
		}
		o, n := olds[k], news[k]
		if n.ContainsUnknowns() || !o.DeepEquals(n) {
			changes = append(changes, string(k))
			for _, r := range replaceOn[typ] {
				if r == string(k) {
					replaces = append(replaces, r)
				}
			}
		}
	}
	sort.Strings(changes)
	sort.Strings(replaces)
	p.record(Call{Method: "Diff", URN: req.GetUrn(), Type: typ, ID: req.GetId(), Changes: changes, Replace: replaces})
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, Diffs: changes, Replaces: replaces,
		DeleteBeforeReplace: false}
	if len(changes) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// state computes the outputs of a resource; in preview the computed
// attributes (everything the inputs did not set) are unknown.
func (p *fakeAWS) state(urn string, inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	u := resource.URN(urn)
	// A new physical resource gets new ids, as in AWS: a replacement must
	// not reuse its predecessor's id. Equal inputs still give equal ids.
	seed := urn + "@" + fmt.Sprint(inputs.Mappable())
	id, st, err := p.model.Compute(string(u.Type()), u.Name(), seed, inputs)
	if err != nil {
		return "", nil, err
	}
	if preview {
		for k := range st {
			if _, ok := inputs[k]; !ok {
				st[k] = resource.MakeComputed(resource.NewStringProperty(""))
			}
		}
		id = ""
	}
	return id, st, nil
}

func (p *fakeAWS) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	typ := string(resource.URN(req.GetUrn()).Type())
	if !req.GetPreview() {
		hold(ctx, typ)
		if err := p.account.refuse(typ, inputs.Mappable(), true); err != nil {
			p.record(Call{Method: "Refuse", URN: req.GetUrn(), Type: typ})
			return nil, fmt.Errorf("creating %s: %w", typ, err)
		}
	}
	id, st, err := p.state(req.GetUrn(), inputs, req.GetPreview())
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() {
		p.account.remember(typ, st)
	}
	p.record(Call{Method: "Create", URN: req.GetUrn(), Type: typ, ID: id, Preview: req.GetPreview()})
	props, err := marshal(st)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Update keeps the computed attributes of the existing resource (its id,
// ARN, URLs) and takes the new inputs.
func (p *fakeAWS) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	inputs, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	typ := string(resource.URN(req.GetUrn()).Type())
	if !req.GetPreview() {
		if err := p.account.refuse(typ, inputs.Mappable(), false); err != nil {
			p.record(Call{Method: "Refuse", URN: req.GetUrn(), Type: typ})
			return nil, fmt.Errorf("updating %s: %w", typ, err)
		}
	}
	st := inputs.Copy()
	for k, v := range olds {
		if _, isInput := oldInputs[k]; !isInput {
			if _, set := st[k]; !set {
				st[k] = v
			}
		}
	}
	if !req.GetPreview() {
		p.account.remember(typ, st)
	}
	p.record(Call{Method: "Update", URN: req.GetUrn(), Type: typ, ID: req.GetId(), Preview: req.GetPreview()})
	props, err := marshal(st)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *fakeAWS) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	p.record(Call{Method: "Read", URN: req.GetUrn(), ID: req.GetId()})
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *fakeAWS) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	p.record(Call{Method: "Delete", URN: req.GetUrn(), Type: string(resource.URN(req.GetUrn()).Type()), ID: req.GetId()})
	return &emptypb.Empty{}, nil
}

func (p *fakeAWS) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	p.record(Call{Method: "Invoke", Type: req.GetTok()})
	ret, err := p.model.Invoke(req.GetTok())
	if err != nil {
		return nil, fmt.Errorf("test-double aws provider: %w", err)
	}
	out, err := structpb.NewStruct(ret)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

func (p *fakeAWS) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
