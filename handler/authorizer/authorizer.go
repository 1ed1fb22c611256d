package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
)

// ErrUnauthorized is the error API Gateway turns into 401 Unauthorized.
// Its text must be exactly "Unauthorized".
var ErrUnauthorized = errors.New("Unauthorized")

// Secrets reads SSM SecureString parameters (handler/secrets.Store).
type Secrets interface {
	Get(ctx context.Context, name string) ([]string, error)
	Refresh(ctx context.Context, name string) (vals []string, refreshed bool, err error)
}

// Authorizer is the REQUEST authorizer of a stack's token and API-key
// routes. API Gateway caches its answer per identity source (the token, or
// the x-api-key header) for the route's TTL, and applies a cached policy
// only to the method it names, so a token of one source never opens
// another's route.
type Authorizer struct {
	Routes  contract.AuthorizerRoutes
	Secrets Secrets
	Log     *slog.Logger
}

// Authorize answers one authorization request. A request without its
// credential gets 401; a wrong token an explicit Deny (403), which API
// Gateway caches too, so repeating it costs no invocation; a secret that
// cannot be read fails the invocation (500: the sender retries later).
func (a *Authorizer) Authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	source := routeSource(req)
	route, ok := a.Routes[source]
	if !ok {
		a.Log.Warn("authorizer: request for a route it does not guard", "resourcePath", req.RequestContext.ResourcePath, "requestId", req.RequestContext.RequestID)
		return deny(source, req.MethodArn), nil
	}
	switch route.Kind {
	case contract.EdgeAPIKey:
		key := header(req.Headers, "x-api-key")
		if key == "" {
			return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
		}
		// API Gateway checks the key against the stage's usage plans.
		resp := allow(source, req.MethodArn)
		resp.UsageIdentifierKey = key
		return resp, nil
	case contract.EdgeToken:
		token := req.QueryStringParameters[contract.TokenQueryParameter]
		if token == "" {
			return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
		}
		match, err := a.tokenMatches(ctx, route.TokenParameter, token)
		if err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, err
		}
		if !match {
			a.Log.Warn("authorizer: wrong token", "source", source, "requestId", req.RequestContext.RequestID, "sourceIp", req.RequestContext.Identity.SourceIP)
			return deny(source, req.MethodArn), nil
		}
		resp := allow(source, req.MethodArn)
		if route.UsageKeyParameter == "" {
			return resp, nil // no usage plan to throttle by
		}
		keys, err := a.Secrets.Get(ctx, route.UsageKeyParameter)
		if err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, err
		}
		if len(keys) == 0 {
			return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: parameter %s holds no usage key", route.UsageKeyParameter)
		}
		resp.UsageIdentifierKey = keys[0]
		return resp, nil
	}
	return deny(source, req.MethodArn), nil
}

// tokenMatches compares the token with every active token in constant
// time (over SHA-256 digests, so not even the length leaks); a miss reads
// the parameter again once (rate-limited by the store) in case the token
// was just rotated.
func (a *Authorizer) tokenMatches(ctx context.Context, param, token string) (bool, error) {
	tokens, err := a.Secrets.Get(ctx, param)
	if err != nil {
		return false, err
	}
	if TokenMatches(token, contract.TokenValues(tokens)) {
		return true, nil
	}
	fresh, refreshed, err := a.Secrets.Refresh(ctx, param)
	if err != nil || !refreshed {
		return false, err
	}
	return TokenMatches(token, contract.TokenValues(fresh)), nil
}

// TokenMatches reports whether token equals one of the active tokens. It
// compares SHA-256 digests with subtle.ConstantTimeCompare and checks every
// candidate, so its time depends on neither the token nor which one matched.
func TokenMatches(token string, active []string) bool {
	got := sha256.Sum256([]byte(token))
	match := 0
	for _, t := range active {
		want := sha256.Sum256([]byte(t))
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

// routeSource is the source a request is for: its resource path's segment.
func routeSource(req events.APIGatewayCustomAuthorizerRequestTypeRequest) string {
	p := req.RequestContext.ResourcePath
	if p == "" {
		p = req.Resource
	}
	return strings.Trim(p, "/")
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func policy(principal, effect, methodArn string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{methodArn},
			}},
		},
	}
}

func allow(source, methodArn string) events.APIGatewayCustomAuthorizerResponse {
	return policy("source:"+source, "Allow", methodArn)
}

func deny(source, methodArn string) events.APIGatewayCustomAuthorizerResponse {
	return policy("source:"+source, "Deny", methodArn)
}

// AuthorizeHTTP answers an HTTP API's authorization request (payload 2.0,
// simple responses): isAuthorized true for a token that matches the route's
// source. A wrong or missing token is refused (403, cached per token like an
// allow); a secret that cannot be read fails the invocation (500: the
// sender retries later). An HTTP API has no usage plans, so no key is handed
// back.
func (a *Authorizer) AuthorizeHTTP(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	source := httpRouteSource(req)
	refuse := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	route, ok := a.Routes[source]
	if !ok || route.Kind != contract.EdgeToken {
		a.Log.Warn("authorizer: request for a route it does not guard", "routeKey", req.RouteKey, "requestId", req.RequestContext.RequestID)
		return refuse, nil
	}
	token := req.QueryStringParameters[contract.TokenQueryParameter]
	if token == "" {
		return refuse, nil
	}
	match, err := a.tokenMatches(ctx, route.TokenParameter, token)
	if err != nil {
		return refuse, err
	}
	if !match {
		a.Log.Warn("authorizer: wrong token", "source", source, "requestId", req.RequestContext.RequestID, "sourceIp", req.RequestContext.HTTP.SourceIP)
		return refuse, nil
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"source": source}}, nil
}

// httpRouteSource is the source an HTTP API request is for: the path of its
// route key ("POST /payments").
func httpRouteSource(req events.APIGatewayV2CustomAuthorizerV2Request) string {
	_, path, ok := strings.Cut(req.RouteKey, " ")
	if !ok {
		path = req.RawPath
	}
	return strings.Trim(path, "/")
}

// Handle answers either kind of request: an HTTP API's (payload version
// 2.0) or a REST API's. One binary serves both ingresses.
func (a *Authorizer) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("authorizer: the request is not JSON: %w", err)
	}
	if probe.Version == "2.0" {
		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("authorizer: malformed HTTP API request: %w", err)
		}
		return a.AuthorizeHTTP(ctx, req)
	}
	var req events.APIGatewayCustomAuthorizerRequestTypeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("authorizer: malformed REST API request: %w", err)
	}
	return a.Authorize(ctx, req)
}
