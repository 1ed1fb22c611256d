package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hookline/hookline/handler/secrets"
)

// BenchmarkAuthorizeWarm is one authorization in a warm container (secrets
// cached): the cost of every authorizer invocation after the first, which
// API Gateway in turn caches per token for the route's TTL.
func BenchmarkAuthorizeWarm(b *testing.B) {
	a, _ := newTestAuthorizer()
	req := request("/github", githubArn, map[string]string{"token": token}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, err := a.Authorize(ctx, req); err != nil || resp.UsageIdentifierKey == "" {
			b.Fatal(resp, err)
		}
	}
}

// BenchmarkTokenMatches is the constant-time comparison alone, the
// baseline the warm authorization is reported against.
func BenchmarkTokenMatches(b *testing.B) {
	active := []string{token}
	for b.Loop() {
		if !TokenMatches(token, active) {
			b.Fatal("no match")
		}
	}
}

type benchSSM struct{ values map[string]string }

func (f benchSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{Value: aws.String(f.values[aws.ToString(in.Name)])}}, nil
}

// BenchmarkAuthorizeColdCache is the first authorization of a new container:
// a fresh secrets cache reads the token and the usage key (here from an
// in-process SSM stand-in, so the figure excludes SSM's network round trip,
// which a real cold start adds twice).
func BenchmarkAuthorizeColdCache(b *testing.B) {
	a, _ := newTestAuthorizer()
	api := benchSSM{values: map[string]string{
		"/hookline/dev/github/token-secret": token, "/hookline/dev/github/usage-key": usageKey}}
	req := request("/github", githubArn, map[string]string{"token": token}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.Secrets = secrets.New(api)
		if resp, err := a.Authorize(ctx, req); err != nil || resp.UsageIdentifierKey == "" {
			b.Fatal(resp, err)
		}
	}
}
