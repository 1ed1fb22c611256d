package infra_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
)

// TestOnlyTheIngressesTellRESTFromHTTP: the two ingress implementations
// (restapi.go with its stage.go, httpapi.go) and the one place that picks
// between them (ingress.go) are the only files of the package that use
// API Gateway's resources or ask which ingress a stack has; every other
// component goes through the Ingress interface.
func TestOnlyTheIngressesTellRESTFromHTTP(t *testing.T) {
	allowed := []string{"ingress.go", "restapi.go", "stage.go", "httpapi.go"}
	asks := regexp.MustCompile(`\bIngress(REST|HTTP)\b|\.HTTP\(\)|\.Ingress\s*[!=]=|Kind(\(\))?\s*[!=]=`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || slices.Contains(allowed, f) {
			continue
		}
		checked++
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/pulumi/pulumi-aws/") && (strings.HasSuffix(p, "/apigateway") || strings.HasSuffix(p, "/apigatewayv2")) {
				t.Errorf("%s imports %s: API Gateway resources belong to an ingress implementation", f, p)
			}
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := asks.FindString(line); m != "" {
				t.Errorf("%s:%d asks which ingress the stack has (%s): ask the Ingress (or IngressTraitsOf) instead", f, i+1, m)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("checked %d files: is the test in the package's directory?", checked)
	}
}

// TestIngressTraits: what the program knows of each ingress before it
// builds one, and a kind that is none.
func TestIngressTraits(t *testing.T) {
	cases := []struct {
		kind                  string
		accountRole, usageKey bool
		err                   string
	}{
		{contract.IngressREST, true, true, ""},
		{contract.IngressHTTP, false, false, ""},
		{"", false, false, `"" is not an ingress (want http or rest)`},
		{"websocket", false, false, `"websocket" is not an ingress`},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			tr, err := infra.IngressTraitsOf(tc.kind)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Kind() != tc.kind || tr.AccessLogsNeedAccountRole() != tc.accountRole || tr.UsageKeys() != tc.usageKey {
				t.Errorf("traits %s: account role %v, usage keys %v", tr.Kind(), tr.AccessLogsNeedAccountRole(), tr.UsageKeys())
			}
		})
	}
}
