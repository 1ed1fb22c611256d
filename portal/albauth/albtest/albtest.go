// Package albtest is a local stand-in for an Application Load Balancer's
// sign-in, for tests: a P-256 key it generates, a key endpoint serving the
// key's PEM by kid (as https://public-keys.auth.elb.<region>.amazonaws.com
// does), and tokens signed the way the load balancer signs x-amzn-oidc-data
// (ES256, signer/kid/exp/iss/client in the header, base64url with padding).
package albtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ARN is a load balancer ARN for tests.
const ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/hookline-portal/50dc6c495c0c9188"

// Issuer signs tokens as a load balancer would and serves its public key.
type Issuer struct {
	// Key signs; KID names it at the key endpoint; ARN is the signer.
	Key *ecdsa.PrivateKey
	KID string
	ARN string
	// PEM is the public key as the endpoint serves it.
	PEM []byte
	// Fetches counts the key endpoint's requests.
	Fetches atomic.Int64
	// Status, when set, is what the key endpoint answers instead (500 to
	// play an outage).
	Status atomic.Int64

	srv *httptest.Server
}

// New starts an issuer whose key endpoint closes with t.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{Key: key, KID: "7f0e1c2d-3b4a-4c5d-8e6f-0a1b2c3d4e5f", ARN: ARN,
		PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
	i.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.Fetches.Add(1)
		if s := i.Status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		if r.URL.Path != "/"+i.KID {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(i.PEM)
	}))
	t.Cleanup(i.srv.Close)
	return i
}

// KeyURL is the key endpoint's base URL (the kid follows it).
func (i *Issuer) KeyURL() string { return i.srv.URL + "/" }

// Header is the header the load balancer writes: exp two minutes from now.
func (i *Issuer) Header() map[string]any {
	return map[string]any{"alg": "ES256", "typ": "JWT", "kid": i.KID, "signer": i.ARN,
		"iss": "https://idp.example.com", "client": "hookline-portal", "exp": time.Now().Add(2 * time.Minute).Unix()}
}

// Token is a good token of payload, as the load balancer sends it.
func (i *Issuer) Token(t testing.TB, payload map[string]any) string {
	return i.Sign(t, i.Header(), payload)
}

// Sign signs header and payload with ES256, each part base64url with
// padding, as AWS documents the load balancer's encoding.
func (i *Issuer) Sign(t testing.TB, header, payload map[string]any) string {
	return i.sign(t, base64.URLEncoding, header, payload)
}

// SignUnpadded signs as a standard JWT (RFC 7515's unpadded base64url).
func (i *Issuer) SignUnpadded(t testing.TB, header, payload map[string]any) string {
	return i.sign(t, base64.RawURLEncoding, header, payload)
}

func (i *Issuer) sign(t testing.TB, enc *base64.Encoding, header, payload map[string]any) string {
	t.Helper()
	input := Encode(t, enc, header) + "." + Encode(t, enc, payload)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, i.Key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

// HMAC signs header and payload with HS256 and secret: the algorithm
// confusion attack, with the public key's PEM as the secret.
func HMAC(t testing.TB, secret []byte, header, payload map[string]any) string {
	input := Encode(t, base64.URLEncoding, header) + "." + Encode(t, base64.URLEncoding, payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.URLEncoding.EncodeToString(m.Sum(nil))
}

// Unsigned is header and payload with an empty signature (alg none).
func Unsigned(t testing.TB, header, payload map[string]any) string {
	return Encode(t, base64.URLEncoding, header) + "." + Encode(t, base64.URLEncoding, payload) + "."
}

// Encode is v's JSON in enc.
func Encode(t testing.TB, enc *base64.Encoding, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeToString(b)
}

// Parts splits a token into its three parts.
func Parts(token string) (header, payload, sig string) {
	p := strings.SplitN(token, ".", 3)
	return p[0], p[1], p[2]
}
