package portal_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	var log syncBuffer
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.Engine.BackendURL = "file://" + state
		o.Log = slog.New(slog.NewTextHandler(&log, nil))
	})
	// failed checks a message against the log: words, no path, a reference
	// the log holds with the backend's error.
	failed := func(msg string) bool {
		m := regexp.MustCompile(`^the portal could not do this: its stack backend or engine failed \(reference ([0-9a-f]{12}) in the portal's log\)`).FindStringSubmatch(msg)
		if m == nil || strings.Contains(msg, state) {
			return false
		}
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, "ref="+m[1]) && strings.Contains(line, "not a directory") {
				return true
			}
		}
		return false
	}

	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"preview", "POST", "/api/stacks/pay/dev/preview", request("dev", nil)},
		{"apply", "POST", "/api/stacks/pay/dev/apply", request("dev", nil)},
		{"destroy", "POST", "/api/stacks/pay/dev/destroy", map[string]string{"confirm": "pay-dev"}},
		{"secret", "PUT", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{"dlq", "GET", "/api/stacks/pay/dev/sources/orders/dlq", nil},
		{"redrive", "POST", "/api/stacks/pay/dev/sources/orders/redrive", nil},
		{"list", "GET", "/api/stacks", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, v := call(t, hs, "pay", tc.method, tc.path, tc.body)
			if msg, _ := v["error"].(string); code != http.StatusInternalServerError || !failed(msg) {
				t.Errorf("%s %s on an unreadable backend: %d %v, want 500 in words with a reference the log holds", tc.method, tc.path, code, v)
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
	m := regexp.MustCompile(`the portal could not do this: its stack backend or engine failed \(reference [0-9a-f]{12} in the portal&#39;s log\)`).Find(body)
	if m == nil || !failed(strings.ReplaceAll(string(m), "&#39;", "'")) || strings.Contains(string(body), state) {
		t.Errorf("the overview on an unreadable backend does not show the failure in words:\n%s", body)
	}
}

// syncBuffer is a log the portal's handlers write from their goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
