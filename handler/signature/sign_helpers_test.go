package signature_test

import (
	"time"

	"github.com/hookline/hookline/contract"
)

// signWith signs d the way the scheme's senders do, through the contract's
// table (the same Sign hookline send, invoke and the forward processor
// use), and returns the value of one header it wrote.
func signWith(s contract.Scheme, o contract.SchemeOptions, secret string, d contract.Delivery, header string) (string, error) {
	impl, err := s.Implementation(o)
	if err != nil {
		return "", err
	}
	h, err := impl.Sign(secret, d)
	if err != nil {
		return "", err
	}
	return h[header], nil
}

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
