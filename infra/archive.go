package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/athena"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/glue"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ArchiveStoreArgs configures the stack's archive store.
type ArchiveStoreArgs struct {
	Spec ArchiveSpec
	Tags map[string]string
}

func (a *ArchiveStoreArgs) validate() []string {
	s := a.Spec
	p := required("Environment", s.Environment, "KeyAlias", s.KeyAlias, "Bucket", s.Bucket, "BucketARN", s.BucketARN,
		"ResultsBucket", s.ResultsBucket, "ResultsBucketARN", s.ResultsBucketARN, "Database", s.Database, "Table", s.Table,
		"Workgroup", s.Workgroup)
	if s.RetentionDays <= 0 || s.ResultsRetentionDays <= 0 {
		p = append(p, fmt.Sprintf("the retention (%d days) and the results' retention (%d days) must be positive", s.RetentionDays, s.ResultsRetentionDays))
	}
	if len(s.Sources) == 0 {
		p = append(p, "Sources (the table's source partitions) are required")
	}
	return p
}

// ArchiveStore is the stack's archive: a KMS key (rotated yearly) and its
// alias; the archive bucket, encrypted with that key by default (with an S3
// Bucket Key), public access blocked, ACLs disabled, TLS only, every object
// expiring after the retention; a Glue table over it whose partitions
// Athena projects; and an Athena workgroup that writes its results,
// encrypted with the key, to a bucket of its own with the same protections
// and a short retention.
type ArchiveStore struct {
	pulumi.ResourceState

	Key   *kms.Key
	Alias *kms.Alias
	// Bucket is the archive bucket; Encryption and Policy its default
	// encryption and its TLS-only policy, which a stream waits for before
	// it writes an object.
	Bucket     *s3.BucketV2
	Encryption *s3.BucketServerSideEncryptionConfigurationV2
	Policy     *s3.BucketPolicy

	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketArn  pulumi.StringOutput `pulumi:"bucketArn"`
	KeyArn     pulumi.StringOutput `pulumi:"keyArn"`
	// TableName is "database.table"; Workgroup the Athena workgroup's name.
	TableName pulumi.StringOutput `pulumi:"tableName"`
	Workgroup pulumi.StringOutput `pulumi:"workgroup"`
}

