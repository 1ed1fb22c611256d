package contract

import (
	"fmt"
	"strings"
)

// Scheme is a webhook signature scheme a source verifies.
type Scheme string

// The signature schemes hookline understands. An unknown scheme fails closed.
const (
	SchemeStandardWebhooks Scheme = "standard-webhooks"
	SchemeGitHub           Scheme = "github"
	SchemeStripe           Scheme = "stripe"
	SchemeHMACSHA256       Scheme = "hmac-sha256"
	SchemeNone             Scheme = "none"
)

// Schemes lists every known scheme, in documentation order.
var Schemes = []Scheme{SchemeStandardWebhooks, SchemeGitHub, SchemeStripe, SchemeHMACSHA256, SchemeNone}

// ParseScheme returns the scheme named s or an error listing the known ones.
func ParseScheme(s string) (Scheme, error) {
	for _, k := range Schemes {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Schemes))
	for i, k := range Schemes {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown signature scheme %q (want one of %s)", s, strings.Join(names, ", "))
}

// Standard header names of the schemes.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
	HeaderGitHubSignature  = "X-Hub-Signature-256"
	HeaderGitHubDelivery   = "X-GitHub-Delivery"
	HeaderStripeSignature  = "Stripe-Signature"
)

// SignatureHeaders returns the request headers a scheme needs to verify a
// message. customHeader is the configured header of the generic hmac-sha256
// scheme and is ignored by the others.
func (s Scheme) SignatureHeaders(customHeader string) []string {
	switch s {
	case SchemeStandardWebhooks:
		return []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature}
	case SchemeGitHub:
		return []string{HeaderGitHubSignature}
	case SchemeStripe:
		return []string{HeaderStripeSignature}
	case SchemeHMACSHA256:
		if customHeader == "" {
			return nil
		}
		return []string{customHeader}
	default:
		return nil
	}
}

// DefaultEventID is where the scheme's sender puts its event id, used for
// deduplication when a source does not say otherwise. Zero when the scheme has
// no such convention.
func (s Scheme) DefaultEventID() Selector {
	switch s {
	case SchemeStandardWebhooks:
		return Selector{Kind: KindHeader, Name: HeaderWebhookID}
	case SchemeGitHub:
		return Selector{Kind: KindHeader, Name: HeaderGitHubDelivery}
	case SchemeStripe:
		return Selector{Kind: KindBody, Name: "$.id"}
	default:
		return Selector{}
	}
}

// AttributeName is the SQS message attribute that carries header h: its
// lower-case name, so the handler's lookup does not depend on how the sender
// spelled it.
func AttributeName(header string) string { return strings.ToLower(header) }
