package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/secrets"
)

const (
	githubArn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/github"
	token     = "3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f0a2b4c6d8e0f1a3b"
	usageKey  = "usage-key-value-of-github-0123456789"
)

type fakeSecrets struct {
	vals            map[string][]string
	next            map[string][]string // what a refresh reads
	gets, refreshes int
	err             error
}

func (f *fakeSecrets) Get(_ context.Context, name string) ([]string, error) {
	f.gets++
	if f.err != nil {
		return nil, f.err
	}
	return f.vals[name], nil
}

func (f *fakeSecrets) Refresh(_ context.Context, name string) ([]string, bool, error) {
	f.refreshes++
	n, ok := f.next[name]
	if !ok {
		return f.vals[name], false, nil
	}
	f.vals[name] = n
	delete(f.next, name)
	return n, true, nil
}

func newTestAuthorizer() (*Authorizer, *fakeSecrets) {
	sec := &fakeSecrets{vals: map[string][]string{
		"/hookline/dev/github/token-secret": {token},
		"/hookline/dev/github/usage-key":    {usageKey},
	}, next: map[string][]string{}}
	return &Authorizer{
		Routes: contract.AuthorizerRoutes{
			"github":   {Kind: contract.EdgeToken, TokenParameter: "/hookline/dev/github/token-secret", UsageKeyParameter: "/hookline/dev/github/usage-key"},
			"payments": {Kind: contract.EdgeAPIKey},
		},
		Secrets: sec, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}, sec
}

func request(path, methodArn string, query, headers map[string]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, Resource: path, Path: path, HTTPMethod: "POST",
		QueryStringParameters: query, Headers: headers,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{ResourcePath: path, HTTPMethod: "POST", Stage: "v1"},
	}
}

func TestTokenRoute(t *testing.T) {
	ctx := context.Background()
	a, sec := newTestAuthorizer()

	resp, err := a.Authorize(ctx, request("/github", githubArn, map[string]string{"token": token}, nil))
	if err != nil {
		t.Fatal(err)
	}
	st := resp.PolicyDocument.Statement
	if len(st) != 1 || st[0].Effect != "Allow" || st[0].Resource[0] != githubArn || st[0].Action[0] != "execute-api:Invoke" {
		t.Fatalf("right token: policy %+v", resp.PolicyDocument)
	}
	if resp.UsageIdentifierKey != usageKey {
		t.Errorf("usageIdentifierKey %q, want the source's API key (usage plans throttle by it)", resp.UsageIdentifierKey)
	}
	if resp.PrincipalID != "source:github" {
		t.Errorf("principal %q", resp.PrincipalID)
	}

	// A wrong token: an explicit Deny for this method only (cached by API
	// Gateway: repeating it costs no invocation), after one refetch.
	resp, err = a.Authorize(ctx, request("/github", githubArn, map[string]string{"token": token[:len(token)-1] + "0"}, nil))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.UsageIdentifierKey != "" {
		t.Fatalf("wrong token: %+v, %v", resp, err)
	}
	if sec.refreshes != 1 {
		t.Errorf("%d refreshes on a miss, want 1", sec.refreshes)
	}

	// No token: 401.
	if _, err := a.Authorize(ctx, request("/github", githubArn, nil, nil)); !errors.Is(err, ErrUnauthorized) || err.Error() != "Unauthorized" {
		t.Fatalf("no token: %v, want exactly Unauthorized", err)
	}

	// A just-rotated token verifies after one refetch.
	const rotated = "b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9d0d1d2d3d4"
	sec.next["/hookline/dev/github/token-secret"] = []string{rotated, token}
	resp, err = a.Authorize(ctx, request("/github", githubArn, map[string]string{"token": rotated}, nil))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
		t.Fatalf("rotated token: %+v, %v", resp, err)
	}

	// SSM unavailable: fail (500, the sender retries), never Allow.
	sec.err = errors.New("ThrottlingException")
	if _, err := a.Authorize(ctx, request("/github", githubArn, map[string]string{"token": token}, nil)); err == nil {
		t.Fatal("allowed without reading the token")
	}
}

func TestAPIKeyPassThroughAndUnknownRoute(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestAuthorizer()
	arn := strings.Replace(githubArn, "github", "payments", 1)
	resp, err := a.Authorize(ctx, request("/payments", arn, nil, map[string]string{"X-Api-Key": "the-callers-key"}))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.UsageIdentifierKey != "the-callers-key" {
		t.Fatalf("api key route: %+v, %v", resp, err)
	}
	if _, err := a.Authorize(ctx, request("/payments", arn, nil, nil)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("no key: %v", err)
	}
	resp, err = a.Authorize(ctx, request("/other", strings.Replace(githubArn, "github", "other", 1), map[string]string{"token": token}, nil))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" {
		t.Fatalf("unguarded route: %+v, %v", resp, err)
	}
}

func TestTokenMatches(t *testing.T) {
	for _, tc := range []struct {
		token  string
		active []string
		want   bool
	}{
		{token, []string{token}, true},
		{token, []string{"old-token-old-token-old-token-00", token}, true},
		{token, []string{token + "x"}, false},
		{token[:10], []string{token}, false},
		{"", []string{token}, false},
		{token, nil, false},
	} {
		if got := TokenMatches(tc.token, tc.active); got != tc.want {
			t.Errorf("TokenMatches(%q, %v) = %v", tc.token, tc.active, got)
		}
	}
}

