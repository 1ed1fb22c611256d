package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/stackconfig"
)

// SecurityPolicy is the TLS policy of the custom domain.
const SecurityPolicy = "TLS_1_2"

// DomainArgs configures the custom domain.
type DomainArgs struct {
	Config *stackconfig.Config
	API    *RestAPI
	Stage  *ApiStage
}

// Domain is the custom domain in front of the API: an ACM certificate
// validated through Route 53, a REGIONAL API Gateway domain with TLS 1.2,
// the base path mapping to the stage, and A + AAAA alias records.
type Domain struct {
	pulumi.ResourceState

	Certificate *acm.Certificate
	DomainName  *apigateway.DomainName

	URL            pulumi.StringOutput `pulumi:"url"`
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`
}

// NewDomain creates the custom domain component.
func NewDomain(ctx *pulumi.Context, name string, args *DomainArgs, opts ...pulumi.ResourceOption) (*Domain, error) {
	if args == nil || args.Config == nil || args.Config.Domain == nil || args.API == nil || args.Stage == nil {
		return nil, fmt.Errorf("domain %s: Config with a domain, API and Stage are required", name)
	}
	c, dn := args.Config, args.Config.Domain
	d := &Domain{}
	if err := ctx.RegisterComponentResource(TypeDomain, name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	var err error
	d.Certificate, err = acm.NewCertificate(ctx, name+"-cert", &acm.CertificateArgs{
		DomainName:       pulumi.String(dn.Name),
		ValidationMethod: pulumi.String("DNS"),
		Tags:             tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create certificate for %s: %w", dn.Name, err)
	}
	// One domain name, so exactly one validation option.
	opt := d.Certificate.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(ctx, name+"-cert-validation", &route53.RecordArgs{
		ZoneId:         pulumi.String(dn.HostedZoneID),
		Name:           opt.ResourceRecordName().Elem(),
		Type:           opt.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{opt.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(300),
		AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create certificate validation record for %s: %w", dn.Name, err)
	}
	validation, err := acm.NewCertificateValidation(ctx, name+"-cert", &acm.CertificateValidationArgs{
		CertificateArn:        d.Certificate.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("validate certificate for %s: %w", dn.Name, err)
	}

	d.DomainName, err = apigateway.NewDomainName(ctx, name, &apigateway.DomainNameArgs{
		DomainName:             pulumi.String(dn.Name),
		RegionalCertificateArn: validation.CertificateArn,
		EndpointConfiguration:  &apigateway.DomainNameEndpointConfigurationArgs{Types: pulumi.String("REGIONAL")},
		SecurityPolicy:         pulumi.String(SecurityPolicy),
		Tags:                   tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create domain name %s: %w", dn.Name, err)
	}
	if _, err := apigateway.NewBasePathMapping(ctx, name+"-mapping", &apigateway.BasePathMappingArgs{
		RestApi:    args.API.ID,
		StageName:  args.Stage.StageName,
		DomainName: d.DomainName.DomainName,
	}, parent); err != nil {
		return nil, fmt.Errorf("map %s to the stage: %w", dn.Name, err)
	}
	for _, typ := range []string{"A", "AAAA"} {
		if _, err := route53.NewRecord(ctx, name+"-"+typ, &route53.RecordArgs{
			ZoneId: pulumi.String(dn.HostedZoneID),
			Name:   d.DomainName.DomainName,
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
				Name:                 d.DomainName.RegionalDomainName,
				ZoneId:               d.DomainName.RegionalZoneId,
				EvaluateTargetHealth: pulumi.Bool(false),
			}},
		}, parent); err != nil {
			return nil, fmt.Errorf("create %s alias for %s: %w", typ, dn.Name, err)
		}
	}

	d.URL = pulumi.String("https://" + dn.Name).ToStringOutput()
	d.CertificateArn = validation.CertificateArn
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{"url": d.URL, "certificateArn": d.CertificateArn}); err != nil {
		return nil, err
	}
	return d, nil
}
