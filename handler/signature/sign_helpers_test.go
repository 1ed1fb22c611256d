package signature_test

import (
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/testing/harness"
)

// signWith is harness.SignHeader: a sender's header, signed through the
// contract's table.
var signWith = harness.SignHeader

func signStandardWebhooks(secret, id string, ts int64, body []byte) (string, error) {
	return signWith(contract.SchemeStandardWebhooks, contract.SchemeOptions{}, secret,
		contract.Delivery{ID: id, At: time.Unix(ts, 0), Body: body}, contract.HeaderWebhookSignature)
}

func signGitHub(secret string, body []byte) string {
	v, _ := signWith(contract.SchemeGitHub, contract.SchemeOptions{}, secret, contract.Delivery{Body: body}, contract.HeaderGitHubSignature)
	return v
}

func signStripe(secret string, ts int64, body []byte) string {
	v, _ := signWith(contract.SchemeStripe, contract.SchemeOptions{}, secret, contract.Delivery{At: time.Unix(ts, 0), Body: body}, contract.HeaderStripeSignature)
	return v
}

func signSlack(secret string, ts int64, body []byte) string {
	v, _ := signWith(contract.SchemeSlack, contract.SchemeOptions{}, secret, contract.Delivery{At: time.Unix(ts, 0), Body: body}, contract.HeaderSlackSignature)
	return v
}

func signShopify(secret string, body []byte) string {
	v, _ := signWith(contract.SchemeShopify, contract.SchemeOptions{}, secret, contract.Delivery{Body: body}, contract.HeaderShopifyHMAC)
	return v
}

// signHMAC is the generic scheme's value for a body (header X-Signature).
func signHMAC(secret, encoding string, body []byte) string {
	v, _ := signWith(contract.SchemeHMACSHA256, contract.SchemeOptions{Header: "X-Signature", Encoding: encoding}, secret,
		contract.Delivery{Body: body}, "X-Signature")
	return v
}
