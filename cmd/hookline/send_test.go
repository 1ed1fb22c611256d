package main

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSendExplainsFailedHandshakes: every way the TLS handshake with the
// endpoint fails is explained as such (the handshake is told apart by where
// it failed, not by its error's text); other failures are reported as the
// POST's.
func TestSendExplainsFailedHandshakes(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	trusted := func(srv *httptest.Server) string {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
		return ca
	}
	untrusted := httptest.NewTLSServer(ok)
	defer untrusted.Close()
	oldTLS := httptest.NewUnstartedServer(ok)
	oldTLS.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	oldTLS.StartTLS()
	defer oldTLS.Close()
	plain := httptest.NewServer(ok)
	defer plain.Close()
	closed := httptest.NewServer(ok)
	closedURL := "https://" + closed.Listener.Addr().String()
	closed.Close()

	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(webhookBody), 0o644)
	for _, tc := range []struct {
		name, url, ca, want string
	}{
		{"a certificate nobody vouches for", untrusted.URL, "", "TLS handshake with " + untrusted.Listener.Addr().String() + " failed"},
		{"TLS 1.1 only", oldTLS.URL, trusted(oldTLS), "TLS handshake with " + oldTLS.Listener.Addr().String() + " failed"},
		{"not TLS at all", "https://" + plain.Listener.Addr().String(), "", "TLS handshake with " + plain.Listener.Addr().String() + " failed"},
		{"nothing listening", closedURL, "", "POST " + closedURL + "/github: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"send", "--stack", "dev", "--source", "github", "--body", body, "--secret", "s",
				"--url", tc.url + "/github", "--header", "X-GitHub-Hook-ID=1", "--dir", "../.."}
			if tc.ca != "" {
				args = append(args, "--ca-file", tc.ca)
			}
			code, _, errOut := runCLI(args...)
			if code != 2 || !strings.HasPrefix(errOut, "hookline send: "+tc.want) {
				t.Errorf("exit %d, %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
