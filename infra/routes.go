package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// API Gateway authorization types.
const (
	AuthorizationNone    = "NONE"
	AuthorizationCognito = "COGNITO_USER_POOLS"
	AuthorizationIAM     = "AWS_IAM"
	AuthorizationCustom  = "CUSTOM"
)

// RouteSpec is everything that decides one source's method and integration
// in API Gateway. The resources are created from it and the Deployment's
// trigger is a hash of it, so any change to a route redeploys the stage.
type RouteSpec struct {
	Source         string `json:"source"`
	Path           string `json:"path"`
	HTTPMethod     string `json:"httpMethod"`
	Authorization  string `json:"authorization"`
	APIKeyRequired bool   `json:"apiKeyRequired"`
	// EdgeCheck is what hookline's edge authorizer checks on a CUSTOM
	// route: contract.EdgeToken or contract.EdgeAPIKey.
	EdgeCheck string `json:"edgeCheck,omitempty"`
	// SignatureOnly is the scheme of a route deliberately open at the edge
	// (auth signature): the consumer verifies it and drops forgeries.
	SignatureOnly       contract.Scheme                `json:"signatureOnly,omitempty"`
	UserPoolARN         string                         `json:"userPoolArn,omitempty"`
	Scopes              []string                       `json:"scopes,omitempty"`
	RequestParameters   map[string]bool                `json:"requestParameters"`
	RequestTemplates    map[string]string              `json:"requestTemplates"`
	IntegrationRequest  map[string]string              `json:"integrationRequestParameters"`
	QueueName           string                         `json:"queueName"`
	MethodStatusCodes   []string                       `json:"methodStatusCodes"`
	IntegrationResponse []contract.IntegrationResponse `json:"integrationResponses"`
}

// NewRouteSpec derives a source's route from its validated config.
func NewRouteSpec(c *stackconfig.Config, s stackconfig.Source) RouteSpec {
	spec := s.Spec()
	r := RouteSpec{
		Source:            s.Name,
		Path:              "/" + s.Name,
		HTTPMethod:        "POST",
		RequestParameters: map[string]bool{},
		RequestTemplates:  spec.RequestTemplates(),
		IntegrationRequest: map[string]string{
			"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
			"integration.request.header.Accept":       "'application/json'",
		},
		QueueName:           c.QueueName(s),
		MethodStatusCodes:   contract.MethodStatusCodes,
		IntegrationResponse: contract.IntegrationResponses(),
	}
	switch s.Auth.Type {
	case stackconfig.AuthAPIKey:
		r.Authorization, r.APIKeyRequired = AuthorizationNone, true
		if c.ThroughAuthorizer(s) {
			// The API's key source is AUTHORIZER: the key reaches API
			// Gateway through the authorizer's pass-through.
			r.Authorization, r.EdgeCheck = AuthorizationCustom, contract.EdgeAPIKey
		}
	case stackconfig.AuthToken:
		r.Authorization, r.APIKeyRequired, r.EdgeCheck = AuthorizationCustom, true, contract.EdgeToken
		r.RequestParameters["method.request.querystring."+contract.TokenQueryParameter] = true
	case stackconfig.AuthSignature:
		r.Authorization, r.SignatureOnly = AuthorizationNone, s.Signature.Scheme
	case stackconfig.AuthCognito:
		r.Authorization, r.UserPoolARN, r.Scopes = AuthorizationCognito, s.Auth.UserPoolARN, s.Auth.Scopes
		r.RequestParameters["method.request.header.Authorization"] = true
	case stackconfig.AuthIAM:
		r.Authorization = AuthorizationIAM
	}
	for _, h := range spec.RequiredHeaders() {
		r.RequestParameters["method.request.header."+h] = true
	}
	return r
}

// DeploymentTriggers are the Deployment's triggers: a hash of every route and
// of the gateway responses. Equal configs give equal hashes (JSON of maps is
// key-sorted), so an unchanged stack never redeploys.
func DeploymentTriggers(routes []RouteSpec) map[string]string {
	sorted := append([]RouteSpec(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Source < sorted[j].Source })
	b, err := json.Marshal(struct {
		Routes           []RouteSpec       `json:"routes"`
		GatewayResponses map[string]string `json:"gatewayResponses"`
	}{sorted, contract.GatewayResponses()})
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return map[string]string{"routes": hex.EncodeToString(sum[:])}
}