func TestRoutesFromTheEnvironment(t *testing.T) {
	if _, err := newAuthorizer(slog.New(slog.NewJSONHandler(io.Discard, nil)), func(k string) string {
		if k == contract.EnvAuthorizerRoutes {
			return `{"github":{"kind":"token"}}`
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "tokenParameter") {
		t.Fatalf("a token route without parameters: %v", err)
	}
	routes := contract.AuthorizerRoutes{"github": {Kind: contract.EdgeToken, TokenParameter: "/a", UsageKeyParameter: "/b"}}
	a, err := newAuthorizer(slog.New(slog.NewJSONHandler(io.Discard, nil)), func(k string) string {
		if k == contract.EnvAuthorizerRoutes {
			return routes.Env()
		}
		return ""
	})
	if err != nil || a.Routes["github"] != routes["github"] {
		t.Fatalf("round trip: %+v, %v", a, err)
	}
}

// An HTTP API sends payload 2.0 and reads a simple response; Handle tells
// the two kinds apart by the version field, as a real event carries it.
func TestHTTPAPIRequests(t *testing.T) {
	ctx := context.Background()
	a, sec := newTestAuthorizer()
	delete(a.Routes, "payments")
	a.Routes["github"] = contract.AuthorizerRoute{Kind: contract.EdgeToken, TokenParameter: "/hookline/dev/github/token-secret"}
	event := func(routeKey, tok string) json.RawMessage {
		q := map[string]string{}
		if tok != "" {
			q["token"] = tok
		}
		b, err := json.Marshal(map[string]any{
			"version": "2.0", "type": "REQUEST", "routeKey": routeKey, "rawPath": "/v1/github",
			"identitySource": []string{tok}, "queryStringParameters": q,
			"requestContext": map[string]any{"requestId": "r1", "http": map[string]any{"sourceIp": "192.0.2.1", "method": "POST"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	authorized := func(raw json.RawMessage) bool {
		t.Helper()
		out, err := a.Handle(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		resp, ok := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse)
		if !ok {
			t.Fatalf("answered an HTTP API request with %T, want a simple response", out)
		}
		b, _ := json.Marshal(resp)
		if !strings.Contains(string(b), `"isAuthorized":`) {
			t.Fatalf("response %s has no isAuthorized", b)
		}
		return resp.IsAuthorized
	}
	if !authorized(event("POST /github", token)) {
		t.Error("right token refused")
	}
	if authorized(event("POST /github", token[:len(token)-1]+"0")) {
		t.Error("wrong token authorized")
	}
	if authorized(event("POST /github", "")) {
		t.Error("no token authorized")
	}
	if authorized(event("POST /payments", token)) {
		t.Error("a token of github opened another source's route")
	}
	sec.err = errors.New("ssm down")
	if _, err := a.Handle(ctx, event("POST /github", token)); err == nil {
		t.Error("an unreadable secret did not fail the invocation")
	}
	sec.err = nil

	// A REST request still gets a policy.
	raw, _ := json.Marshal(request("/github", githubArn, map[string]string{"token": token}, nil))
	out, err := a.Handle(ctx, raw)
	if _, ok := out.(events.APIGatewayCustomAuthorizerResponse); !ok || err != nil {
		t.Fatalf("REST request answered with %T, %v", out, err)
	}
}

// paramSSM is an SSM parameter store holding one value per name.
type paramSSM map[string]string

func (p paramSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	v, ok := p[aws.ToString(in.Name)]
	if !ok {
		return nil, errors.New("parameter not found")
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}, nil
}

// TestTokenRotation: during a rotation the token parameter, read through
// the secrets store, holds both tokens one per line (contract's rotation
// format), and both pass; one written in the former space-separated format
// still yields both (a token never holds white space); anything else is
// denied.
func TestTokenRotation(t *testing.T) {
	const oldTok = "0123456789abcdef0123456789abcdef0123456789abcdef"
	for name, param := range map[string]string{
		"one per line":           token + "\n" + oldTok + "\n",
		"former space-separated": token + " " + oldTok,
	} {
		t.Run(name, func(t *testing.T) {
			a, _ := newTestAuthorizer()
			a.Routes["github"] = contract.AuthorizerRoute{Kind: contract.EdgeToken, TokenParameter: "/hookline/dev/github/token-secret"}
			a.Secrets = secrets.New(paramSSM{"/hookline/dev/github/token-secret": param})
			for tok, want := range map[string]string{token: "Allow", oldTok: "Allow", token + " " + oldTok: "Deny", "nope": "Deny"} {
				resp, err := a.Authorize(context.Background(), request("/github", githubArn, map[string]string{"token": tok}, nil))
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.PolicyDocument.Statement[0].Effect; got != want {
					t.Errorf("token %.8s…: %s, want %s", tok, got, want)
				}
				h, err := a.AuthorizeHTTP(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{RouteKey: "POST /github",
					QueryStringParameters: map[string]string{"token": tok}})
				if err != nil {
					t.Fatal(err)
				}
				if h.IsAuthorized != (want == "Allow") {
					t.Errorf("HTTP API, token %.8s…: authorized %v, want %s", tok, h.IsAuthorized, want)
				}
			}
		})
	}
}
