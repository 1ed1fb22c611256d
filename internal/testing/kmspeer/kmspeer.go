// Package kmspeer runs local-kms (github.com/nsmithuk/local-kms, pinned in
// tools/go.mod, installed by `make tools`), a peer implementation of the AWS
// KMS API, for the tests of hookline's seal key: the real aws-sdk-go-v2 KMS
// client talks to it over KMS's own JSON protocol.
//
// It differs from AWS in one documented place: for a MAC that does not
// match, AWS's VerifyMac fails with KMSInvalidMacException, local-kms
// answers MacValid false. handler/seal treats both as a forged seal and is
// tested with both.
package kmspeer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/hookline/hookline/internal/testing/harness"
)

// Peer is a running local-kms with one HMAC_256 key, as the stack's seal key
// is created (infra.SealKeyKeySpec, infra.SealKeyUsage).
type Peer struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_KMS).
	URL string
	// KeyArn is the seal key's ARN.
	KeyArn string
	// Client is a KMS client of the peer.
	Client *kms.Client
}

// Env points a process's AWS SDK at the peer.
func (p *Peer) Env() []string {
	return []string{"AWS_ENDPOINT_URL_KMS=" + p.URL}
}

// Start runs local-kms for the test (skipping it when the binary is missing,
// unless HOOKLINE_REQUIRE_KMS=1) and creates the seal key.
func Start(t testing.TB) *Peer {
	t.Helper()
	bin := os.Getenv("HOOKLINE_LOCAL_KMS")
	if bin == "" {
		bin = filepath.Join(harness.ProjectDir(t), "bin", "local-kms")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("HOOKLINE_REQUIRE_KMS") == "1" {
			t.Fatalf("local-kms not found at %s: run `make tools`", bin)
		}
		t.Skipf("local-kms not found at %s (make tools installs it)", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port, "KMS_DATA_PATH="+t.TempDir(), "KMS_REGION=eu-west-1", "KMS_ACCOUNT_ID=111122223333")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("local-kms did not start on %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := kms.New(kms.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		})})
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{
		KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac, Description: aws.String("hookline test seal key"),
	})
	if err != nil {
		t.Fatalf("create the seal key in local-kms: %v", err)
	}
	const alias = "alias/hookline-test-seal"
	if _, err := client.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("alias the seal key in local-kms: %v", err)
	}
	return &Peer{URL: url, KeyArn: "arn:aws:kms:eu-west-1:111122223333:" + alias, Client: client}
}
