package portalinfra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Type tokens of the portal's components.
const (
	TypeStateStore = "hookline:portal:StateStore"
	TypeImage      = "hookline:portal:Image"
	TypeFrontDoor  = "hookline:portal:FrontDoor"
	TypeService    = "hookline:portal:Service"
)

// NoncurrentDays is how long the state bucket keeps a replaced version.
const NoncurrentDays = 90

// StateStoreArgs are the state store's names.
type StateStoreArgs struct {
	Bucket, BucketArn, KeyAlias, JobsTable string
	Tags                                   map[string]string
}

// StateStore is what the portal keeps its state in: a KMS key (the
// awskms:// secrets provider, and the bucket's and table's encryption),
// the s3:// backend's bucket (versioned, SSE-KMS, public access blocked,
// TLS only) and the DynamoDB jobs table.
type StateStore struct {
	pulumi.ResourceState

	Key   *kms.Key
	Table *dynamodb.Table

	BucketName      pulumi.StringOutput `pulumi:"bucketName"`
	KeyArn          pulumi.StringOutput `pulumi:"keyArn"`
	KeyAlias        pulumi.StringOutput `pulumi:"keyAlias"`
	JobsTable       pulumi.StringOutput `pulumi:"jobsTable"`
	JobsTableArn    pulumi.StringOutput `pulumi:"jobsTableArn"`
	BackendURL      pulumi.StringOutput `pulumi:"backendUrl"`
	SecretsProvider pulumi.StringOutput `pulumi:"secretsProvider"`
}

// NewStateStore creates the state store.
func NewStateStore(ctx *pulumi.Context, name string, args *StateStoreArgs, opts ...pulumi.ResourceOption) (*StateStore, error) {
	if args == nil || args.Bucket == "" || args.KeyAlias == "" || args.JobsTable == "" {
		return nil, fmt.Errorf("state store %s: Bucket, KeyAlias and JobsTable are required", name)
	}
	s := &StateStore{}
	if err := ctx.RegisterComponentResource(TypeStateStore, name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	tags := pulumi.ToStringMap(args.Tags)
	var err error
	s.Key, err = kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.String("hookline portal: the stacks' secrets (awskms://), the state bucket and the jobs table"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create the portal's key: %w", err)
	}
	if _, err := kms.NewAlias(ctx, name+"-key", &kms.AliasArgs{Name: pulumi.String(args.KeyAlias), TargetKeyId: s.Key.KeyId}, parent); err != nil {
		return nil, fmt.Errorf("create key alias %s: %w", args.KeyAlias, err)
	}

	bucket, err := s3.NewBucketV2(ctx, name+"-bucket", &s3.BucketV2Args{Bucket: pulumi.String(args.Bucket), Tags: tags}, parent)
	if err != nil {
		return nil, fmt.Errorf("create state bucket %s: %w", args.Bucket, err)
	}
	after := []pulumi.ResourceOption{parent, pulumi.DependsOn([]pulumi.Resource{bucket})}
	b := pulumi.String(args.Bucket)
	versioning, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  b,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, after...)
	if err != nil {
		return nil, fmt.Errorf("version the state bucket: %w", err)
	}
	// The current state is kept; a replaced version (every update writes
	// one) is kept NoncurrentDays for recovery, then expires.
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b,
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("expire-old-versions"), Status: pulumi.String("Enabled"),
			Filter:                         &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
			NoncurrentVersionExpiration:    &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(NoncurrentDays)},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{DaysAfterInitiation: pulumi.Int(7)},
		}},
	}, parent, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
		return nil, fmt.Errorf("state bucket lifecycle: %w", err)
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket: b, BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, after...)
	if err != nil {
		return nil, fmt.Errorf("block public access: %w", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b, Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, after...); err != nil {
		return nil, fmt.Errorf("disable ACLs: %w", err)
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: s.Key.Arn,
			},
			BucketKeyEnabled: pulumi.Bool(true),
		}},
	}, after...); err != nil {
		return nil, fmt.Errorf("default encryption: %w", err)
	}
	if _, err := s3.NewBucketPolicy(ctx, name+"-tls", &s3.BucketPolicyArgs{
		Bucket: b, Policy: pulumi.String(DenyInsecureTransport(args.BucketArn)),
	}, parent, pulumi.DependsOn([]pulumi.Resource{bucket, pab})); err != nil {
		return nil, fmt.Errorf("tls-only policy: %w", err)
	}

	s.Table, err = dynamodb.NewTable(ctx, name+"-jobs", &dynamodb.TableArgs{
		Name:        pulumi.String(args.JobsTable),
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
		HashKey:     pulumi.String("pk"),
		RangeKey:    pulumi.String("sk"),
		Attributes: dynamodb.TableAttributeArray{
			dynamodb.TableAttributeArgs{Name: pulumi.String("pk"), Type: pulumi.String("S")},
			dynamodb.TableAttributeArgs{Name: pulumi.String("sk"), Type: pulumi.String("S")},
		},
		Ttl:                  &dynamodb.TableTtlArgs{AttributeName: pulumi.String("expires"), Enabled: pulumi.Bool(true)},
		PointInTimeRecovery:  &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true), KmsKeyArn: s.Key.Arn},
		Tags:                 tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create jobs table %s: %w", args.JobsTable, err)
	}

	s.BucketName = bucket.Bucket
	s.KeyArn = s.Key.Arn
	s.KeyAlias = pulumi.String(args.KeyAlias).ToStringOutput()
	s.JobsTable = s.Table.Name
	s.JobsTableArn = s.Table.Arn
	s.BackendURL = pulumi.Sprintf("s3://%s", bucket.Bucket)
	s.SecretsProvider = pulumi.String("awskms://" + args.KeyAlias).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"bucketName": s.BucketName, "keyArn": s.KeyArn, "keyAlias": s.KeyAlias, "jobsTable": s.JobsTable,
		"jobsTableArn": s.JobsTableArn, "backendUrl": s.BackendURL, "secretsProvider": s.SecretsProvider,
	}); err != nil {
		return nil, err
	}
	return s, nil
}
