package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/portal"
)

// tokenRE is a generated token: 32 random bytes, base64url without padding.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// lockedBuffer is a log sink the portal's goroutines can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tokenStack applies pay's env dev with orders a token source (and its
// signature) and refunds a signature source, through the engine, with a
// portal whose SQS (and any further AWS client adjust sets) is fake. It
// returns the portal, its engine options, its log and the fake.
func tokenStack(t *testing.T, adjust ...func(*portal.Options, *awsfake.Server)) (*httptest.Server, engine.Options, *lockedBuffer, *awsfake.Server) {
	t.Helper()
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	logs := &lockedBuffer{}
	hs, o, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.SQS = fakeQueues(fake.URL)
		for _, f := range adjust {
			f(o, fake)
		}
	})
	previewAndApply(t, hs, "pay", "/api/stacks/pay/dev", request("dev", map[string]any{"auth": map[string]any{"type": "token"}}))
	fillDLQ(t, hs, fake, "dev", "{}", "processor")
	return hs, o, logs, fake
}

// storedTokens are the tokens of source in the stack's config, in the
// rotation format's order (newest first).
func storedTokens(t *testing.T, o engine.Options, stack, source string) []string {
	t.Helper()
	o.Stack = stack
	st, err := engine.Select(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := st.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if v := raw["hookline:tokens"]; v != "" {
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatal(err)
		}
	}
	return contract.SecretValues(m[source])
}

// TestTokenAPI: a team generates the token of its token source through the
// API and gets it once — random, URL-safe, 256 bits, with the sender's
// full URL, never cached — stored as the stack's token for the next
// apply; a rotation keeps the previous token beside the new one (or
// replaces it when asked); the token is never in a later read or the
// portal's log; another team, a signature source and an unknown source
// are refused.
func TestTokenAPI(t *testing.T) {
	hs, o, logs, _ := tokenStack(t)
	_, stack := call(t, hs, "pay", "GET", "/api/stacks/pay/dev", nil)
	endpoint, _ := stack["outputs"].(map[string]any)["sources"].(map[string]any)["orders"].(map[string]any)["url"].(string)
	if endpoint == "" {
		t.Fatalf("no URL of orders in %v", stack)
	}

	req, _ := http.NewRequest("POST", hs.URL+"/api/stacks/pay/dev/sources/orders/token", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var first map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&first)
	resp.Body.Close()
	tok, _ := first["token"].(string)
	if resp.StatusCode != http.StatusOK || !tokenRE.MatchString(tok) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("generate orders' token: %d %v (Cache-Control %q)", resp.StatusCode, first, resp.Header.Get("Cache-Control"))
	}
	if first["url"] != endpoint+"?token="+tok || first["parameter"] != "/hookline/pay-dev/orders/token-secret" || first["previousKept"] != false {
		t.Errorf("the answer: %v (endpoint %s)", first, endpoint)
	}
	if got := storedTokens(t, o, "pay-dev", "orders"); len(got) != 1 || got[0] != tok {
		t.Errorf("stored %d token(s), want the new one alone", len(got))
	}

	// A rotation keeps the previous token (the default), or not.
	code, second := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/token", map[string]any{})
	tok2, _ := second["token"].(string)
	if code != http.StatusOK || !tokenRE.MatchString(tok2) || tok2 == tok || second["previousKept"] != true {
		t.Fatalf("rotate: %d %v", code, second)
	}
	if got := storedTokens(t, o, "pay-dev", "orders"); len(got) != 2 || got[0] != tok2 || got[1] != tok {
		t.Errorf("after the rotation %d token(s) are stored, want the new one then the previous one", len(got))
	}
	code, third := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/token", map[string]any{"keepPrevious": false})
	tok3, _ := third["token"].(string)
	if got := storedTokens(t, o, "pay-dev", "orders"); code != http.StatusOK || len(got) != 1 || got[0] != tok3 {
		t.Errorf("replace: %d %v, %d stored", code, third, len(got))
	}

	// Never again: not in the stack's reads, the listing, the log.
	for _, path := range []string{"/api/stacks/pay/dev", "/api/stacks"} {
		_, v := call(t, hs, "pay", "GET", path, nil)
		b, _ := json.Marshal(v)
		for _, tk := range []string{tok, tok2, tok3} {
			if strings.Contains(string(b), tk) {
				t.Errorf("%s shows a token: %s", path, b)
			}
		}
	}
	for _, tk := range []string{tok, tok2, tok3} {
		if strings.Contains(logs.String(), tk) {
			t.Errorf("the portal's log holds a token:\n%s", logs.String())
		}
	}

	for _, tc := range []struct {
		name, who, path string
		want            int
	}{
		{"another team", "ops", "/api/stacks/pay/dev/sources/orders/token", http.StatusNotFound},
		{"a signature source", "pay", "/api/stacks/pay/dev/sources/refunds/token", http.StatusBadRequest},
		{"no such source", "pay", "/api/stacks/pay/dev/sources/nope/token", http.StatusNotFound},
		{"no token", "", "/api/stacks/pay/dev/sources/orders/token", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, v := call(t, hs, tc.who, "POST", tc.path, nil); code != tc.want || v["token"] != nil {
				t.Errorf("%d %v, want %d without a token", code, v, tc.want)
			}
		})
	}
}