// NewArchiveStore creates the key, both buckets with their protections, the
// Glue database and table, and the Athena workgroup.
func NewArchiveStore(ctx *pulumi.Context, name string, args *ArchiveStoreArgs, opts ...pulumi.ResourceOption) (*ArchiveStore, error) {
	if args == nil {
		return nil, fmt.Errorf("archive store %s: args are required", name)
	}
	if err := argsError("archive store", name, args.validate()); err != nil {
		return nil, err
	}
	s, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	a := &ArchiveStore{}
	if err := ctx.RegisterComponentResource(TypeArchiveStore, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)

	var err error
	// The default key policy (the account's) lets IAM policies grant its
	// use, as the streams' roles and the readers' policies do.
	a.Key, err = kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.String("hookline " + s.Environment + ": encrypts the archive of deliveries and its query results"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create archive key: %w", err)
	}
	if a.Alias, err = kms.NewAlias(ctx, name+"-key", &kms.AliasArgs{Name: pulumi.String(s.KeyAlias), TargetKeyId: a.Key.KeyId}, parent); err != nil {
		return nil, fmt.Errorf("create archive key alias %s: %w", s.KeyAlias, err)
	}

	var archive *protectedBucket
	if archive, err = newProtectedBucket(ctx, name, protectedBucketArgs{
		Bucket: s.Bucket, BucketARN: s.BucketARN, RetentionDays: s.RetentionDays, Key: a.Key, Tags: tags,
	}, parent); err != nil {
		return nil, fmt.Errorf("archive bucket %s: %w", s.Bucket, err)
	}
	a.Bucket, a.Encryption, a.Policy = archive.bucket, archive.encryption, archive.policy
	results, err := newProtectedBucket(ctx, name+"-results", protectedBucketArgs{
		Bucket: s.ResultsBucket, BucketARN: s.ResultsBucketARN, RetentionDays: s.ResultsRetentionDays, Key: a.Key, Tags: tags,
		// Query results are copies: the stack may delete them with itself.
		ForceDestroy: true,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("query results bucket %s: %w", s.ResultsBucket, err)
	}

	db, err := glue.NewCatalogDatabase(ctx, name+"-database", &glue.CatalogDatabaseArgs{
		Name:        pulumi.String(s.Database),
		Description: pulumi.String("hookline " + s.Environment + ": the archive of deliveries"),
		Tags:        tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create glue database %s: %w", s.Database, err)
	}
	var columns glue.CatalogTableStorageDescriptorColumnArray
	for _, c := range ArchiveColumns() {
		columns = append(columns, glue.CatalogTableStorageDescriptorColumnArgs{Name: pulumi.String(c.Name), Type: pulumi.String(c.Type)})
	}
	var partitions glue.CatalogTablePartitionKeyArray
	for _, c := range ArchivePartitionKeys {
		partitions = append(partitions, glue.CatalogTablePartitionKeyArgs{Name: pulumi.String(c.Name), Type: pulumi.String(c.Type)})
	}
	table, err := glue.NewCatalogTable(ctx, name+"-table", &glue.CatalogTableArgs{
		Name:          pulumi.String(s.Table),
		DatabaseName:  db.Name,
		Description:   pulumi.String("hookline " + s.Environment + ": every delivery, and the outcome of those not ok, one JSON line each (contract.ArchiveEntry)"),
		TableType:     pulumi.String("EXTERNAL_TABLE"),
		Parameters:    pulumi.ToStringMap(s.TableParameters()),
		PartitionKeys: partitions,
		StorageDescriptor: &glue.CatalogTableStorageDescriptorArgs{
			Location:     pulumi.String("s3://" + s.Bucket + "/"),
			InputFormat:  pulumi.String(ArchiveInputFormat),
			OutputFormat: pulumi.String(ArchiveOutputFormat),
			Compressed:   pulumi.Bool(true),
			SerDeInfo: &glue.CatalogTableStorageDescriptorSerDeInfoArgs{
				SerializationLibrary: pulumi.String(ArchiveSerDe),
				Parameters:           pulumi.ToStringMap(ArchiveSerDeParameters()),
			},
			Columns: columns,
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create glue table %s: %w", s.TableName(), err)
	}

	wg, err := athena.NewWorkgroup(ctx, name+"-workgroup", &athena.WorkgroupArgs{
		Name:        pulumi.String(s.Workgroup),
		Description: pulumi.String("hookline " + s.Environment + ": queries of the archive of deliveries"),
		Configuration: &athena.WorkgroupConfigurationArgs{
			// Every query writes where the workgroup says, encrypted as it
			// says, whatever the client asks for.
			EnforceWorkgroupConfiguration:   pulumi.Bool(true),
			PublishCloudwatchMetricsEnabled: pulumi.Bool(true),
			ResultConfiguration: &athena.WorkgroupConfigurationResultConfigurationArgs{
				OutputLocation: pulumi.String("s3://" + s.ResultsBucket + "/"),
				EncryptionConfiguration: &athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs{
					EncryptionOption: pulumi.String("SSE_KMS"),
					KmsKeyArn:        a.Key.Arn,
				},
			},
		},
		// Saved queries and history only: the results bucket keeps nothing
		// longer than a week anyway.
		ForceDestroy: pulumi.Bool(true),
		Tags:         tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{results.encryption, results.policy}))
	if err != nil {
		return nil, fmt.Errorf("create athena workgroup %s: %w", s.Workgroup, err)
	}

	a.BucketName, a.BucketArn, a.KeyArn = a.Bucket.Bucket, a.Bucket.Arn, a.Key.Arn
	a.TableName = pulumi.Sprintf("%s.%s", db.Name, table.Name)
	a.Workgroup = wg.Name
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{
		"bucketName": a.BucketName, "bucketArn": a.BucketArn, "keyArn": a.KeyArn,
		"tableName": a.TableName, "workgroup": a.Workgroup,
	}); err != nil {
		return nil, err
	}
	return a, nil
}

type protectedBucketArgs struct {
	Bucket, BucketARN string
	RetentionDays     int
	Key               *kms.Key
	Tags              pulumi.StringMap
	ForceDestroy      bool
}

type protectedBucket struct {
	bucket     *s3.BucketV2
	encryption *s3.BucketServerSideEncryptionConfigurationV2
	policy     *s3.BucketPolicy
}

// newProtectedBucket creates a bucket and what protects it: public access
// blocked (all four settings), ACLs disabled (BucketOwnerEnforced), SSE-KMS
// with key by default with an S3 Bucket Key (fewer KMS requests), a policy
// that denies any request without TLS, and a lifecycle that expires every
// object after RetentionDays and removes unfinished multipart uploads. Every
// part names the bucket by its name, written from known parts, so the
// policy pack judges them together on a first preview.
func newProtectedBucket(ctx *pulumi.Context, name string, a protectedBucketArgs, opts ...pulumi.ResourceOption) (*protectedBucket, error) {
	b := &protectedBucket{}
	var err error
	b.bucket, err = s3.NewBucketV2(ctx, name+"-bucket", &s3.BucketV2Args{
		Bucket:       pulumi.String(a.Bucket),
		ForceDestroy: pulumi.Bool(a.ForceDestroy),
		Tags:         a.Tags,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	after := withOpts(opts, pulumi.DependsOn([]pulumi.Resource{b.bucket}))
	bucket := pulumi.String(a.Bucket)
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket,
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, after...)
	if err != nil {
		return nil, fmt.Errorf("block public access: %w", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket,
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, after...); err != nil {
		return nil, fmt.Errorf("disable ACLs: %w", err)
	}
	b.encryption, err = s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm:   pulumi.String("aws:kms"),
				KmsMasterKeyId: a.Key.Arn,
			},
			BucketKeyEnabled: pulumi.Bool(true),
		}},
	}, after...)
	if err != nil {
		return nil, fmt.Errorf("default encryption: %w", err)
	}
	// After the public access block, so the policy is never in place on a
	// bucket whose public access is not yet blocked.
	b.policy, err = s3.NewBucketPolicy(ctx, name+"-tls", &s3.BucketPolicyArgs{
		Bucket: bucket,
		Policy: pulumi.String(TLSOnlyBucketPolicy(a.BucketARN)),
	}, withOpts(opts, pulumi.DependsOn([]pulumi.Resource{b.bucket, pab}))...)
	if err != nil {
		return nil, fmt.Errorf("tls-only policy: %w", err)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket,
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-after-retention"),
			Status: pulumi.String("Enabled"),
			// An empty filter: every object of the bucket.
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.RetentionDays)},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(ArchiveAbortMultipartDays),
			},
		}},
	}, after...); err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	return b, nil
}

