package portal

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal/albauth/albtest"
)

// TestPrincipalOnTheContext: a page's and the API's handlers find who the
// request comes from on its context, however it signed in; a token is
// named by its hash's prefix, never by itself.
func TestPrincipalOnTheContext(t *testing.T) {
	iss := albtest.New(t)
	const token = "tok-pay-principal"
	s, err := New(Options{
		Tokens:  &Tokens{Teams: map[string][]string{"pay": {HashToken(token)}}, Admins: []string{HashToken("tok-root")}},
		Engine:  engine.Options{ProjectDir: "..", StateDir: t.TempDir()},
		Offline: true,
		ALB: &ALBSignIn{ARN: albtest.ARN, KeyURL: iss.KeyURL(),
			SSO: &SSOConfig{GroupsClaim: "cognito:groups", Teams: map[string][]string{"pay": {"payments"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got Principal
	var gotID Identity
	h := func(_ http.ResponseWriter, r *http.Request, id Identity) {
		gotID = id
		var ok bool
		if got, ok = PrincipalFrom(r.Context()); !ok {
			t.Error("no principal on the context")
		}
	}
	sessionKey := s.sessions.create(HashToken(token), s.opts.SessionTTL)
	tokenSubject := "token:" + HashToken(token)[7:19]
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		header  map[string]string
		want    Principal
	}{
		{"page, load balancer", s.page(h), map[string]string{"X-Amzn-Oidc-Data": iss.Token(t, map[string]any{"sub": "u-1", "email": "a@example.com", "cognito:groups": []string{"payments"}})},
			Principal{Subject: "u-1", Email: "a@example.com", Team: "pay", Via: ViaALB}},
		{"page, session", s.page(h), map[string]string{"Cookie": sessionCookie + "=" + sessionKey},
			Principal{Subject: tokenSubject, Team: "pay", Via: ViaSession}},
		{"API, team token", s.api(h), map[string]string{"Authorization": "Bearer " + token},
			Principal{Subject: tokenSubject, Team: "pay", Via: ViaToken}},
		{"API, admin token", s.api(h), map[string]string{"Authorization": "Bearer tok-root"},
			Principal{Subject: "token:" + HashToken("tok-root")[7:19], Admin: true, Via: ViaToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = Principal{}
			req := httptest.NewRequest("GET", "/x", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tc.handler(rec, req)
			if rec.Code != 200 || got != tc.want {
				t.Fatalf("%d: principal %+v, want %+v", rec.Code, got, tc.want)
			}
			if gotID != got.identity() {
				t.Errorf("the handler's identity %+v is not the principal's", gotID)
			}
			if strings.Contains(got.Subject, token) {
				t.Errorf("the subject %q holds the token", got.Subject)
			}
		})
	}
}
