package contract_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
)

type headerMap map[string]string

func (h headerMap) Header(name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// TestSchemeTable: what the table answers for every scheme. These are the
// answers of the switches it replaced, unchanged.
func TestSchemeTable(t *testing.T) {
	header := func(n string) contract.Selector { return contract.Selector{Kind: contract.KindHeader, Name: n} }
	body := func(p string) contract.Selector { return contract.Selector{Kind: contract.KindBody, Name: p} }
	cases := []struct {
		scheme          contract.Scheme
		headers         []string // with the custom header X-Sig
		eventID         contract.Selector
		signsBody       bool
		signsDeliveryID bool
	}{
		{contract.SchemeStandardWebhooks, []string{"webhook-id", "webhook-timestamp", "webhook-signature"}, header("webhook-id"), true, true},
		{contract.SchemeGitHub, []string{"X-Hub-Signature-256"}, header("X-GitHub-Delivery"), true, false},
		{contract.SchemeStripe, []string{"Stripe-Signature"}, body("$.id"), true, true},
		{contract.SchemeSlack, []string{"X-Slack-Request-Timestamp", "X-Slack-Signature"}, body("$.event_id"), true, true},
		{contract.SchemeShopify, []string{"X-Shopify-Hmac-Sha256"}, header("X-Shopify-Webhook-Id"), true, false},
		{contract.SchemeHMACSHA256, []string{"X-Sig"}, contract.Selector{}, true, false},
		{contract.SchemeNone, nil, contract.Selector{}, false, false},
		{"rot13", nil, contract.Selector{}, false, false},
	}
	var listed []contract.Scheme
	for _, tc := range cases {
		t.Run(string(tc.scheme), func(t *testing.T) {
			if got := tc.scheme.SignatureHeaders("X-Sig"); !slices.Equal(got, tc.headers) {
				t.Errorf("SignatureHeaders = %v, want %v", got, tc.headers)
			}
			if got := tc.scheme.DefaultEventID(); got != tc.eventID {
				t.Errorf("DefaultEventID = %v, want %v", got, tc.eventID)
			}
			if got := tc.scheme.SignsBody(); got != tc.signsBody {
				t.Errorf("SignsBody = %v", got)
			}
			if got := tc.scheme.SignsDeliveryID(); got != tc.signsDeliveryID {
				t.Errorf("SignsDeliveryID = %v", got)
			}
		})
		if tc.scheme != "rot13" {
			listed = append(listed, tc.scheme)
		}
	}
	if !slices.Equal(listed, contract.Schemes) {
		t.Errorf("Schemes = %v, want %v (documentation order)", contract.Schemes, listed)
	}
	if got := contract.SchemeHMACSHA256.SignatureHeaders(""); got != nil {
		t.Errorf("hmac-sha256 without a header needs %v", got)
	}
}

// TestEverySchemeSignsWhatItVerifies: for every scheme in the table, Sign
// writes exactly the headers the template forwards (SignatureHeaders), and
// Verify accepts that signature and refuses it with another secret or over
// another body.
func TestEverySchemeSignsWhatItVerifies(t *testing.T) {
	at := time.Unix(1700000000, 0)
	d := contract.Delivery{ID: "msg_1", At: at, Body: []byte(`{"id":"evt_1"}`)}
	for _, s := range contract.Schemes {
		for _, enc := range map[bool][]string{true: {"hex", "base64"}, false: {""}}[s == contract.SchemeHMACSHA256] {
			o := contract.SchemeOptions{}
			if enc != "" {
				o = contract.SchemeOptions{Header: "X-Signature", Encoding: enc}
			}
			t.Run(strings.TrimSuffix(string(s)+" "+enc, " "), func(t *testing.T) {
				impl, err := s.Implementation(o)
				if err != nil {
					t.Fatal(err)
				}
				secret, other := impl.NewSecret([]byte("0123456789abcdef0123456789abcdef")), impl.NewSecret([]byte("another key of thirty-two bytes!"))
				h, err := impl.Sign(secret, d)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := slices.Sorted(maps.Keys(h)), slices.Sorted(slices.Values(s.SignatureHeaders(o.Header))); !slices.Equal(got, want) {
					t.Errorf("Sign writes %v, the template forwards %v", got, want)
				}
				if err := impl.Verify(headerMap(h), d.Body, []string{secret}, at); err != nil {
					t.Errorf("its own signature: %v", err)
				}
				if err := impl.Verify(headerMap(h), d.Body, []string{other, secret}, at.Add(-time.Minute)); err != nil {
					t.Errorf("with a second active secret, received a minute earlier: %v", err)
				}
				if s == contract.SchemeNone {
					return
				}
				if err := impl.Verify(headerMap(h), d.Body, []string{other}, at); !errors.Is(err, contract.ErrSignatureMismatch) {
					t.Errorf("another secret: %v, want a mismatch", err)
				}
				if err := impl.Verify(headerMap(h), []byte(`{"id":"evt_2"}`), []string{secret}, at); !errors.Is(err, contract.ErrSignatureMismatch) {
					t.Errorf("another body: %v, want a mismatch", err)
				}
				if err := impl.Verify(headerMap{}, d.Body, []string{secret}, at); !errors.Is(err, contract.ErrSignatureMissing) {
					t.Errorf("unsigned: %v, want missing", err)
				}
			})
		}
	}
}

func TestSchemeImplementationFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme contract.Scheme
		o      contract.SchemeOptions
		want   error
	}{
		{"unknown scheme", "rot13", contract.SchemeOptions{}, contract.ErrUnknownScheme},
		{"hmac-sha256 without a header", contract.SchemeHMACSHA256, contract.SchemeOptions{Encoding: "hex"}, contract.ErrSignatureMissing},
		{"hmac-sha256 in base32", contract.SchemeHMACSHA256, contract.SchemeOptions{Header: "X-Sig", Encoding: "base32"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			impl, err := tc.scheme.Implementation(tc.o)
			if err == nil || impl != nil {
				t.Fatalf("built %v", impl)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	sw, _ := contract.SchemeStandardWebhooks.Implementation(contract.SchemeOptions{})
	if _, err := sw.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", contract.Delivery{Body: []byte("{}")}); err == nil {
		t.Error("Standard Webhooks signed a delivery without an id")
	}
}

// TestDeliveryHeadersAreRequiredAtTheEdge: the delivery-id headers a
// scheme's senders always send are among the REST request validator's
// required headers (a GitHub delivery replayed without X-GitHub-Delivery is
// refused with 400), once each, whatever the source's eventId; on an HTTP
// API the mapping refuses a request without one when it names it (the
// delivery id as the default eventId).
func TestDeliveryHeadersAreRequiredAtTheEdge(t *testing.T) {
	for _, tc := range []struct {
		scheme contract.Scheme
		want   []string
	}{
		{contract.SchemeGitHub, []string{"X-GitHub-Delivery", "X-Hub-Signature-256"}},
		{contract.SchemeShopify, []string{"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}},
		{contract.SchemeStandardWebhooks, []string{"webhook-id", "webhook-signature", "webhook-timestamp"}},
		{contract.SchemeStripe, []string{"Stripe-Signature"}},
		{contract.SchemeNone, nil},
	} {
		for _, eventID := range []contract.Selector{tc.scheme.DefaultEventID(), {Kind: contract.KindBody, Name: "$.id"}} {
			s := contract.Spec{Source: "hooks", GroupBy: contract.Selector{Kind: contract.KindSource}, EventID: eventID,
				SignatureHeaders: tc.scheme.SignatureHeaders(""), DeliveryHeaders: tc.scheme.DeliveryHeaders(),
				ContentTypes: []string{"application/json"}}
			if got := s.RequiredHeaders(); !slices.Equal(got, tc.want) {
				t.Errorf("%s, eventId %s: required headers %v, want %v", tc.scheme, eventID, got, tc.want)
			}
		}
	}
	if got := contract.SchemeStripe.DeliveryHeaders(); got != nil {
		t.Errorf("stripe signs its event id in the body; delivery headers %v", got)
	}
	gh := contract.Spec{Source: "hooks", GroupBy: contract.Selector{Kind: contract.KindSource}, EventID: contract.SchemeGitHub.DefaultEventID(),
		SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""), DeliveryHeaders: contract.SchemeGitHub.DeliveryHeaders(),
		ContentTypes: []string{"application/json"}}
	req := contract.Request{Headers: map[string]string{"content-type": "application/json", "x-hub-signature-256": "sha256=abc"}, Body: []byte(`{}`)}
	if why := gh.HTTPRefusal(req); !strings.Contains(why, "X-GitHub-Delivery is missing") {
		t.Errorf("HTTP API, GitHub delivery without its delivery id: refusal %q", why)
	}
}
