package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/portal/jobs"
)

// TestAuditLog: every state-changing request is in the audit log, newest
// first: who (the token's id and how it came, never the token), the team
// and stack, the action, the request's hash, the status and what came of
// it — a job, a refusal in words — and never a secret's value; a request
// no one signed is there too, with no one named. Reads are not.
func TestAuditLog(t *testing.T) {
	withoutPulumi(t)
	store := jobs.NewMemoryStore()
	srv, err := portal.New(portal.Options{
		Tokens:  &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}, "ops": {portal.HashToken(tokens["ops"])}}},
		Engine:  engine.Options{ProjectDir: projectDir, StateDir: t.TempDir(), Passphrase: "test-only"},
		Offline: true, Jobs: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	code, job := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/preview", request("dev", nil))
	if code != http.StatusAccepted {
		t.Fatalf("preview: %d %v", code, job)
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAuditXYZ"
	call(t, hs, "pay", "PUT", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": secret})
	call(t, hs, "ops", "POST", "/api/stacks/pay/dev/destroy", map[string]string{"confirm": "pay-dev"})
	call(t, hs, "", "POST", "/api/stacks/pay/dev/apply", request("dev", nil))
	call(t, hs, "pay", "POST", "/api/stacks/pay/dev/validate", request("dev", nil))
	call(t, hs, "pay", "GET", "/api/stacks/pay/dev/audit", nil)
	resp, err := http.PostForm(hs.URL+"/login", url.Values{"token": {tokens["ops"]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	code, v := call(t, hs, "pay", "GET", "/api/stacks/pay/dev/audit", nil)
	raw, _ := json.Marshal(v)
	var got struct {
		Entries []jobs.AuditEntry `json:"entries"`
	}
	_ = json.Unmarshal(raw, &got)
	if code != http.StatusOK || len(got.Entries) != 4 {
		t.Fatalf("the audit log of pay-dev: %d %s, want 4 entries (preview, secret, destroy, apply; no reads)", code, raw)
	}
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), tokens["pay"]) || strings.Contains(string(raw), tokens["ops"]) {
		t.Errorf("the audit log holds a secret or a token: %s", raw)
	}
	payID, opsID := portal.TokenSubject(portal.HashToken(tokens["pay"])), portal.TokenSubject(portal.HashToken(tokens["ops"]))
	for i, want := range []struct {
		action, subject, via, team string
		status                     int
		result                     string
	}{
		{"apply", "", "", "pay", http.StatusUnauthorized, "a valid bearer token is required"},
		{"destroy", opsID, portal.ViaToken, "pay", http.StatusNotFound, "no such stack"},
		{"secret", payID, portal.ViaToken, "pay", http.StatusServiceUnavailable, "no-AWS mode"},
		{"preview", payID, portal.ViaToken, "pay", http.StatusAccepted, "job " + job["id"].(string)},
	} {
		e := got.Entries[i]
		if e.Action != want.action || e.Subject != want.subject || e.Via != want.via || e.Team != want.team || e.Stack != "pay-dev" ||
			e.Status != want.status || !strings.Contains(e.Result, want.result) || e.Time.IsZero() {
			t.Errorf("entry %d: %+v, want %+v", i, e, want)
		}
	}
	if e := got.Entries[3]; len(e.RequestHash) < 12 {
		t.Errorf("the preview's request hash: %q", e.RequestHash)
	}
	logins, _ := store.AuditLog(context.Background(), "", 5)
	if len(logins) != 1 || logins[0].Action != "login" || logins[0].Subject != opsID || logins[0].Via != portal.ViaSession || logins[0].Result != "signed in" {
		t.Errorf("the sign-in's entry: %+v", logins)
	}
}