// ArchiveStreamArgs configures a source's Firehose stream.
type ArchiveStreamArgs struct {
	Spec ArchiveStreamSpec
	// BucketArn and KeyArn are the store's bucket and key.
	BucketArn pulumi.StringInput
	KeyArn    pulumi.StringInput
	// DependsOn are what must exist before the stream writes an object:
	// the bucket's default encryption and its TLS-only policy.
	DependsOn []pulumi.Resource
	Tags      map[string]string
}

func (a *ArchiveStreamArgs) validate() []string {
	s := a.Spec
	p := required("Source", s.Source, "StreamName", s.StreamName, "StreamARN", s.StreamARN, "RoleName", s.RoleName,
		"PolicyName", s.PolicyName, "Account", s.Account, "Region", s.Region, "Prefix", s.Prefix, "ErrorPrefix", s.ErrorPrefix,
		"BucketARN", s.BucketARN, "KeyAlias", s.KeyAlias, "KeysARN", s.KeysARN)
	if s.BufferIntervalSeconds < 0 || s.BufferMiB <= 0 {
		p = append(p, fmt.Sprintf("buffering of %d s and %d MiB", s.BufferIntervalSeconds, s.BufferMiB))
	}
	if a.BucketArn == nil || a.KeyArn == nil {
		p = append(p, "BucketArn and KeyArn are required")
	}
	return p
}

// ArchiveStream is a source's Amazon Data Firehose stream (Direct PUT): the
// consumer writes each delivery and each batch's outcomes to it, and it
// delivers them GZIP-compressed to the archive bucket under the source's
// prefix, with the role that may write only there.
type ArchiveStream struct {
	pulumi.ResourceState

	Stream *kinesis.FirehoseDeliveryStream

	StreamName pulumi.StringOutput `pulumi:"streamName"`
	StreamArn  pulumi.StringOutput `pulumi:"streamArn"`
}

// NewArchiveStream creates the stream's role, its policy and the stream.
func NewArchiveStream(ctx *pulumi.Context, name string, args *ArchiveStreamArgs, opts ...pulumi.ResourceOption) (*ArchiveStream, error) {
	if args == nil {
		return nil, fmt.Errorf("archive stream %s: args are required", name)
	}
	if err := argsError("archive stream", name, args.validate()); err != nil {
		return nil, err
	}
	s, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	a := &ArchiveStream{}
	if err := ctx.RegisterComponentResource(TypeArchiveStream, name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(s.RoleName),
		AssumeRolePolicy: pulumi.String(FirehoseAssumeRolePolicy(s.Account)),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create firehose role %s: %w", s.RoleName, err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-role", &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String(s.PolicyName),
		// Written from known parts, so the pack judges it at preview.
		Policy: pulumi.String(ArchiveDeliveryPolicy(s)),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create firehose policy %s: %w", s.PolicyName, err)
	}
	// Firehose checks at creation that it can assume the role and reach
	// the bucket: the policy comes first.
	deps := append([]pulumi.Resource{policy}, args.DependsOn...)
	a.Stream, err = kinesis.NewFirehoseDeliveryStream(ctx, name+"-stream", &kinesis.FirehoseDeliveryStreamArgs{
		Name:        pulumi.String(s.StreamName),
		Destination: pulumi.String("extended_s3"),
		ServerSideEncryption: &kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs{
			Enabled: pulumi.Bool(true),
			KeyType: pulumi.String(ArchiveStreamKeyType),
		},
		ExtendedS3Configuration: &kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs{
			RoleArn:           role.Arn,
			BucketArn:         args.BucketArn,
			Prefix:            pulumi.String(s.Prefix),
			ErrorOutputPrefix: pulumi.String(s.ErrorPrefix),
			BufferingInterval: pulumi.Int(s.BufferIntervalSeconds),
			BufferingSize:     pulumi.Int(s.BufferMiB),
			CompressionFormat: pulumi.String(ArchiveStreamCompression),
			KmsKeyArn:         args.KeyArn,
		},
		Tags: tags,
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("create firehose stream %s: %w", s.StreamName, err)
	}
	a.StreamName, a.StreamArn = a.Stream.Name, a.Stream.Arn
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"streamName": a.StreamName, "streamArn": a.StreamArn}); err != nil {
		return nil, err
	}
	return a, nil
}
