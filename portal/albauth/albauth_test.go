package albauth_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/portal/albauth"
	"github.com/hookline/hookline/portal/albauth/albtest"
)

func verifier(t *testing.T, iss *albtest.Issuer) *albauth.Verifier {
	t.Helper()
	v, err := albauth.New(albauth.Config{ARN: albtest.ARN, KeyURL: iss.KeyURL()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var alice = map[string]any{"sub": "alice-1", "email": "alice@example.com", "groups": []string{"idp-payments"}}

// with is the issuer's header with fields changed (a nil value removes one).
func with(iss *albtest.Issuer, fields map[string]any) map[string]any {
	h := iss.Header()
	for k, v := range fields {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return h
}

func TestVerifyAcceptsTheLoadBalancersTokens(t *testing.T) {
	iss := albtest.New(t)
	v := verifier(t, iss)
	padded := iss.Token(t, alice)
	if !strings.Contains(padded, "=") {
		t.Fatalf("the load balancer's encoding pads; this token has no padding: %s", padded)
	}
	// A standard JWT decoder refuses the padding AWS documents; this is
	// why the verifier allows it.
	if _, err := jwt.Parse(padded, func(*jwt.Token) (any, error) { return &iss.Key.PublicKey, nil }); err == nil {
		t.Fatal("a default golang-jwt parser took a padded token: the padding note is stale")
	}
	for name, token := range map[string]string{
		"padded, as AWS documents": padded,
		"unpadded, as RFC 7515":    iss.SignUnpadded(t, iss.Header(), alice),
		"with surrounding spaces":  " " + padded + " ",
		"expired within leeway":    iss.Sign(t, with(iss, map[string]any{"exp": time.Now().Add(-10 * time.Second).Unix()}), alice),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "alice-1" || c.Email != "alice@example.com" || c.Signer != albtest.ARN ||
				c.Issuer != "https://idp.example.com" || c.Client != "hookline-portal" || c.Expires.IsZero() {
				t.Errorf("claims %+v", c)
			}
		})
	}
	if n := iss.Fetches.Load(); n != 1 {
		t.Errorf("the key was fetched %d times, want once (cached by kid)", n)
	}
}

func TestVerifyRefuses(t *testing.T) {
	iss := albtest.New(t)
	other := albtest.New(t) // another key, served nowhere the verifier looks
	other.KID = iss.KID
	tampered := func() string {
		h, _, sig := albtest.Parts(iss.Token(t, alice))
		evil := maps.Clone(alice)
		evil["groups"] = []string{"idp-platform"}
		_, p, _ := albtest.Parts(iss.Token(t, evil))
		return h + "." + p + "." + sig
	}
	for _, tc := range []struct {
		name    string
		token   string
		want    error
		fetches bool // whether refusing it may fetch a key
	}{
		{"expired", iss.Sign(t, with(iss, map[string]any{"exp": time.Now().Add(-5 * time.Minute).Unix()}), alice), albauth.ErrExpired, false},
		{"no exp", iss.Sign(t, with(iss, map[string]any{"exp": nil}), alice), albauth.ErrExpired, false},
		{"payload exp passed", iss.Token(t, map[string]any{"sub": "a", "exp": time.Now().Add(-time.Hour).Unix()}), albauth.ErrExpired, true},
		{"wrong signer", iss.Sign(t, with(iss, map[string]any{"signer": strings.Replace(albtest.ARN, "hookline-portal", "someone-else", 1)}), alice), albauth.ErrSigner, false},
		{"no signer", iss.Sign(t, with(iss, map[string]any{"signer": nil}), alice), albauth.ErrSigner, false},
		{"unsigned (alg none)", albtest.Unsigned(t, with(iss, map[string]any{"alg": "none"}), alice), albauth.ErrAlgorithm, false},
		{"unsigned (alg None)", albtest.Unsigned(t, with(iss, map[string]any{"alg": "None"}), alice), albauth.ErrAlgorithm, false},
		{"no alg", iss.Sign(t, with(iss, map[string]any{"alg": nil}), alice), albauth.ErrAlgorithm, false},
		{"HS256 with the public key as secret", albtest.HMAC(t, iss.PEM, with(iss, map[string]any{"alg": "HS256"}), alice), albauth.ErrAlgorithm, false},
		{"ES384", iss.Sign(t, with(iss, map[string]any{"alg": "ES384"}), alice), albauth.ErrAlgorithm, false},
		{"tampered payload", tampered(), albauth.ErrSignature, true},
		{"signed by another key under the same kid", other.Token(t, alice), albauth.ErrSignature, true},
		{"unknown kid", iss.Sign(t, with(iss, map[string]any{"kid": "00000000-0000-0000-0000-000000000000"}), alice), albauth.ErrUnknownKey, true},
		{"kid with /../", iss.Sign(t, with(iss, map[string]any{"kid": "../" + iss.KID}), alice), albauth.ErrKeyID, false},
		{"kid with a path", iss.Sign(t, with(iss, map[string]any{"kid": "a/../../b"}), alice), albauth.ErrKeyID, false},
		{"kid percent-encoded", iss.Sign(t, with(iss, map[string]any{"kid": "%2e%2e%2f" + iss.KID}), alice), albauth.ErrKeyID, false},
		{"kid with a query", iss.Sign(t, with(iss, map[string]any{"kid": iss.KID + "?x=1"}), alice), albauth.ErrKeyID, false},
		{"no kid", iss.Sign(t, with(iss, map[string]any{"kid": nil}), alice), albauth.ErrKeyID, false},
		{"kid not a string", iss.Sign(t, with(iss, map[string]any{"kid": 7}), alice), albauth.ErrKeyID, false},
		{"two parts", "eyJhbGciOiJFUzI1NiJ9.e30", albauth.ErrMalformed, false},
		{"not base64", "###.###.###", albauth.ErrMalformed, false},
		{"empty", "", albauth.ErrMalformed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, iss) // a fresh cache each
			before := iss.Fetches.Load()
			c, err := v.Verify(context.Background(), tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (claims %+v), want %v", err, c, tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want.Error()+": ") {
				t.Errorf("message %q does not say what was wrong after %q", err, tc.want)
			}
			if !tc.fetches && iss.Fetches.Load() != before {
				t.Errorf("refusing it fetched a key")
			}
		})
	}
}

