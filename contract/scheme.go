package contract

import (
	"fmt"
	"slices"
	"strings"
)

// Scheme is a webhook signature scheme a source verifies.
type Scheme string

// The signature schemes hookline understands. An unknown scheme fails closed.
const (
	SchemeStandardWebhooks Scheme = "standard-webhooks"
	SchemeGitHub           Scheme = "github"
	SchemeStripe           Scheme = "stripe"
	SchemeSlack            Scheme = "slack"
	SchemeShopify          Scheme = "shopify"
	SchemeHMACSHA256       Scheme = "hmac-sha256"
	SchemeNone             Scheme = "none"
)

// Schemes lists every known scheme, in documentation order.
var Schemes = []Scheme{SchemeStandardWebhooks, SchemeGitHub, SchemeStripe, SchemeSlack, SchemeShopify, SchemeHMACSHA256, SchemeNone}

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
	HeaderSlackSignature   = "X-Slack-Signature"
	HeaderSlackTimestamp   = "X-Slack-Request-Timestamp"
	HeaderShopifyHMAC      = "X-Shopify-Hmac-Sha256"
	HeaderShopifyWebhookID = "X-Shopify-Webhook-Id"
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
	case SchemeSlack:
		return []string{HeaderSlackTimestamp, HeaderSlackSignature}
	case SchemeShopify:
		return []string{HeaderShopifyHMAC}
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
	case SchemeSlack:
		return Selector{Kind: KindBody, Name: "$.event_id"}
	case SchemeShopify:
		return Selector{Kind: KindHeader, Name: HeaderShopifyWebhookID}
	default:
		return Selector{}
	}
}

// AttributeName is the SQS message attribute that carries header h: its
// lower-case name, so the handler's lookup does not depend on how the sender
// spelled it.
func AttributeName(header string) string { return strings.ToLower(header) }

// SignsBody reports whether the scheme's signature covers the body, so a
// source using it may be open at the edge (auth kind signature): every
// known scheme but none.
func (s Scheme) SignsBody() bool { return s != SchemeNone && slices.Contains(Schemes, s) }

// SignsDeliveryID reports whether the scheme signs the sender's delivery
// id or a timestamp along with the body. When it does not (GitHub, Shopify,
// generic HMAC), a captured delivery can be replayed under a fresh id, so
// long-window idempotency keys such a source on the body's hash.
func (s Scheme) SignsDeliveryID() bool {
	switch s {
	case SchemeStandardWebhooks, SchemeStripe, SchemeSlack:
		return true
	default:
		return false
	}
}

// signatureOnlyPrefix starts the operationName of a method that is open at
// the edge on purpose (auth kind signature).
const signatureOnlyPrefix = "hookline:signature-only:"

// SignatureOnlyOperation is the operationName that declares a method open
// at the edge on purpose: its consumer verifies the body's signature with
// scheme s and drops forgeries. The policy pack's authorized-methods rule
// accepts an open method only with this declaration and a body-signing
// scheme; it sits on the method itself, so the rule judges it at preview.
func SignatureOnlyOperation(s Scheme) string { return signatureOnlyPrefix + string(s) }

// ParseSignatureOnlyOperation reads the scheme of a SignatureOnlyOperation;
// ok is false for any other operationName.
func ParseSignatureOnlyOperation(op string) (Scheme, bool) {
	s, ok := strings.CutPrefix(op, signatureOnlyPrefix)
	return Scheme(s), ok
}
