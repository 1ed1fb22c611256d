package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/contract"
)

// TestSharedHTTPAuthorizerKeepsSourcesApart: on an HTTP API one authorizer
// serves every token source, its answers cached per token and route
// ($context.routeKey in its identity sources). Each (token, route) pair it
// is asked about is judged against that route's own token only, so a
// token of one source never opens another's route, either way round, and
// a route it does not know is refused (issue 27 item 2).
func TestSharedHTTPAuthorizerKeepsSourcesApart(t *testing.T) {
	const stripeToken, shopifyToken = "stripe-token-0123456789abcdef0123456789abcdef", "shopify-token-0123456789abcdef0123456789abcde"
	a := &Authorizer{
		Routes: contract.AuthorizerRoutes{
			"stripe":  {Kind: contract.EdgeToken, TokenParameter: "/t/stripe"},
			"shopify": {Kind: contract.EdgeToken, TokenParameter: "/t/shopify"},
		},
		Secrets: &fakeSecrets{vals: map[string][]string{"/t/stripe": {stripeToken}, "/t/shopify": {shopifyToken}}, next: map[string][]string{}},
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	for _, tc := range []struct {
		route, token string
		want         bool
	}{
		{"POST /stripe", stripeToken, true},
		{"POST /shopify", shopifyToken, true},
		{"POST /shopify", stripeToken, false},
		{"POST /stripe", shopifyToken, false},
		{"POST /github", stripeToken, false},
	} {
		// The identity sources API Gateway sends (and caches on): the
		// token and the route key.
		req := events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST", RouteKey: tc.route, IdentitySource: []string{tc.token, tc.route},
			QueryStringParameters: map[string]string{"token": tc.token},
		}
		resp, err := a.AuthorizeHTTP(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.IsAuthorized != tc.want {
			t.Errorf("token of %s on %s: authorized %v, want %v", map[string]string{stripeToken: "stripe", shopifyToken: "shopify"}[tc.token], tc.route, resp.IsAuthorized, tc.want)
		}
	}
}
