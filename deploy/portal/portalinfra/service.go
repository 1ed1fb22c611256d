package portalinfra

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Image is the portal's image: an ECR repository (scan on push, immutable
// tags) and the image the program builds and pushes to it.
type Image struct {
	pulumi.ResourceState

	Repository *ecr.Repository

	RepositoryURL pulumi.StringOutput `pulumi:"repositoryUrl"`
	// URI is the pushed image by digest (a stub while previewing).
	URI pulumi.StringOutput `pulumi:"uri"`
}

// ImageArgs describe the image.
type ImageArgs struct {
	RepositoryName string
	Spec           ImageSpec
	Publisher      Publisher
	Tags           map[string]string
}

// PreviewImageTag is the tag of the image URI a preview shows when it
// cannot build the image (the base cannot be pulled); nothing is pushed
// while previewing.
const PreviewImageTag = "preview"

// NewImage creates the repository and, on update, builds and pushes the
// image (go-containerregistry: no Docker daemon).
func NewImage(ctx *pulumi.Context, name string, a *ImageArgs, opts ...pulumi.ResourceOption) (*Image, error) {
	if a == nil || a.RepositoryName == "" || a.Publisher == nil {
		return nil, fmt.Errorf("image %s: RepositoryName and Publisher are required", name)
	}
	img := &Image{}
	if err := ctx.RegisterComponentResource(TypeImage, name, img, opts...); err != nil {
		return nil, err
	}
	var err error
	img.Repository, err = ecr.NewRepository(ctx, name+"-repo", &ecr.RepositoryArgs{
		Name:                       pulumi.String(a.RepositoryName),
		ImageTagMutability:         pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		EncryptionConfigurations:   ecr.RepositoryEncryptionConfigurationArray{ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")}},
		Tags:                       pulumi.ToStringMap(a.Tags),
	}, pulumi.Parent(img))
	if err != nil {
		return nil, fmt.Errorf("create repository %s: %w", a.RepositoryName, err)
	}
	// Every `pulumi up` that changes the image pushes a new one under an
	// immutable tag; the repository keeps the newest KeepImages.
	if _, err := ecr.NewLifecyclePolicy(ctx, name+"-lifecycle", &ecr.LifecyclePolicyArgs{
		Repository: img.Repository.Name,
		Policy:     pulumi.String(LifecyclePolicy(KeepImages)),
	}, pulumi.Parent(img)); err != nil {
		return nil, fmt.Errorf("repository lifecycle: %w", err)
	}
	img.RepositoryURL = img.Repository.RepositoryUrl
	if ctx.DryRun() {
		// A preview builds the image in memory for its digest (the base is
		// pulled) and pushes nothing; if that fails, it shows a stub.
		img.URI = img.Repository.RepositoryUrl.ApplyTWithContext(ctx.Context(), func(c2 context.Context, repo string) string {
			ref, err := a.Publisher.Reference(c2, repo, a.Spec)
			if err != nil {
				_ = ctx.Log.Warn(fmt.Sprintf("preview: the portal image's digest is not known (%v); showing %s:%s", err, repo, PreviewImageTag), nil)
				return repo + ":" + PreviewImageTag
			}
			return ref
		}).(pulumi.StringOutput)
	} else {
		token := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: img.Repository.RegistryId.ToStringPtrOutput()}, pulumi.Parent(img))
		img.URI = pulumi.All(img.Repository.RepositoryUrl, token.UserName(), token.Password()).ApplyTWithContext(ctx.Context(),
			func(c2 context.Context, v []any) (string, error) {
				return a.Publisher.Publish(c2, v[0].(string), Credentials{Username: v[1].(string), Password: v[2].(string)}, a.Spec)
			}).(pulumi.StringOutput)
		// The password made the result secret; the image's name is not.
		img.URI = pulumi.Unsecret(img.URI).(pulumi.StringOutput)
	}
	if err := ctx.RegisterResourceOutputs(img, pulumi.Map{"repositoryUrl": img.RepositoryURL, "uri": img.URI}); err != nil {
		return nil, err
	}
	return img, nil
}

// ServiceArgs describe the portal's ECS service.
type ServiceArgs struct {
	Names            Names
	Partition        string
	Account          string
	Region           string
	ImageURI         pulumi.StringInput
	RepositoryArn    pulumi.StringInput
	TaskPolicy       pulumi.StringInput
	TargetGroupArn   pulumi.StringInput
	Command          pulumi.StringArrayInput
	PrivateSubnetIDs []string
	SecurityGroupIDs []string
	DesiredCount     int
	CPU, Memory      int
	Architecture     string
	ContainerPort    int
	LogRetentionDays int
	Tags             map[string]string
}

// Service is the portal's tasks: a log group, the execution role (pull,
// logs) and the task role (what the portal may do), a cluster, the task
// definition and a Fargate service of DesiredCount tasks spread over the
// private subnets, registered in the target group.
type Service struct {
	pulumi.ResourceState

	TaskRole       *iam.Role
	TaskPolicy     *iam.RolePolicy
	TaskDefinition *ecs.TaskDefinition
	Service        *ecs.Service

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	LogGroup    pulumi.StringOutput `pulumi:"logGroup"`
}

