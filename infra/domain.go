package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
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
	// HTTP and HTTPStage replace API and Stage on ingress http.
	HTTP      *HttpAPI
	HTTPStage *HttpStage
}

// Domain is the custom domain in front of the API: an ACM certificate
// validated through Route 53, a REGIONAL API Gateway domain with TLS 1.2,
// the base path mapping to the stage, and A + AAAA alias records.
type Domain struct {
	pulumi.ResourceState

	Certificate *acm.Certificate
	DomainName  *apigateway.DomainName   // ingress rest
	DomainV2    *apigatewayv2.DomainName // ingress http

	URL            pulumi.StringOutput `pulumi:"url"`
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`
}

// NewDomain creates the custom domain component.
func NewDomain(ctx *pulumi.Context, name string, args *DomainArgs, opts ...pulumi.ResourceOption) (*Domain, error) {
	if args == nil || args.Config == nil || args.Config.Domain == nil || (args.API == nil || args.Stage == nil) == (args.HTTP == nil || args.HTTPStage == nil) {
		return nil, fmt.Errorf("domain %s: Config with a domain, and API and Stage or HTTP and HTTPStage are required", name)
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

	var target, zone pulumi.StringOutput
	if args.HTTP != nil {
		target, zone, err = d.domainV2(ctx, name, c, validation.CertificateArn, args.HTTP, args.HTTPStage, parent)
	} else {
		target, zone, err = d.domainV1(ctx, name, c, validation.CertificateArn, args.API, args.Stage, parent)
	}
	if err != nil {
		return nil, err
	}
	for _, typ := range []string{"A", "AAAA"} {
		if _, err := route53.NewRecord(ctx, name+"-"+typ, &route53.RecordArgs{
			ZoneId: pulumi.String(dn.HostedZoneID),
			Name:   pulumi.String(dn.Name),
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
				Name:                 target,
				ZoneId:               zone,
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

// domainV1 is a REST API's regional domain name (TLS 1.2) and its base path
// mapping to the stage; it returns the alias target and its hosted zone.
func (d *Domain) domainV1(ctx *pulumi.Context, name string, c *stackconfig.Config, cert pulumi.StringOutput, api *RestAPI, stage *ApiStage, parent pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	var err error
	d.DomainName, err = apigateway.NewDomainName(ctx, name, &apigateway.DomainNameArgs{
		DomainName:             pulumi.String(c.Domain.Name),
		RegionalCertificateArn: cert,
		EndpointConfiguration:  &apigateway.DomainNameEndpointConfigurationArgs{Types: pulumi.String("REGIONAL")},
		SecurityPolicy:         pulumi.String(SecurityPolicy),
		Tags:                   tagMap(c),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("create domain name %s: %w", c.Domain.Name, err)
	}
	if _, err := apigateway.NewBasePathMapping(ctx, name+"-mapping", &apigateway.BasePathMappingArgs{
		RestApi:    api.ID,
		StageName:  stage.StageName,
		DomainName: d.DomainName.DomainName,
	}, parent); err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s to the stage: %w", c.Domain.Name, err)
	}
	return d.DomainName.RegionalDomainName, d.DomainName.RegionalZoneId, nil
}

// domainV2 is an HTTP API's regional domain name (TLS 1.2) and its API
// mapping to the stage; it returns the alias target and its hosted zone.
func (d *Domain) domainV2(ctx *pulumi.Context, name string, c *stackconfig.Config, cert pulumi.StringOutput, api *HttpAPI, stage *HttpStage, parent pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	var err error
	d.DomainV2, err = apigatewayv2.NewDomainName(ctx, name, &apigatewayv2.DomainNameArgs{
		DomainName: pulumi.String(c.Domain.Name),
		DomainNameConfiguration: &apigatewayv2.DomainNameDomainNameConfigurationArgs{
			CertificateArn: cert,
			EndpointType:   pulumi.String("REGIONAL"),
			SecurityPolicy: pulumi.String(SecurityPolicy),
		},
		Tags: tagMap(c),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("create domain name %s: %w", c.Domain.Name, err)
	}
	if _, err := apigatewayv2.NewApiMapping(ctx, name+"-mapping", &apigatewayv2.ApiMappingArgs{
		ApiId:      api.ID,
		Stage:      stage.StageName,
		DomainName: d.DomainV2.DomainName,
	}, parent); err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("map %s to the stage: %w", c.Domain.Name, err)
	}
	conf := d.DomainV2.DomainNameConfiguration
	return conf.TargetDomainName().Elem(), conf.HostedZoneId().Elem(), nil
}
