package portal_test

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/portal/albauth/albtest"
)

var ssoConfig = &portal.SSOConfig{GroupsClaim: "groups",
	Teams:  map[string][]string{"pay": {"idp-payments"}, "ops": {"idp-ops", "idp-oncall"}},
	Admins: []string{"idp-platform"}}

// albPortal is a portal in no-AWS mode (no engine runs) behind a load
// balancer whose sign-in iss plays, with the pay team's token too.
func albPortal(t *testing.T, iss *albtest.Issuer) *httptest.Server {
	t.Helper()
	srv, err := portal.New(portal.Options{
		Tokens:  &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}}},
		Engine:  engine.Options{ProjectDir: projectDir, StateDir: t.TempDir(), Passphrase: "test-only"},
		Offline: true,
		ALB:     &portal.ALBSignIn{ARN: albtest.ARN, KeyURL: iss.KeyURL(), SSO: ssoConfig},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// get requests path with header set (no redirects followed) and returns
// the status and body.
func get(t *testing.T, c *http.Client, method, url string, header map[string]string) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Body = io.NopCloser(strings.NewReader("token=" + tokens["pay"]))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func claims(groups ...string) map[string]any {
	return map[string]any{"sub": "0b7e2a4c-alice", "email": "alice@example.com", "groups": groups}
}

// hdr is the issuer's header with fields changed.
func hdr(iss *albtest.Issuer, fields map[string]any) map[string]any {
	h := iss.Header()
	maps.Copy(h, fields)
	return h
}

