package portalinfra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TLSPolicy is the HTTPS listener's security policy: TLS 1.3 and 1.2 only
// (Elastic Load Balancing, "Security policies for your Application Load
// Balancer").
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// OIDC is the identity provider the ALB signs users in with.
type OIDC struct {
	Issuer, AuthorizationEndpoint, TokenEndpoint, UserInfoEndpoint, ClientID string
	ClientSecret                                                             pulumi.StringInput
}

// FrontDoorArgs describe the portal's entrance.
type FrontDoorArgs struct {
	LoadBalancerName, TargetGroupName string
	Domain, HostedZoneID              string
	VpcID                             string
	PublicSubnetIDs, SecurityGroupIDs []string
	ContainerPort                     int
	HealthPath                        string
	OIDC                              OIDC
	Tags                              map[string]string
}

// FrontDoor is the portal's entrance: an ACM certificate validated in
// Route 53, an internet-facing ALB over the public subnets, a target group
// of the tasks' IPs, an HTTPS listener (TLS 1.2+) that signs users in with
// authenticate-oidc before it forwards, an HTTP listener that only
// redirects to HTTPS, and the domain's alias record.
type FrontDoor struct {
	pulumi.ResourceState

	LoadBalancer *lb.LoadBalancer
	TargetGroup  *lb.TargetGroup
	HTTPS        *lb.Listener

	LoadBalancerArn pulumi.StringOutput `pulumi:"loadBalancerArn"`
	TargetGroupArn  pulumi.StringOutput `pulumi:"targetGroupArn"`
	URL             pulumi.StringOutput `pulumi:"url"`
}

// NewFrontDoor creates the entrance.
func NewFrontDoor(ctx *pulumi.Context, name string, a *FrontDoorArgs, opts ...pulumi.ResourceOption) (*FrontDoor, error) {
	if a == nil || a.Domain == "" || a.HostedZoneID == "" || a.OIDC.ClientSecret == nil {
		return nil, fmt.Errorf("front door %s: Domain, HostedZoneID and OIDC.ClientSecret are required", name)
	}
	f := &FrontDoor{}
	if err := ctx.RegisterComponentResource(TypeFrontDoor, name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)
	tags := pulumi.ToStringMap(a.Tags)

	cert, err := acm.NewCertificate(ctx, name+"-cert", &acm.CertificateArgs{
		DomainName: pulumi.String(a.Domain), ValidationMethod: pulumi.String("DNS"), Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create certificate for %s: %w", a.Domain, err)
	}
	opt := cert.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(ctx, name+"-cert-validation", &route53.RecordArgs{
		ZoneId: pulumi.String(a.HostedZoneID), Name: opt.ResourceRecordName().Elem(), Type: opt.ResourceRecordType().Elem(),
		Records: pulumi.StringArray{opt.ResourceRecordValue().Elem()}, Ttl: pulumi.Int(300), AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create certificate validation record for %s: %w", a.Domain, err)
	}
	validation, err := acm.NewCertificateValidation(ctx, name+"-cert", &acm.CertificateValidationArgs{
		CertificateArn: cert.Arn, ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("validate certificate for %s: %w", a.Domain, err)
	}

	f.LoadBalancer, err = lb.NewLoadBalancer(ctx, name+"-alb", &lb.LoadBalancerArgs{
		Name:                    pulumi.String(a.LoadBalancerName),
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		Subnets:                 pulumi.ToStringArray(a.PublicSubnetIDs),
		SecurityGroups:          pulumi.ToStringArray(a.SecurityGroupIDs),
		DropInvalidHeaderFields: pulumi.Bool(true),
		// Server-sent events (job progress) stay open; the ALB closes idle
		// connections after this many seconds.
		IdleTimeout: pulumi.Int(300),
		Tags:        tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create load balancer %s: %w", a.LoadBalancerName, err)
	}
	f.TargetGroup, err = lb.NewTargetGroup(ctx, name+"-tg", &lb.TargetGroupArgs{
		Name:                pulumi.String(a.TargetGroupName),
		Port:                pulumi.Int(a.ContainerPort),
		Protocol:            pulumi.String("HTTP"),
		TargetType:          pulumi.String("ip"),
		VpcId:               pulumi.String(a.VpcID),
		DeregistrationDelay: pulumi.Int(60),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled: pulumi.Bool(true), Path: pulumi.String(a.HealthPath), Matcher: pulumi.String("200"),
			Protocol: pulumi.String("HTTP"), Interval: pulumi.Int(15), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create target group %s: %w", a.TargetGroupName, err)
	}
	f.HTTPS, err = lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: f.LoadBalancer.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(TLSPolicy),
		CertificateArn:  validation.CertificateArn,
		DefaultActions: lb.ListenerDefaultActionArray{
			lb.ListenerDefaultActionArgs{
				Type:  pulumi.String("authenticate-oidc"),
				Order: pulumi.Int(1),
				AuthenticateOidc: &lb.ListenerDefaultActionAuthenticateOidcArgs{
					Issuer:                   pulumi.String(a.OIDC.Issuer),
					AuthorizationEndpoint:    pulumi.String(a.OIDC.AuthorizationEndpoint),
					TokenEndpoint:            pulumi.String(a.OIDC.TokenEndpoint),
					UserInfoEndpoint:         pulumi.String(a.OIDC.UserInfoEndpoint),
					ClientId:                 pulumi.String(a.OIDC.ClientID),
					ClientSecret:             pulumi.ToSecret(a.OIDC.ClientSecret).(pulumi.StringOutput),
					Scope:                    pulumi.String("openid email profile"),
					OnUnauthenticatedRequest: pulumi.String("authenticate"),
					SessionTimeout:           pulumi.Int(8 * 3600),
				},
			},
			lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), Order: pulumi.Int(2), TargetGroupArn: f.TargetGroup.Arn},
		},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create https listener: %w", err)
	}
	if _, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: f.LoadBalancer.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: tags,
	}, parent); err != nil {
		return nil, fmt.Errorf("create http redirect listener: %w", err)
	}
	// An A alias only: the load balancer is IPv4 (ipAddressType ipv4).
	if _, err := route53.NewRecord(ctx, name+"-A", &route53.RecordArgs{
		ZoneId: pulumi.String(a.HostedZoneID), Name: pulumi.String(a.Domain), Type: pulumi.String("A"),
		Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
			Name: f.LoadBalancer.DnsName, ZoneId: f.LoadBalancer.ZoneId, EvaluateTargetHealth: pulumi.Bool(true),
		}},
	}, parent); err != nil {
		return nil, fmt.Errorf("create alias for %s: %w", a.Domain, err)
	}
	f.LoadBalancerArn, f.TargetGroupArn = f.LoadBalancer.Arn, f.TargetGroup.Arn
	f.URL = pulumi.String("https://" + a.Domain).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(f, pulumi.Map{"loadBalancerArn": f.LoadBalancerArn, "targetGroupArn": f.TargetGroupArn, "url": f.URL}); err != nil {
		return nil, err
	}
	return f, nil
}
