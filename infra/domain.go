package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SecurityPolicy is the TLS policy of the custom domain.
const SecurityPolicy = "TLS_1_2"

// DomainArgs configures the custom domain.
type DomainArgs struct {
	Spec DomainSpec
	// Mapper is the published ingress the domain serves.
	Mapper DomainMapper
	Tags   map[string]string
}

func (a *DomainArgs) validate() []string {
	p := required("Spec.Name", a.Spec.Name, "Spec.HostedZoneID", a.Spec.HostedZoneID)
	if a.Mapper == nil {
		p = append(p, "Mapper is required")
	}
	return p
}

// Domain is the custom domain in front of the API: an ACM certificate
// validated through Route 53, the ingress's REGIONAL domain name with TLS
// 1.2 mapped to its stage, and A + AAAA alias records.
type Domain struct {
	pulumi.ResourceState

	Certificate *acm.Certificate

	URL            pulumi.StringOutput `pulumi:"url"`
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`
}

// NewDomain creates the custom domain component.
func NewDomain(ctx *pulumi.Context, name string, args *DomainArgs, opts ...pulumi.ResourceOption) (*Domain, error) {
	if args == nil {
		return nil, fmt.Errorf("domain %s: args are required", name)
	}
	if err := argsError("domain", name, args.validate()); err != nil {
		return nil, err
	}
	dn, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	d := &Domain{}
	if err := ctx.RegisterComponentResource(TypeDomain, name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	var err error
	d.Certificate, err = acm.NewCertificate(ctx, name+"-cert", &acm.CertificateArgs{
		DomainName:       pulumi.String(dn.Name),
		ValidationMethod: pulumi.String("DNS"),
		Tags:             tags,
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

	target, zone, err := args.Mapper.MapDomain(ctx, name, &DomainMapping{
		Name: dn.Name, CertificateArn: validation.CertificateArn, Tags: args.Tags,
	}, parent)
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
