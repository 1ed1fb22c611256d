package portal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

// offlinePortal is a portal in no-AWS mode: no Pulumi CLI on PATH and none
// in its project (its engine options point at an empty directory, which
// the offline plan never reads: it plans ProjectDir's program).
func offlinePortal(t *testing.T) *httptest.Server {
	t.Helper()
	withoutPulumi(t)
	srv, err := portal.New(portal.Options{
		Tokens:  &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}}},
		Engine:  engine.Options{ProjectDir: projectDir, StateDir: t.TempDir(), Passphrase: "test-only"},
		Offline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// TestBrowserNoAWS: on a machine with no Pulumi CLI and no AWS, the portal
// in its no-AWS mode says so on every page, previews the form's own sample
// with "HTTP API" chosen through the offline plan (grouped by source, no
// Apply, saying why), and refuses what needs AWS with a sentence naming
// what is missing. A form with three problems comes back as typed, each
// problem beside its field in the form's words.
func TestBrowserNoAWS(t *testing.T) {
	hs := offlinePortal(t)
	c := newChrome(t, hs, "pay")

	banner := c.text("#offline-mode")
	if !strings.Contains(banner, "No-AWS mode") || !strings.Contains(banner, "offline plan") || !strings.Contains(banner, "--offline") {
		t.Errorf("the overview's banner: %q", banner)
	}
	c.page("the overview")
	c.save("noaws-overview.png")

	// The sample as it is, with HTTP API chosen.
	c.step("name it", chromedp.SetValue("#env", "web"))
	c.step("HTTP API", chromedp.SetValue("#ingress", "http"))
	c.step("preview", chromedp.Click("#preview"))
	c.jobEnds("the offline preview ends", "")
	body := c.page("the offline preview")
	if got := c.text("#status"); got != "succeeded" {
		t.Fatalf("the offline preview of the sample on HTTP API: %s\n%s", got, body)
	}
	if !strings.Contains(c.text("#offline-mode"), "No-AWS mode") || !strings.Contains(c.text("#plan-orders"), "create hookline-orders-queue") ||
		!strings.Contains(c.text("#plan-refunds"), "create hookline-refunds-function") || !strings.Contains(c.text("#changes"), "offline plan") {
		t.Errorf("the offline preview is not labelled or not grouped by source:\n%s", body)
	}
	if !strings.Contains(c.text("#apply-unavailable"), "no-AWS mode") || eval[int](c, `document.querySelectorAll("#apply, #apply-form").length`) != 0 {
		t.Errorf("an offline preview offers Apply, or does not say why not:\n%s", body)
	}
	c.save("noaws-preview.png")

	// Three problems at once: each beside its field, the input kept.
	c.step("overview", chromedp.Navigate(hs.URL+"/stacks"))
	c.step("the form", chromedp.WaitVisible("#sources"))
	c.step("env", chromedp.SetValue("#env", "Production"))
	c.step("region", chromedp.SetValue("#region", "mars-1"))
	c.step("HTTP API", chromedp.SetValue("#ingress", "http"))
	apiKeys := "- name: orders\n  signature: {scheme: standard-webhooks}\n- name: refunds\n  signature: {scheme: github}\n"
	c.step("sources with API keys", chromedp.SetValue("#sources", apiKeys))
	c.step("preview", chromedp.Click("#preview"))
	c.step("the problems", chromedp.WaitVisible("#env-problems"))
	body = c.page("the form with problems")
	if v := eval[string](c, `document.querySelector("#env").value + "|" + document.querySelector("#region").value + "|" + document.querySelector("#ingress").value`); v != "Production|mars-1|http" {
		t.Errorf("the form lost its input: %s", v)
	}
	if v := eval[string](c, `document.querySelector("#sources").value`); v != apiKeys {
		t.Errorf("the sources came back as %q", v)
	}
	env, region, sources := c.text("#env-problems"), c.text("#region-problems"), c.text("#sources-problems")
	if !strings.Contains(env, `"Production" must be 1-5 lower-case letters`) || !strings.Contains(region, `"mars-1" is not an AWS region name`) ||
		!strings.Contains(sources, "source 1 (orders), auth.type: apiKey") || !strings.Contains(sources, "source 2 (refunds), auth.type") ||
		!strings.Contains(sources, `ingress "http" (HTTP API)`) {
		t.Errorf("the problems beside their fields: env %q, region %q, sources %q\n%s", env, region, sources, body)
	}
	c.save("noaws-form-problems.png")

	// What needs AWS says so, in a sentence.
	req, _ := http.NewRequest("POST", hs.URL+"/api/stacks/pay/web/apply", strings.NewReader(`{"env":"web","region":"eu-west-1","sources":[{"name":"orders","signature":{"scheme":"github"},"auth":{"type":"signature"}}]}`))
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	code, v := doJSON(t, req)
	if code != http.StatusServiceUnavailable || !strings.Contains(v["error"].(string), "no-AWS mode") || !strings.Contains(v["error"].(string), "AWS credentials") {
		t.Errorf("an apply in no-AWS mode: %d %v", code, v)
	}
}

// TestNoPulumiCLI: a portal started without the no-AWS mode on a machine
// without the Pulumi CLI answers its overview and API with what is missing
// and how to provide it, never the exec error.
func TestNoPulumiCLI(t *testing.T) {
	withoutPulumi(t)
	srv, err := portal.New(portal.Options{
		Tokens: &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}}},
		Engine: engine.Options{ProjectDir: t.TempDir(), StateDir: t.TempDir(), Passphrase: "test-only"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	req, _ := http.NewRequest("GET", hs.URL+"/api/stacks", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	code, v := doJSON(t, req)
	msg, _ := v["error"].(string)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "the Pulumi CLI is not installed") || !strings.Contains(msg, "make tools") ||
		!strings.Contains(msg, "--offline") || strings.Contains(msg, "exec:") {
		t.Errorf("the listing without a Pulumi CLI: %d %v", code, v)
	}
	c := browser(t, hs)
	signIn(t, hs, c, tokens["pay"], nil)
	resp, err := c.Get(hs.URL + "/stacks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if !strings.Contains(page, "the Pulumi CLI is not installed") || strings.Contains(page, "executable file not found") {
		t.Errorf("the overview without a Pulumi CLI:\n%s", page)
	}
}

// withoutPulumi takes every directory holding a pulumi out of PATH for
// the test.
func withoutPulumi(t *testing.T) {
	t.Helper()
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "pulumi")); err != nil {
			keep = append(keep, dir)
		}
	}
	t.Setenv("PATH", strings.Join(keep, string(os.PathListSeparator)))
	if p, err := exec.LookPath("pulumi"); err == nil {
		t.Fatalf("a pulumi is still on PATH: %s", p)
	}
}
