package portal_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

// sessionPortal serves a portal whose tokens come from a file, for the
// session tests (no engine runs).
func sessionPortal(t *testing.T, ttl time.Duration, tls bool, adjust ...func(*portal.Options)) (*portal.Server, *httptest.Server, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens.json")
	writeTokens(t, file, "pay")
	o := portal.Options{TokensFile: file, SessionTTL: ttl,
		Engine: engine.Options{ProjectDir: projectDir, StateDir: t.TempDir(), Passphrase: "test-only"}}
	for _, f := range adjust {
		f(&o)
	}
	srv, err := portal.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	if tls {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	t.Cleanup(hs.Close)
	return srv, hs, file
}

func writeTokens(t *testing.T, file string, teams ...string) {
	t.Helper()
	tk := portal.Tokens{Teams: map[string][]string{}}
	for _, team := range teams {
		tk.Teams[team] = []string{portal.HashToken(tokens[team])}
	}
	b, _ := json.Marshal(tk)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T, hs *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *hs.Client() // hs.Client() is one client: each browser has its own jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// signIn posts the login form and returns the session cookie it set.
func signIn(t *testing.T, hs *httptest.Server, c *http.Client, token string, header http.Header) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest("POST", hs.URL+"/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "hookline_session" || ck.Name == "__Host-hookline_session" {
			return ck
		}
	}
	t.Fatalf("no session cookie after signing in: %d %v", resp.StatusCode, resp.Header)
	return nil
}

// signedIn reports whether the client's session opens a page (a job that
// does not exist is a 404 when signed in, a redirect to sign-in otherwise).
func signedIn(t *testing.T, hs *httptest.Server, c *http.Client) bool {
	t.Helper()
	resp, err := c.Get(hs.URL + "/jobs/none")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound
}

// TestSessionCookieIsOpaque: signing in sets an opaque, expiring, HttpOnly,
// SameSite=Strict session id — never the token; over HTTPS a Secure
// __Host- cookie (Path=/, no Domain) and Strict-Transport-Security. HTTPS
// is the connection's own TLS, or X-Forwarded-Proto only when the portal
// is told to trust it (TrustForwardedProto): a client sending the header
// decides nothing.
func TestSessionCookieIsOpaque(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	ck := signIn(t, hs, browser(t, hs), tokens["pay"], nil)
	if strings.Contains(ck.Value, tokens["pay"]) || len(ck.Value) < 32 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge != 3600 {
		t.Errorf("cookie %+v", ck)
	}
	_, trusting, _ := sessionPortal(t, time.Hour, false, func(o *portal.Options) { o.TrustForwardedProto = true })
	_, tlsHS, _ := sessionPortal(t, time.Hour, true)
	forwarded := http.Header{"X-Forwarded-Proto": {"https"}}
	for _, tc := range []struct {
		name   string
		hs     *httptest.Server
		header http.Header
		https  bool
	}{
		{"plain HTTP", hs, nil, false},
		{"X-Forwarded-Proto from an untrusted client", hs, forwarded, false},
		{"X-Forwarded-Proto from a trusted proxy", trusting, forwarded, true},
		{"plain HTTP with a trusted proxy configured", trusting, nil, false},
		{"TLS", tlsHS, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tc.hs.URL+"/login", strings.NewReader(url.Values{"token": {tokens["pay"]}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := browser(t, tc.hs).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cks := resp.Cookies()
			if len(cks) != 1 {
				t.Fatalf("cookies %v", cks)
			}
			ck := cks[0]
			hsts := resp.Header.Get("Strict-Transport-Security")
			if tc.https {
				if ck.Name != "__Host-hookline_session" || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !strings.HasPrefix(hsts, "max-age=") {
					t.Errorf("over HTTPS: cookie %+v, Strict-Transport-Security %q", ck, hsts)
				}
			} else if ck.Name != "hookline_session" || ck.Secure || hsts != "" {
				t.Errorf("over HTTP: cookie %+v, Strict-Transport-Security %q", ck, hsts)
			}
		})
	}
	// The __Host- cookie signs in over TLS; a plain one sent there does not.
	c := browser(t, tlsHS)
	signIn(t, tlsHS, c, tokens["pay"], nil)
	if !signedIn(t, tlsHS, c) {
		t.Error("over TLS the __Host- session does not sign in")
	}
	plain := signIn(t, hs, browser(t, hs), tokens["pay"], nil)
	req, _ := http.NewRequest("GET", tlsHS.URL+"/jobs/none", nil)
	req.AddCookie(&http.Cookie{Name: "hookline_session", Value: plain.Value})
	if resp, err := browser(t, tlsHS).Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a plain session cookie over TLS: %v %v", resp, err)
	}
}

