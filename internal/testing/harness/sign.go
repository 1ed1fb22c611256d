package harness

import "github.com/hookline/hookline/contract"

// SignHeader signs d the way the scheme's senders do, through the
// contract's table (the same Sign hookline send, invoke and the forward
// processor use), and returns the value of one header it wrote.
func SignHeader(s contract.Scheme, o contract.SchemeOptions, secret string, d contract.Delivery, header string) (string, error) {
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
