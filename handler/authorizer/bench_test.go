package main

import (
	"context"
	"testing"
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
