package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

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

// NewRouteSpec derives a source's REST route from its spec.
func NewRouteSpec(s SourceSpec) RouteSpec {
	r := RouteSpec{
		Source:            s.Name,
		Path:              "/" + s.Name,
		HTTPMethod:        "POST",
		RequestParameters: map[string]bool{},
		RequestTemplates:  s.Contract.RequestTemplates(),
		IntegrationRequest: map[string]string{
			"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
			"integration.request.header.Accept":       "'application/json'",
		},
		QueueName:           s.Queues.QueueName,
		MethodStatusCodes:   contract.MethodStatusCodes,
		IntegrationResponse: contract.IntegrationResponses(),
	}
	switch s.Auth.Type {
	case stackconfig.AuthAPIKey:
		r.Authorization, r.APIKeyRequired = AuthorizationNone, true
		if s.Auth.ThroughAuthorizer {
			// The API's key source is AUTHORIZER: the key reaches API
			// Gateway through the authorizer's pass-through.
			r.Authorization, r.EdgeCheck = AuthorizationCustom, contract.EdgeAPIKey
		}
	case stackconfig.AuthToken:
		r.Authorization, r.APIKeyRequired, r.EdgeCheck = AuthorizationCustom, true, contract.EdgeToken
		r.RequestParameters["method.request.querystring."+contract.TokenQueryParameter] = true
	case stackconfig.AuthSignature:
		r.Authorization, r.SignatureOnly = AuthorizationNone, s.Auth.Signature
	case stackconfig.AuthCognito:
		r.Authorization, r.UserPoolARN, r.Scopes = AuthorizationCognito, s.Auth.UserPoolARN, s.Auth.Scopes
		r.RequestParameters["method.request.header.Authorization"] = true
	case stackconfig.AuthIAM:
		r.Authorization = AuthorizationIAM
	}
	for _, h := range s.Contract.RequiredHeaders() {
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

// HTTP API authorization types (a route's authorizationType).
const (
	HTTPAuthorizationNone   = "NONE"
	HTTPAuthorizationJWT    = "JWT"
	HTTPAuthorizationIAM    = "AWS_IAM"
	HTTPAuthorizationCustom = "CUSTOM"
)

// HTTPRouteSpec is everything that decides one source's route and
// integration on an HTTP API; the stage's deployment is triggered by a hash
// of them, as on a REST API.
type HTTPRouteSpec struct {
	Source            string   `json:"source"`
	RouteKey          string   `json:"routeKey"`
	AuthorizationType string   `json:"authorizationType"`
	Scopes            []string `json:"scopes,omitempty"`
	// Issuer and Audiences configure a cognito source's JWT authorizer.
	Issuer    string   `json:"issuer,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
	// SignatureOnly is the scheme of a route open at the edge (auth signature).
	SignatureOnly contract.Scheme `json:"signatureOnly,omitempty"`
	// RequestParameters are the integration's, but QueueUrl: the queue's
	// URL output is set beside them (QueueName stands for it in the hash).
	RequestParameters map[string]string `json:"requestParameters"`
	QueueName         string            `json:"queueName"`
}

// NewHTTPRouteSpec derives a source's HTTP API route from its spec.
func NewHTTPRouteSpec(s SourceSpec) HTTPRouteSpec {
	r := HTTPRouteSpec{
		Source:            s.Name,
		RouteKey:          "POST /" + s.Name,
		RequestParameters: s.Contract.HTTPRequestParameters(""),
		QueueName:         s.Queues.QueueName,
	}
	delete(r.RequestParameters, "QueueUrl")
	switch s.Auth.Type {
	case stackconfig.AuthToken:
		r.AuthorizationType = HTTPAuthorizationCustom
	case stackconfig.AuthCognito:
		r.AuthorizationType, r.Scopes = HTTPAuthorizationJWT, s.Auth.Scopes
		r.Issuer, r.Audiences = CognitoIssuer(s.Auth.UserPoolARN), s.Auth.Audiences
	case stackconfig.AuthIAM:
		r.AuthorizationType = HTTPAuthorizationIAM
	default: // signature; apiKey is refused by the config on http
		r.AuthorizationType, r.SignatureOnly = HTTPAuthorizationNone, s.Auth.Signature
	}
	return r
}

// CognitoIssuer is the issuer of a user pool's tokens,
// https://cognito-idp.<region>.amazonaws.com/<pool id>, from its ARN
// (arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>).
func CognitoIssuer(userPoolARN string) string {
	parts := strings.SplitN(userPoolARN, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return "https://cognito-idp." + parts[3] + ".amazonaws.com/" + strings.TrimPrefix(parts[5], "userpool/")
}

// HTTPDeploymentTriggers hash every HTTP route, so a change to any
// redeploys the stage and an unchanged stack never does.
func HTTPDeploymentTriggers(routes []HTTPRouteSpec) map[string]string {
	sorted := append([]HTTPRouteSpec(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Source < sorted[j].Source })
	b, err := json.Marshal(sorted)
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return map[string]string{"routes": hex.EncodeToString(sum[:])}
}
