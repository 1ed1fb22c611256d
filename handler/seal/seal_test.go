package seal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/internal/testing/kmspeer"
)

// TestSealRoundTripsThroughKMS: a seal made through the real KMS client
// against a KMS peer (local-kms, an HMAC_256 key) opens to its receipt
// time; changed in any part it binds — time, source, body — or made under
// another key, it is a forgery.
func TestSealRoundTripsThroughKMS(t *testing.T) {
	peer := kmspeer.Start(t)
	ctx := context.Background()
	k := seal.KMS{API: peer.Client, KeyID: peer.KeyArn}
	at := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond).UTC()
	body := []byte(`{"type":"invoice.paid"}`)
	v, err := contract.Seal(ctx, k, "payments", at, body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := contract.OpenSeal(ctx, k, "payments", body, v)
	if err != nil || !got.Equal(at) {
		t.Fatalf("open: %s %v, want %s", got, err, at)
	}
	ms, mac, _ := strings.Cut(v, ".")
	for name, tc := range map[string]struct {
		source, seal string
		body         []byte
	}{
		"another source": {"orders", v, body},
		"another body":   {"payments", v, []byte(`{"type":"invoice.refunded"}`)},
		"another time":   {"payments", "1" + ms + "." + mac, body},
		"no MAC":         {"payments", ms + ".", body},
		"not a seal":     {"payments", "yesterday", body},
	} {
		if _, err := contract.OpenSeal(ctx, k, tc.source, tc.body, tc.seal); !errors.Is(err, contract.ErrForgedSeal) {
			t.Errorf("%s: %v, want ErrForgedSeal", name, err)
		}
	}
	other, err := peer.Client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contract.OpenSeal(ctx, seal.KMS{API: peer.Client, KeyID: aws.ToString(other.KeyMetadata.Arn)}, "payments", body, v); !errors.Is(err, contract.ErrForgedSeal) {
		t.Errorf("another key: %v, want ErrForgedSeal", err)
	}
}

// TestVerifyMacAnswers: AWS answers a MAC that does not match with
// KMSInvalidMacException (its documented VerifyMac behaviour, which the
// peer does not follow): a forgery. Any other error (a denied call, a
// throttle) is not a verdict: the handler retries.
func TestVerifyMacAnswers(t *testing.T) {
	answer := func(status int, typ string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"__type":"`+typ+`","message":"x"}`)
		}))
	}
	for typ, forged := range map[string]bool{"KMSInvalidMacException": true, "AccessDeniedException": false} {
		srv := answer(400, typ)
		client := kms.New(kms.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: aws.AnonymousCredentials{}})
		err := seal.KMS{API: client, KeyID: "arn:aws:kms:eu-west-1:111122223333:key/k"}.VerifyMAC(context.Background(), []byte("m"), []byte("mac"))
		srv.Close()
		if err == nil || errors.Is(err, contract.ErrForgedSeal) != forged {
			t.Errorf("%s: %v, forged want %v", typ, err, forged)
		}
	}
}
