package infra

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// The archive, as the components build it: the stack's store (ArchiveStore:
// key, bucket, Glue table, Athena workgroup) and one Firehose stream per
// source (ArchiveStream), every name and ARN written from known parts so the
// policy pack judges them on a stack's first preview. The record format, the
// key layout and the buffering are the contract's (contract/archive.go).

// ArchiveResultsRetentionDays is how long the workgroup's query results are
// kept: they repeat what the archive holds (bodies included), so they go
// soon.
const ArchiveResultsRetentionDays = 7

// ArchiveAbortMultipartDays is when the lifecycle removes the parts of a
// multipart upload that never completed (Firehose uploads large objects in
// parts), which S3 would otherwise keep, and bill, forever.
const ArchiveAbortMultipartDays = 1

// ArchiveStreamCompression is the archive objects' compression.
const ArchiveStreamCompression = "GZIP"

// ArchiveStreamKeyType encrypts what a Firehose stream holds while it
// buffers with a key AWS owns (no key policy or grant of ours to manage);
// the objects it writes are encrypted with the archive key.
const ArchiveStreamKeyType = "AWS_OWNED_CMK"

// ArchiveSpec is the stack's archive store.
type ArchiveSpec struct {
	Environment string
	Region      string
	// KeyAlias is alias/hookline-<env>-archive; KeysARN is
	// arn:…:kms:<region>:<account>:key/*: policies grant on the key that
	// carries KeyAlias (kms:ResourceAliases), its own id being unknown
	// before it exists.
	KeyAlias, KeysARN string
	// Bucket is the archive bucket and BucketARN its ARN (arn:aws:s3:::name).
	Bucket, BucketARN string
	// ResultsBucket holds the Athena workgroup's query results.
	ResultsBucket, ResultsBucketARN string
	// RetentionDays expires every archived object; ResultsRetentionDays
	// every query result.
	RetentionDays        int
	ResultsRetentionDays int
	// Database and Table are the Glue table over the bucket.
	Database, Table string
	// Workgroup is the Athena workgroup that queries it.
	Workgroup string
	// Sources are the stack's sources: the values of the table's source
	// partition.
	Sources []string
}

// ArchiveStreamSpec is one source's Firehose stream into the archive.
type ArchiveStreamSpec struct {
	Source string
	// StreamName and StreamARN name the stream (Direct PUT: the consumer
	// writes to it).
	StreamName, StreamARN string
	// RoleName is the role the stream assumes to write the bucket, with
	// the inline policy PolicyName.
	RoleName, PolicyName string
	// Account is the stack's account: the role's trust policy admits
	// Firehose only on this account's behalf (sts:ExternalId, as AWS
	// documents for Firehose roles).
	Account string
	Region  string
	// Prefix and ErrorPrefix are the contract's expressions for the source.
	Prefix, ErrorPrefix string
	// BufferIntervalSeconds and BufferMiB are the contract's buffering.
	BufferIntervalSeconds, BufferMiB int
	Bucket, BucketARN                string
	KeyAlias, KeysARN                string
}

// ObjectPrefixes are the key prefixes the stream writes: its deliveries and
// its errors (the folders of Prefix and ErrorPrefix before their first
// expression).
func (s ArchiveStreamSpec) ObjectPrefixes() []string {
	var out []string
	for _, p := range []string{s.Prefix, s.ErrorPrefix} {
		if i := strings.Index(p, "!{"); i >= 0 {
			p = p[:strings.LastIndex(p[:i], "/")+1]
		}
		out = append(out, p)
	}
	return out
}

func s3ARN(partition, bucket string) string { return "arn:" + partition + ":s3:::" + bucket }

func archiveSpec(c *stackconfig.Config, caller Caller) *ArchiveSpec {
	sp := &ArchiveSpec{
		Environment:          c.Environment,
		Region:               c.Region,
		KeyAlias:             c.ArchiveKeyAlias(),
		KeysARN:              caller.ARN("kms", c.Region, "key/*"),
		Bucket:               c.ArchiveBucket(caller.Account),
		ResultsBucket:        c.ArchiveResultsBucket(caller.Account),
		RetentionDays:        c.Archive.RetentionDays,
		ResultsRetentionDays: ArchiveResultsRetentionDays,
		Database:             c.ArchiveDatabase(),
		Table:                stackconfig.ArchiveTable,
		Workgroup:            c.ArchiveWorkgroup(),
	}
	sp.BucketARN = s3ARN(caller.Partition, sp.Bucket)
	sp.ResultsBucketARN = s3ARN(caller.Partition, sp.ResultsBucket)
	for _, s := range c.Sources {
		sp.Sources = append(sp.Sources, s.Name)
	}
	return sp
}