// TestBrowserToken: the environment page warns that a token source has no
// token yet; "Generate token" shows the token once, copyable, with the
// sender's full URL, and offers the apply that writes it; the page seen
// again shows neither the token nor the warning, and offers a rotation.
func TestBrowserToken(t *testing.T) {
	hs, o, _, _ := tokenStack(t)
	c := newChrome(t, hs, "pay")
	c.step("environment page", chromedp.Navigate(hs.URL+"/stacks/dev"))
	c.step("orders' card", chromedp.WaitVisible("#no-token-orders"))
	if w := c.text("#no-token-orders"); !strings.Contains(w, "orders has no token yet") || !strings.Contains(w, "401") {
		t.Errorf("the warning: %q", w)
	}
	if eval[int](c, `document.querySelectorAll("#no-token-refunds, #token-refunds").length`) != 0 {
		t.Error("refunds, a signature source, is offered a token")
	}
	endpoint := eval[string](c, `document.querySelector("#endpoint-orders").value`)
	c.page("the environment without a token")
	c.save("token-missing.png")

	c.step("generate", chromedp.Click("#token-orders"))
	c.step("the new token", chromedp.WaitVisible("#new-token"))
	tok := eval[string](c, `document.querySelector("#token-value").value`)
	if !tokenRE.MatchString(tok) || eval[string](c, `document.querySelector("#token-url").value`) != endpoint+"?token="+tok {
		t.Errorf("the token %q, the URL %q (endpoint %s)", tok, eval[string](c, `document.querySelector("#token-url").value`), endpoint)
	}
	if !strings.Contains(c.text("#new-token"), "shown once") || !strings.Contains(c.text("#new-token"), "never shows it again") ||
		eval[bool](c, `document.querySelector("button.copy[data-copy=token-url]").hidden`) {
		t.Errorf("the token's box: %q", c.text("#new-token"))
	}
	if eval[int](c, `document.querySelectorAll("#apply-pending, #no-token-orders").length`) != 1 {
		t.Error("the apply that writes the token is not offered, or the warning stays")
	}
	if got := storedTokens(t, o, "pay-dev", "orders"); len(got) != 1 || got[0] != tok {
		t.Errorf("stored %d token(s), not the one shown", len(got))
	}
	c.page("the new token")
	c.save("token-shown-once.png")

	c.step("the environment again", chromedp.Navigate(hs.URL+"/stacks/dev"))
	c.step("orders' card", chromedp.WaitVisible("#card-orders"))
	html := eval[string](c, `document.documentElement.outerHTML`)
	if strings.Contains(html, tok) || eval[int](c, `document.querySelectorAll("#new-token, #no-token-orders").length`) != 0 ||
		c.text("#token-orders") != "Rotate token" {
		t.Errorf("the page seen again shows the token or the warning, or offers no rotation:\n%s", c.text("body"))
	}
	c.save("token-after.png")
}
