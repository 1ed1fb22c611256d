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

// RESTAuthorizerSpec is a REST API authorizer as a deployment serves it:
// everything of it but the function's ARN (an output, hashed beside).
type RESTAuthorizerSpec struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	IdentitySource string `json:"identitySource"`
	TTL            int    `json:"ttl"`
}

// RESTServed is everything a REST API's deployment snapshots beside its
// routes (which carry their methods, integrations, responses and Cognito
// authorizers): the edge authorizers and the default endpoint switch.
type RESTServed struct {
	// DisableExecuteAPIEndpoint: AWS ("Disable the default endpoint for REST
	// APIs"): "This setting takes affect when you update any setting on any
	// stage, such as updating the deployment on the stage."
	DisableExecuteAPIEndpoint bool                 `json:"disableExecuteApiEndpoint"`
	Authorizers               []RESTAuthorizerSpec `json:"authorizers"`
}

// DeploymentTriggers are the REST Deployment's triggers: a hash of every
// route, of the gateway responses, of the edge authorizers and of the
// default endpoint switch (RESTServed). An authorizer's TTL or identity
// source is part of the API a deployment snapshots; AWS does not say
// whether a changed REST authorizer is served before a redeploy, and a
// redeploy too many costs one deployment. Method settings (throttles,
// metrics, logging) are not hashed: they are the stage's own settings
// (UpdateStage), served without a deployment. Equal configs give equal
// hashes (JSON of maps is key-sorted), so an unchanged stack never
// redeploys.
func DeploymentTriggers(routes []RouteSpec, served RESTServed) map[string]string {
	sorted := append([]RouteSpec(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Source < sorted[j].Source })
	authz := append([]RESTAuthorizerSpec(nil), served.Authorizers...)
	sort.Slice(authz, func(i, j int) bool { return authz[i].Name < authz[j].Name })
	served.Authorizers = authz
	return map[string]string{TriggerServed: hashJSON(struct {
		Routes           []RouteSpec       `json:"routes"`
		GatewayResponses map[string]string `json:"gatewayResponses"`
		Served           RESTServed        `json:"served"`
	}{sorted, contract.GatewayResponses(), served})}
}

// Deployment trigger keys: TriggerServed hashes the plain config a stage
// serves, TriggerAuthorizerFunction is the edge authorizer's invoke ARN
// (an output: a replaced function under a new ARN redeploys; code updates
// of the same function need none, API Gateway invokes it by ARN).
const (
	TriggerServed             = "served"
	TriggerAuthorizerFunction = "authorizerFunction"
)

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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
	// AuthorizerIdentitySources are a cognito source's JWT authorizer's.
	AuthorizerIdentitySources []string `json:"authorizerIdentitySources,omitempty"`
	// RequestParameters are the integration's, but QueueUrl: the queue's
	// URL output is set beside them (QueueName stands for it in the hash).
	RequestParameters map[string]string `json:"requestParameters"`
	// ResponseParameters are the integration's response mappings, keyed by
	// the status SQS answers with (HTTPResponseParameters).
	ResponseParameters map[string]map[string]string `json:"responseParameters"`
	QueueName          string                       `json:"queueName"`
}

// HTTPAcceptedStatus is the status an HTTP API answers a queued webhook
// with, as a REST API does.
const HTTPAcceptedStatus = "202"

// HTTPResponseParameters are the response mappings of every source's
// SQS-SendMessage integration: SQS's success (200) is answered 202, as on
// a REST API. AWS ("Transform API requests and responses for HTTP APIs"):
// response parameters are configured "for each status code that your
// integration returns", and can "modify headers or the status code of a
// response" (keys append|overwrite|remove:header.<name> and
// overwrite:statuscode) — never the body, so the body stays SQS's own
// SendMessage answer, and SQS's error bodies (which may name the queue's
// ARN, hence the account) cannot be rewritten either.
func HTTPResponseParameters() map[string]map[string]string {
	return map[string]map[string]string{"200": {"overwrite:statuscode": HTTPAcceptedStatus}}
}

// NewHTTPRouteSpec derives a source's HTTP API route from its spec.
func NewHTTPRouteSpec(s SourceSpec) HTTPRouteSpec {
	r := HTTPRouteSpec{
		Source:             s.Name,
		RouteKey:           "POST /" + s.Name,
		RequestParameters:  s.Contract.HTTPRequestParameters(""),
		ResponseParameters: HTTPResponseParameters(),
		QueueName:          s.Queues.QueueName,
	}
	delete(r.RequestParameters, "QueueUrl")
	switch s.Auth.Type {
	case stackconfig.AuthToken:
		r.AuthorizationType = HTTPAuthorizationCustom
	case stackconfig.AuthCognito:
		r.AuthorizationType, r.Scopes = HTTPAuthorizationJWT, s.Auth.Scopes
		r.Issuer, r.Audiences = CognitoIssuer(s.Auth.UserPoolARN), s.Auth.Audiences
		r.AuthorizerIdentitySources = []string{"$request.header.Authorization"}
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

// HTTPAuthorizerSpec is an HTTP API authorizer as the stage serves it:
// everything of it but the function's ARN (an output, hashed beside).
type HTTPAuthorizerSpec struct {
	Name                 string   `json:"name"`
	Type                 string   `json:"type"`
	IdentitySources      []string `json:"identitySources"`
	TTL                  int      `json:"ttl"`
	PayloadFormatVersion string   `json:"payloadFormatVersion"`
	SimpleResponses      bool     `json:"simpleResponses"`
}

// HTTPServed is everything an HTTP API's stage serves only once deployed
// (autoDeploy is off), beside its routes (which carry their integrations,
// response mappings and JWT authorizers): the token authorizer and the
// default endpoint switch. AWS ("Disable the default endpoint for HTTP
// APIs"): "After you disable the default endpoint, you must deploy your
// API for the change to take effect, unless automatic deployments are
// enabled"; an authorizer's TTL or function is likewise served only by a
// new deployment (terraform-aws-modules/terraform-aws-apigateway-v2#139).
type HTTPServed struct {
	DisableExecuteAPIEndpoint bool `json:"disableExecuteApiEndpoint"`
	// TokenAuthorizer is nil without token sources.
	TokenAuthorizer *HTTPAuthorizerSpec `json:"tokenAuthorizer,omitempty"`
}

// HTTPDeploymentTriggers hash every HTTP route and what else the stage
// serves, so a change to any redeploys the stage and an unchanged stack
// never does.
func HTTPDeploymentTriggers(routes []HTTPRouteSpec, served HTTPServed) map[string]string {
	sorted := append([]HTTPRouteSpec(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Source < sorted[j].Source })
	return map[string]string{TriggerServed: hashJSON(struct {
		Routes []HTTPRouteSpec `json:"routes"`
		Served HTTPServed      `json:"served"`
	}{sorted, served})}
}
