package stackconfig_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hookline/hookline/stackconfig"
)

// manySources is a config of n sources of one auth kind on ingress.
func manySources(ingress, auth string, n int) map[string]any {
	var sources []any
	for i := range n {
		s := map[string]any{"name": fmt.Sprintf("s%02d", i), "signature": map[string]any{"scheme": "stripe"}}
		switch auth {
		case "token":
			s["auth"] = map[string]any{"type": "token", "tokenParameter": fmt.Sprintf("/hookline/dev/s%02d/token", i)}
		case "cognito":
			s["auth"] = map[string]any{"type": "cognito", "userPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC",
				"audiences": []string{"4h3k2j1l0abc"}, "scopes": []string{"webhooks/write"}}
		}
		sources = append(sources, s)
	}
	return map[string]any{"aws:region": "eu-west-1", "hookline:ingress": ingress, "hookline:sources": sources}
}

// TestAuthorizerQuota: a config whose API would need more authorizers than
// API Gateway's 10 per API is refused with the quota named, before an
// update fails halfway; an HTTP API's token sources share one authorizer,
// so 25 of them load (issue 27 item 2).
func TestAuthorizerQuota(t *testing.T) {
	for _, tc := range []struct {
		name, ingress, auth string
		n, authorizers      int
		refused             bool
	}{
		{"rest, 10 token sources", "rest", "token", 10, 10, false},
		{"rest, 11 token sources", "rest", "token", 11, 11, true},
		{"http, 25 token sources", "http", "token", 25, 1, false},
		{"http, 10 cognito sources", "http", "cognito", 10, 10, false},
		{"http, 11 cognito sources", "http", "cognito", 11, 11, true},
		{"rest, 11 cognito sources", "rest", "cognito", 11, 11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := stackconfig.Load("dev", raw(t, manySources(tc.ingress, tc.auth, tc.n)), false, nil)
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Authorizers(); got != tc.authorizers {
					t.Errorf("Authorizers() = %d, want %d", got, tc.authorizers)
				}
				return
			}
			var ce *stackconfig.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Pulumi.dev.yaml") {
				t.Fatalf("got %v", err)
			}
			found := false
			for _, p := range ce.Problems {
				if p.Key == "hookline:sources" && strings.Contains(p.Message, "Authorizers per API") &&
					strings.Contains(p.Message, fmt.Sprintf("need %d", tc.authorizers)) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at hookline:sources naming the authorizer quota: %v", err)
			}
		})
	}
	// A REST stack with token and apiKey sources has the pass-through too.
	m := manySources("rest", "token", 9)
	m["hookline:sources"] = append(m["hookline:sources"].([]any), map[string]any{"name": "vendors", "auth": map[string]any{"type": "apiKey"}, "signature": map[string]any{"scheme": "stripe"}})
	if c, err := stackconfig.Load("dev", raw(t, m), false, nil); err != nil || c.Authorizers() != 10 {
		t.Errorf("9 token sources and an apiKey one on rest: %v authorizers, %v", c, err)
	}
}