// TestSignInAtTheLoadBalancer: a page's request with x-amzn-oidc-data is
// the person it names, once it verifies and their groups map to a team;
// every way it can be wrong is refused with what was wrong, never taken
// for the token sign-in's session the browser also has.
func TestSignInAtTheLoadBalancer(t *testing.T) {
	iss := albtest.New(t)
	hs := albPortal(t, iss)
	tampered := func() string {
		h, _, sig := albtest.Parts(iss.Token(t, claims("idp-payments")))
		_, p, _ := albtest.Parts(iss.Token(t, claims("idp-platform")))
		return h + "." + p + "." + sig
	}()
	for _, tc := range []struct {
		name  string
		token string
		code  int
		says  string
	}{
		{"a team's member", iss.Token(t, claims("everyone", "idp-payments")), 200, "Signed in as <b>alice@example.com</b>, team <b>pay</b>."},
		{"another team's member", iss.Token(t, claims("idp-oncall")), 200, "team <b>ops</b>"},
		{"an admin", iss.Token(t, claims("idp-payments", "idp-platform")), 200, "Signed in as <b>alice@example.com</b>, admin."},
		{"no email: the subject", iss.Token(t, map[string]any{"sub": "bob-2", "groups": "idp-payments, x"}), 200, "Signed in as <b>bob-2</b>, team <b>pay</b>."},
		{"expired", iss.Sign(t, hdr(iss, map[string]any{"exp": time.Now().Add(-10 * time.Minute).Unix()}), claims("idp-payments")), 401, "refused (expired: its exp was"},
		{"wrong signer", iss.Sign(t, hdr(iss, map[string]any{"signer": strings.Replace(albtest.ARN, "hookline-portal", "other", 1)}), claims("idp-payments")), 401, "wrong signer: signed by"},
		{"unsigned (alg none)", albtest.Unsigned(t, hdr(iss, map[string]any{"alg": "none"}), claims("idp-payments")), 401, "wrong algorithm: alg &#34;none&#34;, want ES256"},
		{"HS256 with the public key as secret", albtest.HMAC(t, iss.PEM, hdr(iss, map[string]any{"alg": "HS256"}), claims("idp-payments")), 401, "wrong algorithm"},
		{"tampered payload", tampered, 401, "bad signature"},
		{"unknown kid", iss.Sign(t, hdr(iss, map[string]any{"kid": "00000000-0000-0000-0000-000000000000"}), claims("idp-payments")), 401, "unknown key"},
		{"kid with /../", iss.Sign(t, hdr(iss, map[string]any{"kid": "../../" + iss.KID}), claims("idp-payments")), 401, "bad key id"},
		{"garbage", "not-a-token", 401, "malformed"},
		{"empty", "", 401, "malformed"},
		{"no subject", iss.Token(t, map[string]any{"groups": []string{"idp-payments"}}), 401, "carries no subject"},
		{"group not mapped", iss.Token(t, claims("idp-marketing")), 403, "none of your groups (idp-marketing) is mapped to a team of the portal"},
		{"no groups claim", iss.Token(t, map[string]any{"sub": "carol"}), 403, "carries no &#34;groups&#34; claim"},
		{"groups of two teams", iss.Token(t, claims("idp-payments", "idp-ops")), 403, "your groups map to teams ops and pay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The browser also holds a good token session: a header that
			// fails must not fall back to it.
			c := browser(t, hs)
			if signIn(t, hs, c, tokens["pay"], nil) == nil {
				t.Fatal("no session")
			}
			code, body, _ := get(t, c, "GET", hs.URL+"/stacks", map[string]string{"X-Amzn-Oidc-Data": tc.token})
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Fatalf("GET /stacks: %d, want %d saying %q:\n%s", code, tc.code, tc.says, body)
			}
			if code != 200 && strings.Contains(body, `name="token"`) {
				t.Error("a refused sign-in at the load balancer offers the token form")
			}
		})
	}

	t.Run("an outage of the key endpoint is a 503, not a refusal", func(t *testing.T) {
		iss := albtest.New(t)
		hs := albPortal(t, iss)
		iss.Status.Store(http.StatusInternalServerError)
		code, body, _ := get(t, browser(t, hs), "GET", hs.URL+"/stacks", map[string]string{"X-Amzn-Oidc-Data": iss.Token(t, claims("idp-payments"))})
		if code != 503 || !strings.Contains(body, "retry") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// TestTokensBesideTheLoadBalancer: without the header the pages take the
// token sign-in as before; the sign-in page sends a signed-in person on and
// creates no token session beside theirs; the API takes only bearer tokens
// and never reads the header.
func TestTokensBesideTheLoadBalancer(t *testing.T) {
	iss := albtest.New(t)
	hs := albPortal(t, iss)
	good := map[string]string{"X-Amzn-Oidc-Data": iss.Token(t, claims("idp-payments"))}
	bad := map[string]string{"X-Amzn-Oidc-Data": albtest.Unsigned(t, hdr(iss, map[string]any{"alg": "none"}), claims("idp-platform"))}

	c := browser(t, hs)
	if code, _, _ := get(t, c, "GET", hs.URL+"/stacks", nil); code != http.StatusSeeOther {
		t.Errorf("no header, no session: %d, want a redirect to sign in", code)
	}
	signIn(t, hs, c, tokens["pay"], nil)
	if code, body, _ := get(t, c, "GET", hs.URL+"/stacks", nil); code != 200 || !strings.Contains(body, "Signed in as team <b>pay</b>.") {
		t.Errorf("a token session without the header: %d\n%s", code, body)
	}

	fresh := browser(t, hs)
	if code, _, resp := get(t, fresh, "GET", hs.URL+"/", good); code != http.StatusSeeOther || resp.Header.Get("Location") != "/stacks" {
		t.Errorf("GET / signed in at the load balancer: %d %s, want a redirect to /stacks", code, resp.Header.Get("Location"))
	}
	if code, _, _ := get(t, fresh, "GET", hs.URL+"/", bad); code != 401 {
		t.Errorf("GET / with a bad header: %d, want 401", code)
	}
	for name, h := range map[string]map[string]string{"good": good, "bad": bad} {
		code, _, resp := get(t, fresh, "POST", hs.URL+"/login", h)
		if len(resp.Cookies()) != 0 || (name == "bad") != (code == 401) {
			t.Errorf("POST /login with a %s header: %d, cookies %v", name, code, resp.Cookies())
		}
	}

	api := hs.URL + "/api/stacks"
	if code, _, _ := get(t, fresh, "GET", api, good); code != 401 {
		t.Errorf("the API with only the load balancer's header: %d, want 401 (bearer tokens only)", code)
	}
	withBearer := maps.Clone(bad)
	withBearer["Authorization"] = "Bearer " + tokens["pay"]
	if code, body, _ := get(t, fresh, "GET", api, withBearer); code != 200 {
		t.Errorf("the API with a bearer token (and a header it does not read): %d %s", code, body)
	}
}

// TestHeaderIgnoredWithoutALB: a portal not configured for the load
// balancer's sign-in does not read the header at all.
func TestHeaderIgnoredWithoutALB(t *testing.T) {
	iss := albtest.New(t)
	hs := offlinePortal(t)
	code, _, _ := get(t, browser(t, hs), "GET", hs.URL+"/stacks", map[string]string{"X-Amzn-Oidc-Data": iss.Token(t, claims("idp-platform"))})
	if code != http.StatusSeeOther {
		t.Errorf("%d, want a redirect to sign in", code)
	}
	if n := iss.Fetches.Load(); n != 0 {
		t.Errorf("%d key fetches", n)
	}
}

func TestLoadSSOConfig(t *testing.T) {
	for _, tc := range []struct{ name, file, err string }{
		{"good", `{"groupsClaim": "cognito:groups", "teams": {"pay": ["g1", "g2"]}, "admins": ["root"]}`, ""},
		{"admins only", `{"groupsClaim": "groups", "admins": ["root"]}`, ""},
		{"no groupsClaim", `{"teams": {"pay": ["g1"]}}`, "groupsClaim is required"},
		{"bad team", `{"groupsClaim": "groups", "teams": {"Payments": ["g1"]}}`, `team "Payments" must be 1-10 lower-case letters or digits`},
		{"team without groups", `{"groupsClaim": "groups", "teams": {"pay": []}}`, "team pay lists no group"},
		{"group of two teams", `{"groupsClaim": "groups", "teams": {"pay": ["g1"], "ops": ["g1"]}}`, `group "g1" is listed under teams ops and pay`},
		{"empty group", `{"groupsClaim": "groups", "teams": {"pay": [""]}}`, `team pay: group "" must be 1-256 characters`},
		{"spaced admin", `{"groupsClaim": "groups", "admins": [" root"]}`, `admins: group " root"`},
		{"nothing mapped", `{"groupsClaim": "groups"}`, "no group is mapped"},
		{"misspelt key", `{"groupClaim": "groups", "admins": ["root"]}`, `unknown field "groupClaim"`},
		{"not JSON", `groups: x`, "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "oidc.json")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := portal.LoadSSOConfig(path)
			if tc.err == "" {
				if err != nil || c == nil {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, tc.err)
			}
		})
	}
	if _, err := portal.LoadSSOConfig(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	for name, alb := range map[string]*portal.ALBSignIn{
		"no SSO config": {ARN: albtest.ARN},
		"bad ARN":       {ARN: "arn:aws:iam::123456789012:role/x", SSO: ssoConfig},
		"bad SSO":       {ARN: albtest.ARN, SSO: &portal.SSOConfig{GroupsClaim: "groups"}},
	} {
		_, err := portal.New(portal.Options{Tokens: &portal.Tokens{}, Offline: true, ALB: alb,
			Engine: engine.Options{ProjectDir: projectDir, StateDir: t.TempDir()}})
		if err == nil {
			t.Errorf("%s: New took it", name)
		}
	}
}
