package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/signature"
)

type headers map[string]string

func (h headers) Header(name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func verifier(t *testing.T, s contract.Scheme, o signature.Options) signature.Verifier {
	t.Helper()
	v, err := signature.New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The Standard Webhooks specification's published test vector.
const (
	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS     = "1614265330"
	swBody   = `{"test": 2432232314}`
	swSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var swNow = time.Unix(1614265330, 0)

// GitHub's documented test values.
const (
	ghSecret = "It's a Secret to Everybody"
	ghBody   = "Hello, World!"
	ghSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestPublishedVectors(t *testing.T) {
	sw := verifier(t, contract.SchemeStandardWebhooks, signature.Options{})
	if err := sw.Verify(headers{"webhook-id": swID, "webhook-timestamp": swTS, "webhook-signature": swSig}, []byte(swBody), []string{swSecret}, swNow); err != nil {
		t.Errorf("Standard Webhooks vector: %v", err)
	}
	got, err := signStandardWebhooks(swSecret, swID, 1614265330, []byte(swBody))
	if err != nil || got != swSig {
		t.Errorf("signing the Standard Webhooks vector: %q, %v", got, err)
	}

	gh := verifier(t, contract.SchemeGitHub, signature.Options{})
	if err := gh.Verify(headers{"X-Hub-Signature-256": ghSig}, []byte(ghBody), []string{ghSecret}, time.Now()); err != nil {
		t.Errorf("GitHub vector: %v", err)
	}
	if got := signGitHub(ghSecret, []byte(ghBody)); got != ghSig {
		t.Errorf("signing the GitHub vector: %q", got)
	}
}

// TestStripeDocumentedScheme: Stripe publishes the header format and the
// signed payload ("<t>.<body>", HMAC-SHA256 hex with the endpoint secret) but
// no secret for its example header, so the expected signature is computed
// here independently of the package, from the documented construction.
func TestStripeDocumentedScheme(t *testing.T) {
	// The documented example header parses: t, one v1, and v0 is ignored.
	ts, sigs, err := contract.ParseStripeHeader("t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
	if err != nil || ts != "1492774577" || len(sigs) != 1 || hex.EncodeToString(sigs[0]) != "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd" {
		t.Fatalf("documented header: %q %x %v", ts, sigs, err)
	}

	secret := "whsec_test_secret"
	body := []byte(`{"id":"evt_1","object":"event"}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("1492774577." + string(body)))
	expected := hex.EncodeToString(m.Sum(nil))
	v := verifier(t, contract.SchemeStripe, signature.Options{})
	now := time.Unix(1492774577, 0)
	header := "t=1492774577,v1=" + expected + ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
	if err := v.Verify(headers{"Stripe-Signature": header}, body, []string{secret}, now); err != nil {
		t.Errorf("documented construction: %v", err)
	}
	if got := signStripe(secret, 1492774577, body); got != "t=1492774577,v1="+expected {
		t.Errorf("SignStripe = %q", got)
	}
	// During a secret roll Stripe sends one v1 per active secret.
	rolled := "t=1492774577,v1=" + strings.Repeat("00", 32) + ",v1=" + expected
	if err := v.Verify(headers{"stripe-signature": rolled}, body, []string{secret}, now); err != nil {
		t.Errorf("second v1: %v", err)
	}
}

func TestOutcomes(t *testing.T) {
	body := []byte(`{"type":"ping"}`)
	now := time.Unix(1700000000, 0)
	sw, _ := signStandardWebhooks(swSecret, "msg_1", now.Unix(), body)
	swHeaders := func(ts int64, sig string) headers {
		return headers{"webhook-id": "msg_1", "webhook-timestamp": itoa(ts), "webhook-signature": sig}
	}
	stripeSecret := "whsec_stripe"
	cases := []struct {
		name    string
		scheme  contract.Scheme
		opts    signature.Options
		headers headers
		body    []byte
		secrets []string
		want    error
	}{
		{"standard ok", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), sw), body, []string{swSecret}, nil},
		{"standard: several signatures, one valid", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), "v1a,abc v1,bm9wZQ== "+sw), body, []string{swSecret}, nil},
		{"standard: rotated secrets", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), sw), body, []string{"whsec_b2xk", swSecret}, nil},
		{"standard: tampered body", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), sw), []byte(`{"type":"pong"}`), []string{swSecret}, contract.ErrSignatureMismatch},
		{"standard: wrong secret", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), sw), body, []string{"whsec_b2xk"}, contract.ErrSignatureMismatch},
		{"standard: 6 min old", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix()-360, sw), body, []string{swSecret}, contract.ErrSignatureStale},
		{"standard: 6 min ahead", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix()+360, sw), body, []string{swSecret}, contract.ErrSignatureStale},
		{"standard: 4 min old, re-signed", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix()-240, mustSign(t, now.Unix()-240, body)), body, []string{swSecret}, nil},
		{"standard: custom tolerance", contract.SchemeStandardWebhooks, signature.Options{Tolerance: time.Minute}, swHeaders(now.Unix()-120, mustSign(t, now.Unix()-120, body)), body, []string{swSecret}, contract.ErrSignatureStale},
		{"standard: no id", contract.SchemeStandardWebhooks, signature.Options{}, headers{"webhook-timestamp": "1", "webhook-signature": sw}, body, []string{swSecret}, contract.ErrSignatureMissing},
		{"standard: bad timestamp", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(0, sw), body, []string{swSecret}, contract.ErrSignatureMalformed},
		{"standard: only v1a", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), "v1a,abc"), body, []string{swSecret}, contract.ErrSignatureMalformed},
		{"standard: secret not base64", contract.SchemeStandardWebhooks, signature.Options{}, swHeaders(now.Unix(), sw), body, []string{"not base64!"}, contract.ErrNoSecret},
		{"github ok, lower-case header", contract.SchemeGitHub, signature.Options{}, headers{"x-hub-signature-256": signGitHub("s", body)}, body, []string{"s"}, nil},
		{"github: old secret still active", contract.SchemeGitHub, signature.Options{}, headers{"X-Hub-Signature-256": signGitHub("old", body)}, body, []string{"new", "old"}, nil},
		{"github: sha1 header", contract.SchemeGitHub, signature.Options{}, headers{"X-Hub-Signature-256": "sha1=abc"}, body, []string{"s"}, contract.ErrSignatureMalformed},
		{"github: missing", contract.SchemeGitHub, signature.Options{}, headers{}, body, []string{"s"}, contract.ErrSignatureMissing},
		{"github: forged", contract.SchemeGitHub, signature.Options{}, headers{"X-Hub-Signature-256": signGitHub("attacker", body)}, body, []string{"s"}, contract.ErrSignatureMismatch},
		{"github: no secrets", contract.SchemeGitHub, signature.Options{}, headers{"X-Hub-Signature-256": signGitHub("s", body)}, body, nil, contract.ErrNoSecret},
		{"stripe ok", contract.SchemeStripe, signature.Options{}, headers{"Stripe-Signature": signStripe(stripeSecret, now.Unix(), body)}, body, []string{stripeSecret}, nil},
		{"stripe: stale", contract.SchemeStripe, signature.Options{}, headers{"Stripe-Signature": signStripe(stripeSecret, now.Unix()-301, body)}, body, []string{stripeSecret}, contract.ErrSignatureStale},
		{"stripe: no t", contract.SchemeStripe, signature.Options{}, headers{"Stripe-Signature": "v1=" + strings.Repeat("ab", 32)}, body, []string{stripeSecret}, contract.ErrSignatureMalformed},
		{"stripe: garbage", contract.SchemeStripe, signature.Options{}, headers{"Stripe-Signature": "hello"}, body, []string{stripeSecret}, contract.ErrSignatureMalformed},
		{"stripe: forged", contract.SchemeStripe, signature.Options{}, headers{"Stripe-Signature": signStripe("x", now.Unix(), body)}, body, []string{stripeSecret}, contract.ErrSignatureMismatch},
		{"hmac hex", contract.SchemeHMACSHA256, signature.Options{Header: "X-Signature", Encoding: "hex"}, headers{"x-signature": signHMAC("k", "hex", body)}, body, []string{"k"}, nil},
		{"hmac hex with sha256= prefix", contract.SchemeHMACSHA256, signature.Options{Header: "X-Signature", Encoding: "hex"}, headers{"X-Signature": "sha256=" + signHMAC("k", "hex", body)}, body, []string{"k"}, nil},
		{"hmac base64", contract.SchemeHMACSHA256, signature.Options{Header: "X-Signature", Encoding: "base64"}, headers{"X-Signature": signHMAC("k", "base64", body)}, body, []string{"k"}, nil},
		{"hmac base64 sent as hex", contract.SchemeHMACSHA256, signature.Options{Header: "X-Signature", Encoding: "base64"}, headers{"X-Signature": signHMAC("k", "hex", body)}, body, []string{"k"}, contract.ErrSignatureMalformed},
		{"hmac forged", contract.SchemeHMACSHA256, signature.Options{Header: "X-Signature", Encoding: "hex"}, headers{"X-Signature": signHMAC("x", "hex", body)}, body, []string{"k"}, contract.ErrSignatureMismatch},
		{"none", contract.SchemeNone, signature.Options{}, headers{}, body, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := verifier(t, tc.scheme, tc.opts).Verify(tc.headers, tc.body, tc.secrets, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if r := signature.Reason(err); r == "" || strings.Contains(r, "v1") {
				t.Errorf("reason %q", r)
			}
			for _, s := range tc.secrets {
				if len(s) > 5 && strings.Contains(err.Error(), s) {
					t.Error("the error leaks a secret")
				}
			}
			for _, v := range tc.headers {
				if len(v) > 12 && strings.Contains(err.Error(), v) {
					t.Error("the error leaks a signature")
				}
			}
		})
	}
}

func mustSign(t *testing.T, ts int64, body []byte) string {
	t.Helper()
	s, err := signStandardWebhooks(swSecret, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func itoa(n int64) string {
	if n == 0 {
		return "zero"
	}
	return strconv.FormatInt(n, 10)
}

func TestUnknownSchemeFailsClosed(t *testing.T) {
	_, err := signature.New("rot13", signature.Options{})
	if !errors.Is(err, contract.ErrUnknownScheme) {
		t.Errorf("got %v", err)
	}
	if _, err := signature.New(contract.SchemeHMACSHA256, signature.Options{Encoding: "hex"}); err == nil {
		t.Error("hmac-sha256 without a header must not build")
	}
}

func TestParseSecrets(t *testing.T) {
	got := signature.ParseSecrets(" whsec_a\r\nIt's a Secret to Everybody\n\n")
	if strings.Join(got, "|") != "whsec_a|It's a Secret to Everybody" {
		t.Errorf("got %q: one secret per line, spaces inside a secret kept", got)
	}
}

func FuzzParseStripeHeader(f *testing.F) {
	f.Add("t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
	f.Add("t=,v1=")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := contract.ParseStripeHeader(header)
		if err != nil {
			if !errors.Is(err, contract.ErrSignatureMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if ts == "" || len(sigs) == 0 {
			t.Fatalf("accepted %q without t or v1", header)
		}
		for _, s := range sigs {
			if len(s) != sha256.Size {
				t.Fatalf("accepted a %d-byte signature", len(s))
			}
		}
	})
}

func FuzzVerifyHeaders(f *testing.F) {
	f.Add(swID, swTS, swSig, swBody)
	f.Add("", "", "v1,", "")
	f.Add("x", "-1", "v1,==== v1a,x", "{}")
	v, err := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		err := v.Verify(headers{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}, []byte(body), []string{swSecret}, swNow)
		if err == nil && (id != swID || ts != swTS || body != swBody) {
			t.Fatalf("accepted a forged message: %q %q %q", id, ts, body)
		}
		if err != nil && signature.Reason(err) == "signature-error" {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}

// Slack's documented example (api.slack.com "Verifying requests from
// Slack"): secret, timestamp, form body and the signature it gives.
const (
	slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTS     = "1531420618"
	slackBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSlackDocumentedExample(t *testing.T) {
	v := verifier(t, contract.SchemeSlack, signature.Options{})
	h := headers{"X-Slack-Request-Timestamp": slackTS, "X-Slack-Signature": slackSig}
	at := time.Unix(1531420618, 0)
	if err := v.Verify(h, []byte(slackBody), []string{slackSecret}, at); err != nil {
		t.Fatalf("Slack's example: %v", err)
	}
	if got := signSlack(slackSecret, 1531420618, []byte(slackBody)); got != slackSig {
		t.Errorf("signing Slack's example: %s", got)
	}
	if err := v.Verify(h, []byte(slackBody+"&x=1"), []string{slackSecret}, at); !errors.Is(err, contract.ErrSignatureMismatch) {
		t.Errorf("tampered body: %v", err)
	}
	if err := v.Verify(h, []byte(slackBody), []string{slackSecret}, at.Add(6*time.Minute)); !errors.Is(err, contract.ErrSignatureStale) {
		t.Errorf("received 6 min later: %v", err)
	}
	if err := v.Verify(headers{"X-Slack-Request-Timestamp": slackTS, "X-Slack-Signature": "v1=abc"}, []byte(slackBody), []string{slackSecret}, at); !errors.Is(err, contract.ErrSignatureMalformed) {
		t.Errorf("wrong version: %v", err)
	}
}

// TestShopifyDocumentedScheme: Shopify documents X-Shopify-Hmac-Sha256 as
// the base64 HMAC-SHA256 of the raw body with the app's client secret, and
// publishes no vector; the expected value is computed here from that
// construction, independently of the package.
func TestShopifyDocumentedScheme(t *testing.T) {
	const secret, body = "hush", `{"id":820982911946154508,"email":"jon@example.com"}`
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	v := verifier(t, contract.SchemeShopify, signature.Options{})
	if err := v.Verify(headers{"X-Shopify-Hmac-Sha256": want}, []byte(body), []string{secret}, time.Now()); err != nil {
		t.Fatalf("documented construction: %v", err)
	}
	if got := signShopify(secret, []byte(body)); got != want {
		t.Errorf("SignShopify = %s, want %s", got, want)
	}
	if err := v.Verify(headers{"X-Shopify-Hmac-Sha256": hex.EncodeToString(m.Sum(nil))}, []byte(body), []string{secret}, time.Now()); !errors.Is(err, contract.ErrSignatureMalformed) {
		t.Errorf("hex instead of base64: %v", err)
	}
}

// TestSeveralEntriesAnyWellFormedMatches: as the owners' verifiers do, a
// header with several signatures verifies when any well-formed one matches,
// and malformed siblings are skipped rather than failing the whole header.
func TestSeveralEntriesAnyWellFormedMatches(t *testing.T) {
	sw := verifier(t, contract.SchemeStandardWebhooks, signature.Options{})
	for _, sigs := range []string{
		"v1,garbage " + swSig,
		"v1,!!!notbase64 v2,xyz " + swSig,
		"v1a,abc " + swSig + " v1,AAAA",
	} {
		if err := sw.Verify(headers{"webhook-id": swID, "webhook-timestamp": swTS, "webhook-signature": sigs}, []byte(swBody), []string{swSecret}, swNow); err != nil {
			t.Errorf("Standard Webhooks %q: %v", sigs, err)
		}
	}
	if err := sw.Verify(headers{"webhook-id": swID, "webhook-timestamp": swTS, "webhook-signature": "v1,garbage v1,!!"}, []byte(swBody), []string{swSecret}, swNow); !errors.Is(err, contract.ErrSignatureMalformed) {
		t.Errorf("only malformed entries: %v", err)
	}

	st := verifier(t, contract.SchemeStripe, signature.Options{})
	good := signStripe("whsec_test", 1700000000, []byte(`{"id":"evt_1"}`))
	_, v1, _ := strings.Cut(good, ",")
	for _, hdr := range []string{
		"t=1700000000,v1=deadbeef," + v1,
		"t=1700000000,garbage," + v1 + ",v0=xyz",
		"t=1700000000,v1=" + strings.Repeat("zz", 32) + "," + v1,
	} {
		if err := st.Verify(headers{"Stripe-Signature": hdr}, []byte(`{"id":"evt_1"}`), []string{"whsec_test"}, time.Unix(1700000000, 0)); err != nil {
			t.Errorf("Stripe %q: %v", hdr, err)
		}
	}
}

// TestFarFutureTimestampIsStale: a timestamp far in the future used to
// overflow the duration arithmetic and pass.
func TestFarFutureTimestampIsStale(t *testing.T) {
	sw := verifier(t, contract.SchemeStandardWebhooks, signature.Options{})
	sig, err := signStandardWebhooks(swSecret, swID, 99999999999, []byte(swBody))
	if err != nil {
		t.Fatal(err)
	}
	err = sw.Verify(headers{"webhook-id": swID, "webhook-timestamp": "99999999999", "webhook-signature": sig}, []byte(swBody), []string{swSecret}, swNow)
	if !errors.Is(err, contract.ErrSignatureStale) {
		t.Fatalf("ts=99999999999: %v, want stale", err)
	}
	st := verifier(t, contract.SchemeStripe, signature.Options{})
	hdr := signStripe("whsec_test", 9223372036, []byte("{}"))
	if err := st.Verify(headers{"Stripe-Signature": hdr}, []byte("{}"), []string{"whsec_test"}, swNow); !errors.Is(err, contract.ErrSignatureStale) {
		t.Fatalf("Stripe far future: %v, want stale", err)
	}
}