func archiveStreamSpec(c *stackconfig.Config, s stackconfig.Source, caller Caller) *ArchiveStreamSpec {
	bucket := c.ArchiveBucket(caller.Account)
	return &ArchiveStreamSpec{
		Source:                s.Name,
		StreamName:            c.ArchiveStream(s),
		StreamARN:             caller.ARN("firehose", c.Region, "deliverystream/"+c.ArchiveStream(s)),
		RoleName:              c.ArchiveStreamRole(s),
		PolicyName:            "archive-" + s.Name,
		Account:               caller.Account,
		Region:                c.Region,
		Prefix:                contract.ArchivePrefixExpression(s.Name),
		ErrorPrefix:           contract.ArchiveErrorPrefixExpression(s.Name),
		BufferIntervalSeconds: int(contract.ArchiveBufferInterval / time.Second),
		BufferMiB:             contract.ArchiveBufferMiB,
		Bucket:                bucket,
		BucketARN:             s3ARN(caller.Partition, bucket),
		KeyAlias:              c.ArchiveKeyAlias(),
		KeysARN:               caller.ARN("kms", c.Region, "key/*"),
	}
}

// TableName is the Glue table as Athena names it: "database.table" (the
// archiveTable stack output).
func (a ArchiveSpec) TableName() string { return a.Database + "." + a.Table }

// ArchiveColumn is one column of the archive's Glue table.
type ArchiveColumn struct{ Name, Type string }

// ArchiveSerDe reads the archive's newline-delimited JSON. It matches JSON
// keys to columns case-insensitively (case.insensitive, its default:
// messageId is the column messageid, Glue and Athena names being lower
// case) and skips a line that is not JSON (ignore.malformed.json: a
// truncated object does not fail a query, as contract.ReadArchive skips
// such a line too).
const (
	ArchiveSerDe        = "org.openx.data.jsonserde.JsonSerDe"
	ArchiveInputFormat  = "org.apache.hadoop.mapred.TextInputFormat"
	ArchiveOutputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
)

// ArchiveSerDeParameters are the SerDe's properties.
func ArchiveSerDeParameters() map[string]string {
	return map[string]string{"case.insensitive": "true", "ignore.malformed.json": "true"}
}

// ArchiveColumns are the table's columns: one per JSON field of
// contract.ArchiveEntry, in its order, named in lower case, typed from the
// Go field (string, bigint for int64, int for int, map<string,string> for
// the attributes). Deriving them from the struct keeps the table and the
// entry one definition.
func ArchiveColumns() []ArchiveColumn {
	t := reflect.TypeOf(contract.ArchiveEntry{})
	var out []ArchiveColumn
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, ArchiveColumn{Name: strings.ToLower(name), Type: hiveType(f.Type)})
	}
	return out
}

func hiveType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int64:
		return "bigint"
	case reflect.Int, reflect.Int32:
		return "int"
	case reflect.Bool:
		return "boolean"
	case reflect.Map:
		return "map<" + hiveType(t.Key()) + "," + hiveType(t.Elem()) + ">"
	}
	panic(fmt.Sprintf("archive column of Go type %s has no Hive type: add it to hiveType", t))
}

// ArchivePartitionKeys are the table's partition columns, in the order of
// the key layout (contract.ArchivePrefix): source=<name>/dt=YYYY-MM-DD/hour=HH/.
// All three are strings: a query filters hour = '07'.
var ArchivePartitionKeys = []ArchiveColumn{{"source", "string"}, {"dt", "string"}, {"hour", "string"}}

// ArchiveLocationTemplate is where Athena finds a partition's objects
// (partition projection's storage.location.template).
func (a ArchiveSpec) ArchiveLocationTemplate() string {
	return "s3://" + a.Bucket + "/source=${source}/dt=${dt}/hour=${hour}/"
}

// TableParameters are the table's properties: an external JSON table over
// the bucket whose partitions Athena projects from the properties (Athena,
// "Partition projection", "Supported types for partition projection"),
// so no partition is ever added to the catalog: source an enum of the
// stack's sources, dt a date of the last RetentionDays days (yyyy-MM-dd,
// one day apart, computed in UTC as Firehose writes the prefix), hour an
// integer 0-23 written with two digits.
func (a ArchiveSpec) TableParameters() map[string]string {
	return map[string]string{
		"EXTERNAL":                    "TRUE",
		"classification":              "json",
		"compressionType":             "gzip",
		"projection.enabled":          "true",
		"projection.source.type":      "enum",
		"projection.source.values":    strings.Join(a.Sources, ","),
		"projection.dt.type":          "date",
		"projection.dt.format":        "yyyy-MM-dd",
		"projection.dt.range":         "NOW-" + strconv.Itoa(a.RetentionDays) + "DAYS,NOW",
		"projection.dt.interval":      "1",
		"projection.dt.interval.unit": "DAYS",
		"projection.hour.type":        "integer",
		"projection.hour.range":       "0,23",
		"projection.hour.digits":      "2",
		"storage.location.template":   a.ArchiveLocationTemplate(),
	}
}