// TestNoStore: every answer but the static files is per user (API keys,
// tokens, a stack's details) and says Cache-Control: no-store.
func TestNoStore(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	c := browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	get := func(path string, bearer bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		if bearer {
			req.Header.Set("Authorization", "Bearer "+tokens["pay"])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		path   string
		bearer bool
	}{{"/api/jobs/none", true}, {"/api/jobs/none", false}, {"/", false}, {"/jobs/none", false}} {
		if resp := get(tc.path, tc.bearer); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s (bearer %v): %d, Cache-Control %q", tc.path, tc.bearer, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	req, _ := http.NewRequest("PUT", hs.URL+"/api/stacks/pay/dev/secrets/orders", strings.NewReader(`{"kind":"signing","value":"short"}`))
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	if resp, err := c.Do(req); err != nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("PUT a secret: %v %v", resp, err)
	}
	if resp := get("/static/portal.css", false); resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") == "no-store" {
		t.Errorf("a static file: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

// TestShortSecretRefused: a secret shorter than portal.MinSecretBytes
// (without a whsec_ prefix) is refused with a message that says how long
// and how to make one, and never echoes it.
func TestShortSecretRefused(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	for _, value := range []string{"short-secret", "whsec_" + strings.Repeat("a", portal.MinSecretBytes-1)} {
		code, v := call(t, hs, "pay", "PUT", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": value})
		msg, _ := v["error"].(string)
		if code != http.StatusBadRequest || v["field"] != "value" || !strings.Contains(msg, "at least 24 bytes") || strings.Contains(msg, value) {
			t.Errorf("a %d-byte secret: %d %v", len(value), code, v)
		}
	}
}

// TestAPIWantsABearer: the API reads only the Authorization header: a
// request carrying the pages' session (a cross-site text/plain POST, say)
// is a 401.
func TestAPIWantsABearer(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	c := browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	req, _ := http.NewRequest("POST", hs.URL+"/api/stacks/pay/dev/validate", strings.NewReader(`{"env":"dev"}`))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API call with the session cookie only: %d", resp.StatusCode)
	}
}

// TestCrossOriginPostIsRefused: a state-changing request from another
// origin is refused (http.CrossOriginProtection), though it carries a valid
// session.
func TestCrossOriginPostIsRefused(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	c := browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	for _, h := range []http.Header{{"Sec-Fetch-Site": {"cross-site"}}, {"Origin": {"https://evil.example"}}} {
		req, _ := http.NewRequest("POST", hs.URL+"/stacks/preview", strings.NewReader("env=dev&region=eu-west-1&sources=[]"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST (%v): %d", h, resp.StatusCode)
		}
	}
}

// TestSessionsEnd: on sign-out, when the session expires, and when its
// token is revoked in the token file (read again when it changes, without a
// restart) — which also stops the token on the API.
func TestSessionsEnd(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	c := browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	if !signedIn(t, hs, c) {
		t.Fatal("not signed in after signing in")
	}
	resp, err := c.Post(hs.URL+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if signedIn(t, hs, c) {
		t.Error("still signed in after signing out")
	}

	_, short, _ := sessionPortal(t, 200*time.Millisecond, false)
	c = browser(t, short)
	signIn(t, short, c, tokens["pay"], nil)
	time.Sleep(300 * time.Millisecond)
	if signedIn(t, short, c) {
		t.Error("still signed in after the session expired")
	}

	_, hs, file := sessionPortal(t, time.Hour, false)
	c = browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	writeTokens(t, file, "ops") // pay's token revoked
	time.Sleep(1100 * time.Millisecond)
	if signedIn(t, hs, c) {
		t.Error("a session of a revoked token still works")
	}
	if code, _ := call(t, hs, "pay", "GET", "/api/jobs/none", nil); code != http.StatusUnauthorized {
		t.Errorf("a revoked token on the API: %d", code)
	}
	if code, _ := call(t, hs, "ops", "GET", "/api/jobs/none", nil); code != http.StatusNotFound {
		t.Errorf("a token added to the file: %d", code)
	}
}

// TestSecurityHeaders: pages cannot be framed, run only the portal's own
// script and style (no inline code), and are not sniffed; the script and
// style are served by the portal.
func TestSecurityHeaders(t *testing.T) {
	_, hs, _ := sessionPortal(t, time.Hour, false)
	resp, err := hs.Client().Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", resp.Header)
	}
	for _, asset := range []string{"/static/portal.js", "/static/portal.css"} {
		r, err := hs.Client().Get(hs.URL + asset)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", asset, r.StatusCode)
		}
	}
}

// TestSessionFollowsItsToken: a session's rights are its token's current
// entry in the token file, not the entry it signed in with: an admin
// demoted to a team member loses the other teams' jobs at its next request,
// a member moved to another team sees that team's and no longer its old
// team's.
func TestSessionFollowsItsToken(t *testing.T) {
	srv, hs, file := sessionPortal(t, time.Hour, false)
	write := func(tk portal.Tokens) {
		t.Helper()
		b, _ := json.Marshal(tk)
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := srv.ReloadTokens(); err != nil {
			t.Fatal(err)
		}
	}
	write(portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}}, Admins: []string{portal.HashToken(tokens["admin"])}})
	admin, member := browser(t, hs), browser(t, hs)
	signIn(t, hs, admin, tokens["admin"], nil)
	signIn(t, hs, member, tokens["pay"], nil)
	opsJob, endOps, _ := srv.StartTestJob("ops", "ops-dev")
	t.Cleanup(func() { endOps(nil) })
	payJob, endPay, _ := srv.StartTestJob("pay", "pay-dev")
	t.Cleanup(func() { endPay(nil) })
	page := func(c *http.Client, job string) int {
		t.Helper()
		resp, err := c.Get(hs.URL + "/jobs/" + job)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name string
		c    *http.Client
		job  string
		want int
	}{
		{"admin, ops' job", admin, opsJob, http.StatusOK},
		{"pay member, pay's job", member, payJob, http.StatusOK},
		{"pay member, ops' job", member, opsJob, http.StatusNotFound},
	} {
		if got := page(tc.c, tc.job); got != tc.want {
			t.Errorf("before the change, %s: %d, want %d", tc.name, got, tc.want)
		}
	}

	// The admin token becomes a member of pay; pay's token moves to ops.
	write(portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["admin"])}, "ops": {portal.HashToken(tokens["pay"])}}})
	for _, tc := range []struct {
		name string
		c    *http.Client
		job  string
		want int
	}{
		{"demoted admin, ops' job", admin, opsJob, http.StatusNotFound},
		{"demoted admin, pay's job", admin, payJob, http.StatusOK},
		{"moved member, its old team's job", member, payJob, http.StatusNotFound},
		{"moved member, its new team's job", member, opsJob, http.StatusOK},
	} {
		if got := page(tc.c, tc.job); got != tc.want {
			t.Errorf("after the change, %s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