func TestKeyFetches(t *testing.T) {
	iss := albtest.New(t)
	v := verifier(t, iss)
	unknown := iss.Sign(t, with(iss, map[string]any{"kid": "11111111-1111-1111-1111-111111111111"}), alice)
	for range 3 {
		if _, err := v.Verify(context.Background(), unknown); !errors.Is(err, albauth.ErrUnknownKey) {
			t.Fatalf("got %v, want ErrUnknownKey", err)
		}
	}
	if n := iss.Fetches.Load(); n != 1 {
		t.Errorf("an unknown kid was fetched %d times in a row, want once (remembered for a minute)", n)
	}

	// An outage is not remembered: the next request tries again.
	iss.Status.Store(http.StatusInternalServerError)
	good := iss.Token(t, alice)
	for range 2 {
		if _, err := v.Verify(context.Background(), good); !errors.Is(err, albauth.ErrKeyUnavailable) {
			t.Fatalf("got %v, want ErrKeyUnavailable", err)
		}
	}
	iss.Status.Store(0)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if n := iss.Fetches.Load(); n != 4 {
		t.Errorf("fetches %d, want 4 (1 unknown, 2 during the outage, 1 after)", n)
	}
}

func TestKeyURL(t *testing.T) {
	for _, tc := range []struct{ arn, want, err string }{
		{albtest.ARN, "https://public-keys.auth.elb.eu-west-1.amazonaws.com/", ""},
		{"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/p/50dc6c495c0c9188",
			"https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/", ""},
		{"arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/p/50dc6c495c0c9188", "", "not documented"},
		{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/p/50dc6c495c0c9188", "", "not an Application Load Balancer ARN"},
		{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/p/50dc6c495c0c9188", "", "not an Application Load Balancer ARN"},
		{"", "", "not an Application Load Balancer ARN"},
	} {
		got, err := albauth.KeyURL(tc.arn)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("KeyURL(%q) = %q, %v; want %q, %q", tc.arn, got, err, tc.want, tc.err)
		}
	}
	if _, err := albauth.New(albauth.Config{ARN: "arn:aws:iam::123456789012:role/x"}); err == nil {
		t.Error("New took an IAM role's ARN as the signer")
	}
	for _, u := range []string{"file:///etc/", "http://keys.example.com/", "https://", "https://keys.example.com/?kid=", "keys"} {
		if _, err := albauth.New(albauth.Config{ARN: albtest.ARN, KeyURL: u}); err == nil {
			t.Errorf("New took the key URL %q", u)
		}
	}
	for _, u := range []string{"https://keys.example.com/prefix", "http://127.0.0.1:8080/", "http://localhost/k/", "http://[::1]:9/"} {
		if _, err := albauth.New(albauth.Config{ARN: albtest.ARN, KeyURL: u}); err != nil {
			t.Errorf("New refused the key URL %q: %v", u, err)
		}
	}
}