// NewService creates the service.
func NewService(ctx *pulumi.Context, name string, a *ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	if a == nil || a.ImageURI == nil || a.TargetGroupArn == nil || a.TaskPolicy == nil {
		return nil, fmt.Errorf("service %s: ImageURI, TargetGroupArn and TaskPolicy are required", name)
	}
	if a.DesiredCount < MinDesiredCount || !FargateMemoryValid(a.CPU, a.Memory) {
		return nil, fmt.Errorf("service %s: %d tasks of %d CPU units and %d MiB: need %d+ tasks and a Fargate size", name, a.DesiredCount, a.CPU, a.Memory, MinDesiredCount)
	}
	s := &Service{}
	if err := ctx.RegisterComponentResource(TypeService, name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	tags := pulumi.ToStringMap(a.Tags)
	n := a.Names

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name: pulumi.String(n.LogGroup()), RetentionInDays: pulumi.Int(a.LogRetentionDays), Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create log group %s: %w", n.LogGroup(), err)
	}
	logGroupArn := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", a.Partition, a.Region, a.Account, n.LogGroup())
	exec, err := iam.NewRole(ctx, name+"-exec", &iam.RoleArgs{
		Name: pulumi.String(n.ExecutionRole()), AssumeRolePolicy: pulumi.String(AssumeRole(a.Account)), Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create execution role: %w", err)
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-exec", &iam.RolePolicyArgs{
		Role: exec.Name,
		Policy: pulumi.All(a.RepositoryArn).ApplyT(func(v []any) string {
			return ExecutionPolicy(a.Partition, v[0].(string), logGroupArn).JSON()
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, fmt.Errorf("create execution policy: %w", err)
	}
	s.TaskRole, err = iam.NewRole(ctx, name+"-task", &iam.RoleArgs{
		Name: pulumi.String(n.TaskRole()), AssumeRolePolicy: pulumi.String(AssumeRole(a.Account)), Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create task role: %w", err)
	}
	s.TaskPolicy, err = iam.NewRolePolicy(ctx, name+"-task", &iam.RolePolicyArgs{Role: s.TaskRole.Name, Policy: a.TaskPolicy}, parent)
	if err != nil {
		return nil, fmt.Errorf("create task policy: %w", err)
	}
	cluster, err := ecs.NewCluster(ctx, name+"-cluster", &ecs.ClusterArgs{
		Name:     pulumi.String(n.Cluster()),
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Tags:     tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	containers := pulumi.All(a.ImageURI, a.Command).ApplyT(func(v []any) (string, error) {
		return ContainerDefinitions(v[0].(string), v[1].([]string), a.ContainerPort, n.LogGroup(), a.Region)
	}).(pulumi.StringOutput)
	s.TaskDefinition, err = ecs.NewTaskDefinition(ctx, name+"-task", &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(n.Family()),
		Cpu:                     pulumi.String(strconv.Itoa(a.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(a.Memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		ExecutionRoleArn:        exec.Arn,
		TaskRoleArn:             s.TaskRole.Arn,
		ContainerDefinitions:    containers,
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"), CpuArchitecture: pulumi.String(CPUArchitecture(a.Architecture)),
		},
		Tags: tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{logs}))
	if err != nil {
		return nil, fmt.Errorf("create task definition: %w", err)
	}
	s.Service, err = ecs.NewService(ctx, name+"-service", &ecs.ServiceArgs{
		Name:           pulumi.String(n.Service()),
		Cluster:        cluster.Arn,
		TaskDefinition: s.TaskDefinition.Arn,
		DesiredCount:   pulumi.Int(a.DesiredCount),
		LaunchType:     pulumi.String("FARGATE"),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets: pulumi.ToStringArray(a.PrivateSubnetIDs), SecurityGroups: pulumi.ToStringArray(a.SecurityGroupIDs), AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: a.TargetGroupArn, ContainerName: pulumi.String(ContainerName), ContainerPort: pulumi.Int(a.ContainerPort),
		}},
		// A rolling deployment never drops below the desired count, and
		// a deployment whose tasks do not become healthy rolls back.
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		DeploymentCircuitBreaker:        &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		HealthCheckGracePeriodSeconds:   pulumi.Int(60),
		PropagateTags:                   pulumi.String("SERVICE"),
		Tags:                            tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create service: %w", err)
	}
	s.ClusterName, s.ServiceName, s.LogGroup = cluster.Name, s.Service.Name, logs.Name
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"clusterName": s.ClusterName, "serviceName": s.ServiceName, "logGroup": s.LogGroup}); err != nil {
		return nil, err
	}
	return s, nil
}

// CPUArchitecture is ECS's name of a Go architecture.
func CPUArchitecture(goarch string) string {
	if goarch == "arm64" {
		return "ARM64"
	}
	return "X86_64"
}

// ContainerDefinitions renders the task's one container.
func ContainerDefinitions(image string, command []string, port int, logGroup, region string) (string, error) {
	b, err := json.Marshal([]map[string]any{{
		"name": ContainerName, "image": image, "essential": true, "command": command,
		"portMappings":           []any{map[string]any{"containerPort": port, "protocol": "tcp"}},
		"readonlyRootFilesystem": false,
		"stopTimeout":            120,
		"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]string{
			"awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": "portal",
		}},
	}})
	return string(b), err
}
