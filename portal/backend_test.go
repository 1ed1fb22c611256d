package portal_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline/portal"
)

// TestUnreadableBackendFailsClosed: when the portal's backend cannot be
// read (here a file:// backend whose directory is a regular file), the
// ownership check refuses every operation with the backend's error instead
// of reading "no owner" and granting it (the engine used to answer a failed
// tag read with "no tag"), and the overview shows the error, never an empty
// list.
func TestUnreadableBackendFailsClosed(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state-is-a-file")
	if err := os.WriteFile(state, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) { o.Engine.BackendURL = "file://" + state })

	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"preview", "POST", "/api/stacks/pay/dev/preview", request("dev", nil)},
		{"apply", "POST", "/api/stacks/pay/dev/apply", request("dev", nil)},
		{"destroy", "POST", "/api/stacks/pay/dev/destroy", map[string]string{"confirm": "pay-dev"}},
		{"secret", "PUT", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": "whsec_x"}},
		{"dlq", "GET", "/api/stacks/pay/dev/sources/orders/dlq", nil},
		{"redrive", "POST", "/api/stacks/pay/dev/sources/orders/redrive", nil},
		{"list", "GET", "/api/stacks", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, v := call(t, hs, "pay", tc.method, tc.path, tc.body)
			if code != http.StatusInternalServerError || !strings.Contains(v["error"].(string), "not a directory") {
				t.Errorf("%s %s on an unreadable backend: %d %v, want 500 naming the backend's failure", tc.method, tc.path, code, v)
			}
		})
	}

	// The overview page says so.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(hs.URL+"/login", url.Values{"token": {tokens["pay"]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "not a directory") {
		t.Errorf("the overview on an unreadable backend does not show the error:\n%s", body)
	}
}
