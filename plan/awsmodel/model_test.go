package awsmodel_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/hookline/hookline/plan/awsmodel"
)

func TestQueueAttributes(t *testing.T) {
	m := awsmodel.New("eu-west-1")
	cases := []struct {
		name     string
		inputs   resource.PropertyMap
		wantName string
	}{
		{"explicit name", resource.NewPropertyMapFromMap(map[string]any{"name": "q.fifo", "fifoQueue": true}), "q.fifo"},
		{"fifo autoname", resource.NewPropertyMapFromMap(map[string]any{"fifoQueue": true}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, st, err := m.Compute("aws:sqs/queue:Queue", "jobs", "urn:a", tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			name := st["name"].StringValue()
			if tc.wantName != "" && name != tc.wantName {
				t.Errorf("name %q", name)
			}
			if !strings.HasSuffix(name, ".fifo") {
				t.Errorf("FIFO queue name %q lacks .fifo", name)
			}
			if st["arn"].StringValue() != "arn:aws:sqs:eu-west-1:123456789012:"+name {
				t.Errorf("arn %v", st["arn"])
			}
			if id != "https://sqs.eu-west-1.amazonaws.com/123456789012/"+name || st["url"].StringValue() != id {
				t.Errorf("id %q url %v", id, st["url"])
			}
		})
	}
}

func TestDeterministicAndDistinct(t *testing.T) {
	m := awsmodel.New("us-east-1")
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "api"})
	id1, st1, _ := m.Compute("aws:apigateway/restApi:RestApi", "api", "urn:1", in)
	id2, st2, _ := m.Compute("aws:apigateway/restApi:RestApi", "api", "urn:1", in)
	id3, _, _ := m.Compute("aws:apigateway/restApi:RestApi", "api", "urn:2", in)
	if id1 != id2 || !st1.DeepEquals(st2) {
		t.Error("the same resource gets different attributes")
	}
	if id1 == id3 {
		t.Error("different resources get the same id")
	}
	if len(id1) != 10 || st1["rootResourceId"].StringValue() == "" {
		t.Errorf("rest api id %q", id1)
	}
	if st1["executionArn"].StringValue() != "arn:aws:execute-api:us-east-1:123456789012:"+id1 {
		t.Errorf("executionArn %v", st1["executionArn"])
	}
}

