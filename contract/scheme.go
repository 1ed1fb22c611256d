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

// schemeDef is one row of schemeTable.
type schemeDef struct {
	name Scheme
	// headers are the request headers the scheme writes and needs to verify,
	// in the order the request template forwards them. A customHeader
	// scheme's one header is the source's configured signature.header.
	headers      []string
	customHeader bool
	// eventID is where the scheme's senders put their event id, used for
	// deduplication when a source names none; zero when there is no
	// convention.
	eventID Selector
	// signsBody: the signature covers the body, so a source using the
	// scheme may be open at the edge (auth kind signature).
	signsBody bool
	// signsDeliveryID: the signature covers the sender's delivery id or a
	// timestamp along with the body. When it does not, a captured delivery
	// can be replayed under a fresh id, so long-window idempotency keys such
	// a source on the body's hash.
	signsDeliveryID bool
	// deliveryHeaders are the headers carrying the sender's delivery id that
	// the scheme's senders always send but do not sign: the edge requires
	// them, so a captured delivery cannot be replayed without its id
	// (headers already in headers are required anyway).
	deliveryHeaders []string
	// impl builds the scheme's implementation (signing.go): Sign beside
	// Verify, writing and reading exactly headers.
	impl func(SchemeOptions) (SignatureScheme, error)
}

// schemeTable is the one list of signature schemes, in documentation order.
// Everything hookline knows of a scheme — the headers the request template
// forwards, where its senders put their event id, how a sender signs (hookline
// send and invoke, the forward processor) and how the handler verifies —
// is read from its row, so a scheme is added here or nowhere.
var schemeTable = []schemeDef{
	{
		name:    SchemeStandardWebhooks,
		headers: []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature},
		eventID: Selector{Kind: KindHeader, Name: HeaderWebhookID}, signsBody: true, signsDeliveryID: true,
		impl: func(o SchemeOptions) (SignatureScheme, error) { return standardWebhooks{o.tolerance()}, nil },
	},
	{
		name:    SchemeGitHub,
		headers: []string{HeaderGitHubSignature},
		eventID: Selector{Kind: KindHeader, Name: HeaderGitHubDelivery}, signsBody: true,
		deliveryHeaders: []string{HeaderGitHubDelivery},
		impl:            func(SchemeOptions) (SignatureScheme, error) { return github{}, nil },
	},
	{
		name:    SchemeStripe,
		headers: []string{HeaderStripeSignature},
		eventID: Selector{Kind: KindBody, Name: "$.id"}, signsBody: true, signsDeliveryID: true,
		impl: func(o SchemeOptions) (SignatureScheme, error) { return stripe{o.tolerance()}, nil },
	},
	{
		name:    SchemeSlack,
		headers: []string{HeaderSlackTimestamp, HeaderSlackSignature},
		eventID: Selector{Kind: KindBody, Name: "$.event_id"}, signsBody: true, signsDeliveryID: true,
		impl: func(o SchemeOptions) (SignatureScheme, error) { return slack{o.tolerance()}, nil },
	},
	{
		name:    SchemeShopify,
		headers: []string{HeaderShopifyHMAC},
		eventID: Selector{Kind: KindHeader, Name: HeaderShopifyWebhookID}, signsBody: true,
		deliveryHeaders: []string{HeaderShopifyWebhookID},
		impl: func(SchemeOptions) (SignatureScheme, error) {
			return bodyHMAC{header: HeaderShopifyHMAC, encoding: "base64"}, nil
		},
	},
	{
		name:         SchemeHMACSHA256,
		customHeader: true, signsBody: true,
		impl: newBodyHMAC,
	},
	{
		name: SchemeNone,
		impl: func(SchemeOptions) (SignatureScheme, error) { return none{}, nil },
	},
}

// Schemes lists every known scheme, in documentation order.
var Schemes = func() []Scheme {
	out := make([]Scheme, len(schemeTable))
	for i, d := range schemeTable {
		out[i] = d.name
	}
	return out
}()

// def is the scheme's row of schemeTable.
func (s Scheme) def() (*schemeDef, bool) {
	for i := range schemeTable {
		if schemeTable[i].name == s {
			return &schemeTable[i], true
		}
	}
	return nil, false
}

// ParseScheme returns the scheme named s or an error listing the known ones.
func ParseScheme(s string) (Scheme, error) {
	if _, ok := Scheme(s).def(); ok {
		return Scheme(s), nil
	}
	names := make([]string, len(Schemes))
	for i, k := range Schemes {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown signature scheme %q (want one of %s)", s, strings.Join(names, ", "))
}

// Implementation returns the scheme's signer and verifier, configured by o.
// An unknown scheme fails closed (ErrUnknownScheme); so does a generic
// hmac-sha256 scheme without its header or with an encoding other than hex
// or base64.
func (s Scheme) Implementation(o SchemeOptions) (SignatureScheme, error) {
	d, ok := s.def()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownScheme, s)
	}
	return d.impl(o)
}

// SignatureHeaders returns the request headers a scheme needs to verify a
// message. customHeader is the configured header of the generic hmac-sha256
// scheme and is ignored by the others.
func (s Scheme) SignatureHeaders(customHeader string) []string {
	d, ok := s.def()
	switch {
	case !ok:
		return nil
	case d.customHeader:
		if customHeader == "" {
			return nil
		}
		return []string{customHeader}
	default:
		return slices.Clone(d.headers)
	}
}

// DeliveryHeaders are the delivery-id headers the scheme's senders always
// send along with the signature headers (GitHub's X-GitHub-Delivery,
// Shopify's X-Shopify-Webhook-Id): a request without one is not a genuine
// delivery, and the edge refuses it (Spec.RequiredHeaders).
func (s Scheme) DeliveryHeaders() []string {
	if d, ok := s.def(); ok {
		return slices.Clone(d.deliveryHeaders)
	}
	return nil
}

// DefaultEventID is where the scheme's sender puts its event id, used for
// deduplication when a source does not say otherwise. Zero when the scheme has
// no such convention.
func (s Scheme) DefaultEventID() Selector {
	if d, ok := s.def(); ok {
		return d.eventID
	}
	return Selector{}
}

// AttributeName is the SQS message attribute that carries header h: its
// lower-case name, so the handler's lookup does not depend on how the sender
// spelled it.
func AttributeName(header string) string { return strings.ToLower(header) }

// SignsBody reports whether the scheme's signature covers the body, so a
// source using it may be open at the edge (auth kind signature): every
// known scheme but none.
func (s Scheme) SignsBody() bool {
	d, ok := s.def()
	return ok && d.signsBody
}

// SignsDeliveryID reports whether the scheme signs the sender's delivery
// id or a timestamp along with the body. When it does not (GitHub, Shopify,
// generic HMAC), a captured delivery can be replayed under a fresh id, so
// long-window idempotency keys such a source on the body's hash.
func (s Scheme) SignsDeliveryID() bool {
	d, ok := s.def()
	return ok && d.signsDeliveryID
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
