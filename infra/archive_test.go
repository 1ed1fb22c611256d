package infra_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

// The archive's resource types.
const (
	typeBucket     = "aws:s3/bucketV2:BucketV2"
	typePAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeOwnership  = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	typeEncryption = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	typeBucketPol  = "aws:s3/bucketPolicy:BucketPolicy"
	typeLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeStream     = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
	typeDatabase   = "aws:glue/catalogDatabase:CatalogDatabase"
	typeTable      = "aws:glue/catalogTable:CatalogTable"
	typeWorkgroup  = "aws:athena/workgroup:Workgroup"
)

var archiveTypes = []string{typeBucket, typePAB, typeOwnership, typeEncryption, typeBucketPol, typeLifecycle, typeStream, typeDatabase, typeTable, typeWorkgroup}

// policyDoc is an IAM policy document as the tests read it.
type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    []string
		Resource  any
		Condition map[string]map[string]any
	}
}

func parsePolicy(t *testing.T, doc any) policyDoc {
	t.Helper()
	var p policyDoc
	if err := json.Unmarshal([]byte(fmt.Sprint(doc)), &p); err != nil {
		t.Fatalf("policy %v: %v", doc, err)
	}
	return p
}

// resources lists a statement's Resource (a string or a list).
func resources(r any) []string {
	switch v := r.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// byBucket is the resource of typ whose bucket input is bucket.
func byBucket(t *testing.T, res *plan.Result, typ, bucket string) plan.Resource {
	t.Helper()
	for _, r := range res.Find(typ) {
		if r.Inputs["bucket"] == bucket {
			return r
		}
	}
	t.Fatalf("no %s of bucket %s", typ, bucket)
	return plan.Resource{}
}

// checkProtectedBucket: a bucket with public access blocked (all four),
// ACLs disabled, SSE-KMS with a Bucket Key by default, a TLS-only policy,
// and a lifecycle that expires everything after days and removes
// unfinished uploads.
func checkProtectedBucket(t *testing.T, res *plan.Result, bucket string, days int) {
	t.Helper()
	found := false
	for _, r := range res.Find(typeBucket) {
		if r.Inputs["bucket"] == bucket {
			found = true
			if r.Inputs["forceDestroy"] == nil {
				t.Errorf("%s: forceDestroy is not set explicitly", bucket)
			}
		}
	}
	if !found {
		t.Fatalf("no bucket %s", bucket)
	}
	pab := byBucket(t, res, typePAB, bucket)
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab.Inputs[k] != true {
			t.Errorf("%s: public access block %s = %v", bucket, k, pab.Inputs[k])
		}
	}
	if o := byBucket(t, res, typeOwnership, bucket); path(o.Inputs, "rule.objectOwnership") != "BucketOwnerEnforced" {
		t.Errorf("%s: ownership %v", bucket, o.Inputs)
	}
	enc := byBucket(t, res, typeEncryption, bucket)
	rules, _ := enc.Inputs["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("%s: encryption rules %v", bucket, enc.Inputs["rules"])
	}
	rule := rules[0].(map[string]any)
	if path(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" || rule["bucketKeyEnabled"] != true ||
		!strings.Contains(fmt.Sprint(path(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")), ":key/") {
		t.Errorf("%s: encryption %v", bucket, rule)
	}
	pol := parsePolicy(t, byBucket(t, res, typeBucketPol, bucket).Inputs["policy"])
	arn := "arn:aws:s3:::" + bucket
	if len(pol.Statement) != 1 || pol.Statement[0].Effect != "Deny" || pol.Statement[0].Principal != "*" ||
		!slices.Equal(resources(pol.Statement[0].Resource), []string{arn, arn + "/*"}) ||
		pol.Statement[0].Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("%s: bucket policy %+v", bucket, pol)
	}
	lc := byBucket(t, res, typeLifecycle, bucket)
	lrules, _ := lc.Inputs["rules"].([]any)
	if len(lrules) != 1 {
		t.Fatalf("%s: lifecycle %v", bucket, lc.Inputs["rules"])
	}
	lr := lrules[0].(map[string]any)
	if lr["status"] != "Enabled" || num(path(lr, "expiration.days")) != days || num(path(lr, "abortIncompleteMultipartUpload.daysAfterInitiation")) != 1 {
		t.Errorf("%s: lifecycle rule %v, want expiry after %d days", bucket, lr, days)
	}
	if f, _ := lr["filter"].(map[string]any); len(f) != 0 {
		t.Errorf("%s: the lifecycle filter %v does not cover every object", bucket, f)
	}
}

// TestArchiveUnderMocks: dev (30 days, the default) and prod (90) hold the
// archive: a rotated KMS key under its alias; the archive bucket and the
// query results bucket, each protected; the Glue table over the bucket,
// its columns the JSON fields of contract.ArchiveEntry, partitions
// projected; the Athena workgroup; and per source a Firehose stream with
// the contract's prefixes and buffering, a role Firehose may assume for
// this account only that writes the source's prefixes alone, and the
// consumer's environment and policy naming its own stream.
func TestArchiveUnderMocks(t *testing.T) {
	for _, tc := range []struct {
		stack string
		days  int
	}{{"dev", 30}, {"prod", 90}} {
		t.Run(tc.stack, func(t *testing.T) {
			res := runPlan(t, "..", tc.stack)
			c := res.Config
			if c.Archive.RetentionDays != tc.days {
				t.Fatalf("retention %d days, want %d", c.Archive.RetentionDays, tc.days)
			}
			account := awsmodel.DefaultAccount
			bucket, results := c.ArchiveBucket(account), c.ArchiveResultsBucket(account)

			var key plan.Resource
			for _, k := range res.Find("aws:kms/key:Key") {
				if k.Name == "hookline-archive-key" {
					key = k
				}
			}
			if key.Inputs["enableKeyRotation"] != true || key.Inputs["customerMasterKeySpec"] != nil {
				t.Errorf("archive key: %v", key.Inputs)
			}
			findNamed(t, res, "aws:kms/alias:Alias", c.ArchiveKeyAlias())

			checkProtectedBucket(t, res, bucket, tc.days)
			checkProtectedBucket(t, res, results, infra.ArchiveResultsRetentionDays)
			if n := len(res.Find(typeBucket)); n != 2 {
				t.Errorf("%d buckets, want the archive's and the results'", n)
			}

			findNamed(t, res, typeDatabase, c.ArchiveDatabase())
			table := findNamed(t, res, typeTable, stackconfig.ArchiveTable)
			if table.Inputs["databaseName"] != c.ArchiveDatabase() || table.Inputs["tableType"] != "EXTERNAL_TABLE" {
				t.Errorf("table %v", table.Inputs)
			}
			sd := table.Inputs["storageDescriptor"].(map[string]any)
			if sd["location"] != "s3://"+bucket+"/" || path(sd, "serDeInfo.serializationLibrary") != "org.openx.data.jsonserde.JsonSerDe" {
				t.Errorf("storage descriptor %v", sd)
			}
			var cols []string
			for _, col := range sd["columns"].([]any) {
				m := col.(map[string]any)
				cols = append(cols, fmt.Sprint(m["name"], " ", m["type"]))
			}
			want := []string{"kind string", "source string", "messageid string", "group string", "archivedat bigint",
				"deduplicationid string", "sequencenumber string", "receivecount int", "sentat bigint", "eventid string",
				"attributes map<string,string>", "body string", "size int", "outcome string", "reason string"}
			if !slices.Equal(cols, want) {
				t.Errorf("columns\n %v\nwant\n %v", cols, want)
			}
			var parts []string
			for _, p := range table.Inputs["partitionKeys"].([]any) {
				parts = append(parts, fmt.Sprint(p.(map[string]any)["name"]))
			}
			if !slices.Equal(parts, []string{"source", "dt", "hour"}) {
				t.Errorf("partition keys %v", parts)
			}
			var names []string
			for _, s := range c.Sources {
				names = append(names, s.Name)
			}
			props := table.Inputs["parameters"].(map[string]any)
			for k, v := range map[string]string{
				"projection.enabled": "true", "projection.source.type": "enum", "projection.source.values": strings.Join(names, ","),
				"projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd", "projection.dt.range": fmt.Sprintf("NOW-%dDAYS,NOW", tc.days),
				"projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS",
				"projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
				"storage.location.template": "s3://" + bucket + "/source=${source}/dt=${dt}/hour=${hour}/",
			} {
				if props[k] != v {
					t.Errorf("table property %s = %v, want %s", k, props[k], v)
				}
			}
			// The template's prefix is the one Firehose writes.
			loc := strings.NewReplacer("${source}", "github", "${dt}", "2026-12-01", "${hour}", "07").Replace(props["storage.location.template"].(string))
			if want := "s3://" + bucket + "/" + contract.ArchivePrefix("github", mustTime(t, "2026-12-01T07:30:00Z")); loc != want {
				t.Errorf("location %s, want %s", loc, want)
			}

			wg := findNamed(t, res, typeWorkgroup, c.ArchiveWorkgroup())
			conf := wg.Inputs["configuration"].(map[string]any)
			if conf["enforceWorkgroupConfiguration"] != true || path(conf, "resultConfiguration.outputLocation") != "s3://"+results+"/" ||
				path(conf, "resultConfiguration.encryptionConfiguration.encryptionOption") != "SSE_KMS" {
				t.Errorf("workgroup %v", conf)
			}

			streams := res.Find(typeStream)
			if len(streams) != len(c.Sources) {
				t.Fatalf("%d streams for %d sources", len(streams), len(c.Sources))
			}
			for _, s := range c.Sources {
				checkStream(t, res, c, s)
			}
		})
	}
}

func checkStream(t *testing.T, res *plan.Result, c *stackconfig.Config, s stackconfig.Source) {
	t.Helper()
	account := awsmodel.DefaultAccount
	bucketARN := "arn:aws:s3:::" + c.ArchiveBucket(account)
	streamARN := fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", c.Region, account, c.ArchiveStream(s))
	st := findNamed(t, res, typeStream, c.ArchiveStream(s))
	x := st.Inputs["extendedS3Configuration"].(map[string]any)
	if st.Inputs["destination"] != "extended_s3" || x["bucketArn"] != bucketARN ||
		x["prefix"] != contract.ArchivePrefixExpression(s.Name) || x["errorOutputPrefix"] != contract.ArchiveErrorPrefixExpression(s.Name) ||
		num(x["bufferingInterval"]) != 300 || num(x["bufferingSize"]) != contract.ArchiveBufferMiB || x["compressionFormat"] != "GZIP" ||
		!strings.Contains(fmt.Sprint(x["kmsKeyArn"]), ":key/") {
		t.Errorf("%s stream: %v", s.Name, x)
	}
	if path(st.Inputs, "serverSideEncryption.enabled") != true || path(st.Inputs, "serverSideEncryption.keyType") != "AWS_OWNED_CMK" {
		t.Errorf("%s stream encryption %v", s.Name, st.Inputs["serverSideEncryption"])
	}

	role := findNamed(t, res, "aws:iam/role:Role", c.ArchiveStreamRole(s))
	trust := parsePolicy(t, role.Inputs["assumeRolePolicy"])
	if len(trust.Statement) != 1 || fmt.Sprint(trust.Statement[0].Principal) != "map[Service:firehose.amazonaws.com]" ||
		trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != account || trust.Statement[0].Resource != nil {
		t.Errorf("%s firehose trust %+v", s.Name, trust)
	}
	if x["roleArn"] != "arn:aws:iam::"+account+":role/"+c.ArchiveStreamRole(s) {
		t.Errorf("%s stream role %v", s.Name, x["roleArn"])
	}
	pol := parsePolicy(t, findNamed(t, res, "aws:iam/rolePolicy:RolePolicy", "archive-"+s.Name).Inputs["policy"])
	for _, stmt := range pol.Statement {
		for _, r := range resources(stmt.Resource) {
			switch {
			case slices.ContainsFunc(stmt.Action, func(a string) bool { return strings.HasPrefix(a, "kms:") }):
				if r != fmt.Sprintf("arn:aws:kms:%s:%s:key/*", c.Region, account) ||
					stmt.Condition["StringEquals"]["kms:ViaService"] != "s3."+c.Region+".amazonaws.com" ||
					stmt.Condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] != c.ArchiveKeyAlias() ||
					fmt.Sprint(stmt.Condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"]) != fmt.Sprintf("[%s %s/*]", bucketARN, bucketARN) {
					t.Errorf("%s: KMS grant %+v", s.Name, stmt)
				}
			case r == bucketARN:
			case r == bucketARN+"/source="+s.Name+"/*", r == bucketARN+"/errors/source="+s.Name+"/*":
			default:
				t.Errorf("%s: the firehose role may touch %s", s.Name, r)
			}
		}
		for _, a := range stmt.Action {
			if strings.HasSuffix(a, "*") || strings.HasPrefix(a, "s3:Delete") {
				t.Errorf("%s: the firehose role may %s", s.Name, a)
			}
		}
	}

	fn := findNamed(t, res, "aws:lambda/function:Function", c.FunctionName(s))
	if got := path(fn.Inputs, "environment.variables."+contract.EnvArchiveStream); got != c.ArchiveStream(s) {
		t.Errorf("%s: %s = %v", s.Name, contract.EnvArchiveStream, got)
	}
	// The consumer may write its own stream and no other, with the two
	// write actions and nothing else of Firehose.
	consume := parsePolicy(t, findNamed(t, res, "aws:iam/rolePolicy:RolePolicy", "consume-"+s.Name).Inputs["policy"])
	writes := 0
	for _, stmt := range consume.Statement {
		for _, a := range stmt.Action {
			if !strings.HasPrefix(a, "firehose:") {
				continue
			}
			writes++
			if (a != "firehose:PutRecordBatch" && a != "firehose:PutRecord") || !slices.Equal(resources(stmt.Resource), []string{streamARN}) {
				t.Errorf("%s: consumer grant %s on %v, want its own stream %s", s.Name, a, stmt.Resource, streamARN)
			}
		}
	}
	if writes != 2 {
		t.Errorf("%s: %d firehose actions, want PutRecord and PutRecordBatch", s.Name, writes)
	}
}

// TestArchiveOff: with hookline:archive enabled: false the stack has no
// key, bucket, stream, table or workgroup of the archive, no consumer
// names a stream or may write one, and no archive output is set.
func TestArchiveOff(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			raw, _, err := stackconfig.ReadStackFile("..", stack)
			if err != nil {
				t.Fatal(err)
			}
			raw["hookline:archive"] = `{"enabled":false}`
			res, err := plan.Run(plan.Options{Dir: "..", Stack: stack, Config: raw, Handler: harness.StubHandler})
			if err != nil {
				t.Fatal(err)
			}
			for _, typ := range archiveTypes {
				if n := len(res.Find(typ)); n != 0 {
					t.Errorf("%d %s with the archive off", n, typ)
				}
			}
			for _, r := range res.Resources {
				if strings.Contains(r.Type, "Archive") || strings.Contains(r.Name, "archive") {
					t.Errorf("%s (%s) with the archive off", r.Name, r.Type)
				}
				if r.Type == "aws:lambda/function:Function" && path(r.Inputs, "environment.variables."+contract.EnvArchiveStream) != nil {
					t.Errorf("%s names an archive stream", r.Name)
				}
				if r.Type == "aws:iam/rolePolicy:RolePolicy" && strings.Contains(fmt.Sprint(r.Inputs["policy"]), "firehose") {
					t.Errorf("%s grants firehose: %v", r.Name, r.Inputs["policy"])
				}
			}
			for _, k := range []string{"archiveBucket", "archiveTable", "archiveWorkgroup"} {
				if _, has := res.Outputs[k]; has {
					t.Errorf("output %s with the archive off", k)
				}
			}
			for name, src := range res.Outputs["sources"].(map[string]any) {
				if _, has := src.(map[string]any)["archiveStream"]; has {
					t.Errorf("%s outputs an archive stream", name)
				}
			}
		})
	}
}

// TestArchiveColumnsAreTheEntry: the table's columns are exactly the JSON
// fields of contract.ArchiveEntry, so a field added to the entry is a
// column without another edit.
func TestArchiveColumnsAreTheEntry(t *testing.T) {
	var fields []string
	rt := reflect.TypeOf(contract.ArchiveEntry{})
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, strings.ToLower(name))
	}
	var cols []string
	for _, c := range infra.ArchiveColumns() {
		cols = append(cols, c.Name)
	}
	if !slices.Equal(cols, fields) {
		t.Errorf("columns %v, entry fields %v", cols, fields)
	}
	// A line the consumer writes has a key per column (case aside).
	line := contract.ArchiveDeliveryEntry("github", &contract.Record{MessageID: "m", GroupID: "g", SentAt: 1, ReceiveCount: 1,
		SequenceNumber: "1", DeduplicationID: "d", Body: []byte("{}"), Attrs: []contract.Attr{{Name: contract.AttrEventID, Value: "e"}}}, mustTime(t, "2026-12-01T00:00:00Z")).Line()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if !slices.Contains(cols, strings.ToLower(k)) {
			t.Errorf("the entry's key %s has no column", k)
		}
	}
}

// TestArchiveNamesFitAWSLimits: with the longest environment and source
// names, the bucket names stay within S3's 3-63 characters, lower case,
// the stream within Firehose's 64, the role within IAM's 64, and the Glue
// names are lower case with no '-'.
func TestArchiveNamesFitAWSLimits(t *testing.T) {
	c := &stackconfig.Config{Environment: "e" + strings.Repeat("-", 15), Region: "ap-southeast-1"}
	s := stackconfig.Source{Name: "s" + strings.Repeat("x", 29)}
	for _, b := range []string{c.ArchiveBucket("123456789012"), c.ArchiveResultsBucket("123456789012")} {
		if len(b) > 63 || strings.ToLower(b) != b || strings.Contains(b, "..") {
			t.Errorf("bucket name %q (%d)", b, len(b))
		}
	}
	if n := c.ArchiveStream(s); len(n) > 64 {
		t.Errorf("stream name %q is %d > 64", n, len(n))
	}
	if n := c.ArchiveStreamRole(s); len(n) > 64 {
		t.Errorf("role name %q is %d > 64", n, len(n))
	}
	if d := c.ArchiveDatabase(); strings.ToLower(d) != d || strings.Contains(d, "-") {
		t.Errorf("database %q", d)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