func TestComputedAttributes(t *testing.T) {
	m := awsmodel.New("us-east-1")
	cases := []struct {
		typ    string
		inputs map[string]any
		check  func(t *testing.T, id string, st resource.PropertyMap)
	}{
		{"aws:apigateway/apiKey:ApiKey", map[string]any{"name": "k"}, func(t *testing.T, _ string, st resource.PropertyMap) {
			if !st["value"].IsSecret() {
				t.Error("an API key value must be secret")
			}
		}},
		{"aws:apigateway/domainName:DomainName", map[string]any{"domainName": "hooks.example.com"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if id != "hooks.example.com" || st["regionalZoneId"].StringValue() != "Z1UJRXOUMOOFQ8" ||
				!strings.HasSuffix(st["regionalDomainName"].StringValue(), ".execute-api.us-east-1.amazonaws.com") {
				t.Errorf("%s %v", id, st)
			}
		}},
		{"aws:acm/certificate:Certificate", map[string]any{"domainName": "hooks.example.com"}, func(t *testing.T, _ string, st resource.PropertyMap) {
			opt := st["domainValidationOptions"].ArrayValue()[0].ObjectValue()
			if opt["resourceRecordType"].StringValue() != "CNAME" || !strings.HasSuffix(opt["resourceRecordName"].StringValue(), ".hooks.example.com.") {
				t.Errorf("%v", opt)
			}
		}},
		{"aws:apigateway/stage:Stage", map[string]any{"restApi": "abc", "stageName": "v1"}, func(t *testing.T, _ string, st resource.PropertyMap) {
			if st["invokeUrl"].StringValue() != "https://abc.execute-api.us-east-1.amazonaws.com/v1" {
				t.Errorf("%v", st["invokeUrl"])
			}
		}},
		{"aws:lambda/function:Function", map[string]any{"name": "f"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if id != "f" || st["arn"].StringValue() != "arn:aws:lambda:us-east-1:123456789012:function:f" {
				t.Errorf("%s %v", id, st["arn"])
			}
		}},
		{"aws:lambda/permission:Permission", map[string]any{"action": "lambda:InvokeFunction"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if !strings.HasPrefix(id, "terraform-") || st["statementId"].StringValue() != id {
				t.Errorf("an unnamed permission: id %q, statementId %v", id, st["statementId"])
			}
		}},
		{"aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "hookline-dev-archive-123456789012-us-east-1"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if id != "hookline-dev-archive-123456789012-us-east-1" || st["arn"].StringValue() != "arn:aws:s3:::"+id ||
				st["bucketRegionalDomainName"].StringValue() != id+".s3.us-east-1.amazonaws.com" {
				t.Errorf("bucket %s %v", id, st["arn"])
			}
		}},
		{"aws:s3/bucketPolicy:BucketPolicy", map[string]any{"bucket": "b", "policy": "{}"}, func(t *testing.T, id string, _ resource.PropertyMap) {
			if id != "b" {
				t.Errorf("a bucket configuration's id is its bucket: %q", id)
			}
		}},
		{"aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", map[string]any{"name": "hookline-dev-github-archive"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if want := "arn:aws:firehose:us-east-1:123456789012:deliverystream/hookline-dev-github-archive"; id != want || st["arn"].StringValue() != want {
				t.Errorf("stream id %q arn %v", id, st["arn"])
			}
		}},
		{"aws:glue/catalogTable:CatalogTable", map[string]any{"name": "Deliveries", "databaseName": "hookline_dev_archive"}, func(t *testing.T, id string, st resource.PropertyMap) {
			// Glue folds the names it stores to lower case.
			if id != "123456789012:hookline_dev_archive:deliveries" || st["arn"].StringValue() != "arn:aws:glue:us-east-1:123456789012:table/hookline_dev_archive/deliveries" {
				t.Errorf("table id %q arn %v", id, st["arn"])
			}
		}},
		{"aws:athena/workgroup:Workgroup", map[string]any{"name": "hookline-dev-archive"}, func(t *testing.T, id string, st resource.PropertyMap) {
			if id != "hookline-dev-archive" || st["arn"].StringValue() != "arn:aws:athena:us-east-1:123456789012:workgroup/hookline-dev-archive" {
				t.Errorf("workgroup id %q arn %v", id, st["arn"])
			}
		}},
		{"aws:iam/role:Role", map[string]any{}, func(t *testing.T, id string, st resource.PropertyMap) {
			if !strings.HasPrefix(id, "r-") || st["arn"].StringValue() != "arn:aws:iam::123456789012:role/"+id {
				t.Errorf("autonamed role %s %v", id, st["arn"])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			id, st, err := m.Compute(tc.typ, "r", "urn:"+tc.typ, resource.NewPropertyMapFromMap(tc.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if st["id"].StringValue() != id {
				t.Error("state lacks the id")
			}
			tc.check(t, id, st)
		})
	}
}

func TestUnknownTypeIsAnError(t *testing.T) {
	_, _, err := awsmodel.New("us-east-1").Compute("aws:ec2/instance:Instance", "i", "urn:i", resource.PropertyMap{})
	if err == nil || !strings.Contains(err.Error(), "not modelled") {
		t.Errorf("got %v", err)
	}
}

func TestInputsAreKept(t *testing.T) {
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "g", "retentionInDays": 7})
	_, st, err := awsmodel.New("us-east-1").Compute("aws:cloudwatch/logGroup:LogGroup", "g", "urn:g", in)
	if err != nil {
		t.Fatal(err)
	}
	if st["retentionInDays"].NumberValue() != 7 || st["name"].StringValue() != "g" {
		t.Errorf("inputs lost: %v", st)
	}
}
