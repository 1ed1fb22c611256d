// Package signature verifies webhook signatures: Standard Webhooks, GitHub,
// Stripe, Slack, Shopify and a generic HMAC-SHA256 header. Every comparison
// is constant-time, several secrets may be active at once (rotation), a
// header with several signatures verifies when any well-formed one matches
// (malformed siblings are skipped, as the owners' libraries do), and an
// unknown scheme fails closed.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/contract"
)

// Sentinel errors: every verification failure wraps exactly one of them, so
// callers decide outcomes with errors.Is.
var (
	// ErrMissing: a header the scheme needs is absent.
	ErrMissing = errors.New("signature header missing")
	// ErrMalformed: a header is present but cannot be parsed.
	ErrMalformed = errors.New("signature header malformed")
	// ErrMismatch: no signature matches any active secret.
	ErrMismatch = errors.New("signature does not match")
	// ErrStale: the signed timestamp is outside the tolerance.
	ErrStale = errors.New("signature timestamp outside tolerance")
	// ErrUnknownScheme: the scheme is not one hookline knows; fail closed.
	ErrUnknownScheme = errors.New("unknown signature scheme")
	// ErrNoSecret: no usable secret is configured.
	ErrNoSecret = errors.New("no signing secret")
)

// Reason is the short, loggable name of a verification failure (never the
// signature or the secret).
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrMissing, "signature-missing"}, {ErrMalformed, "signature-malformed"},
		{ErrMismatch, "signature-mismatch"}, {ErrStale, "signature-stale"},
		{ErrUnknownScheme, "unknown-scheme"}, {ErrNoSecret, "no-secret"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "signature-error"
}

// Headers looks a request header up by name, case-insensitively.
type Headers interface{ Header(name string) string }

// Verifier checks one message against the active secrets. at is the time
// the signed timestamp is judged against: when API Gateway received the
// request (not when the handler runs, which may be hours later after
// retries or a redrive).
type Verifier interface {
	Verify(h Headers, body []byte, secrets []string, at time.Time) error
}

// Options configure a verifier.
type Options struct {
	// Tolerance bounds |at - signed timestamp| for timestamped schemes.
	Tolerance time.Duration
	// Header and Encoding configure the generic hmac-sha256 scheme.
	Header   string
	Encoding string
}

// DefaultTolerance is the timestamp tolerance when none is configured.
const DefaultTolerance = 5 * time.Minute

// New returns the verifier of a scheme.
func New(s contract.Scheme, o Options) (Verifier, error) {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	switch s {
	case contract.SchemeStandardWebhooks:
		return standardWebhooks{o.Tolerance}, nil
	case contract.SchemeGitHub:
		return github{}, nil
	case contract.SchemeStripe:
		return stripe{o.Tolerance}, nil
	case contract.SchemeSlack:
		return slack{o.Tolerance}, nil
	case contract.SchemeShopify:
		return generic{header: contract.HeaderShopifyHMAC, encoding: "base64"}, nil
	case contract.SchemeHMACSHA256:
		if o.Header == "" {
			return nil, fmt.Errorf("hmac-sha256: %w: no header configured", ErrMissing)
		}
		if o.Encoding != "hex" && o.Encoding != "base64" {
			return nil, fmt.Errorf("hmac-sha256: encoding %q is not hex or base64", o.Encoding)
		}
		return generic{header: o.Header, encoding: o.Encoding}, nil
	case contract.SchemeNone:
		return none{}, nil
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownScheme, s)
	}
}

// ParseSecrets splits a secret parameter's value into its active secrets:
// one per line or separated by spaces, so a rotation can hold old and new.
func ParseSecrets(value string) []string {
	return strings.Fields(value)
}

// macs keeps one keyed HMAC per secret: keying HMAC-SHA256 costs two
// SHA-256 blocks and allocations, and a container verifies with the same few
// secrets for its whole life. Reset restores the keyed state.
var macs = struct {
	sync.Mutex
	m map[string]hash.Hash
}{m: map[string]hash.Hash{}}

const maxCachedKeys = 64

func mac(key []byte, parts ...[]byte) []byte {
	macs.Lock()
	defer macs.Unlock()
	m, ok := macs.m[string(key)]
	if !ok {
		if len(macs.m) >= maxCachedKeys {
			clear(macs.m)
		}
		m = hmac.New(sha256.New, key)
		macs.m[string(key)] = m
	}
	m.Reset()
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(make([]byte, 0, sha256.Size))
}

// swKeys caches decoded Standard Webhooks secrets (base64 after whsec_).
var swKeys sync.Map // string → []byte

// checkTimestamp compares whole seconds: a duration of a far-future
// timestamp (99999999999) would overflow time.Duration and pass.
func checkTimestamp(ts int64, at time.Time, tolerance time.Duration) error {
	d := at.Unix() - ts // ts > 0 and at.Unix() is a present-day time: no overflow
	if d < 0 {
		d = -d
	}
	if limit := int64(tolerance / time.Second); d > limit {
		return fmt.Errorf("%w: %d s away from the time of receipt, tolerance %d s", ErrStale, d, limit)
	}
	return nil
}

func parseUnix(s string) (int64, error) {
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ts <= 0 {
		return 0, fmt.Errorf("%w: timestamp is not unix seconds", ErrMalformed)
	}
	return ts, nil
}

// --- Standard Webhooks ------------------------------------------------------

type standardWebhooks struct{ tolerance time.Duration }

// StandardWebhooksKey decodes a Standard Webhooks secret: base64 after an
// optional whsec_ prefix.
func StandardWebhooksKey(secret string) ([]byte, error) {
	if k, ok := swKeys.Load(secret); ok {
		return k.([]byte), nil
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("%w: a Standard Webhooks secret is whsec_ followed by base64", ErrNoSecret)
	}
	swKeys.Store(secret, key)
	return key, nil
}

func (v standardWebhooks) Verify(h Headers, body []byte, secrets []string, at time.Time) error {
	id, tsText, sigs := h.Header(contract.HeaderWebhookID), h.Header(contract.HeaderWebhookTimestamp), h.Header(contract.HeaderWebhookSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderWebhookID)
	case tsText == "":
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderWebhookTimestamp)
	case sigs == "":
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderWebhookSignature)
	}
	ts, err := parseUnix(tsText)
	if err != nil {
		return err
	}
	if err := checkTimestamp(ts, at, v.tolerance); err != nil {
		return err
	}
	// Several space-separated "version,signature" entries; only v1 is HMAC.
	// A malformed entry is skipped, not fatal: a sender mid-rotation may
	// list signatures this verifier cannot read next to one it can.
	var candidates [][]byte
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) != sha256.Size {
			continue
		}
		candidates = append(candidates, raw)
	}
	if len(candidates) == 0 {
		return fmt.Errorf("%w: no well-formed v1 signature in %s", ErrMalformed, contract.HeaderWebhookSignature)
	}
	usable := 0
	for _, s := range secrets {
		key, err := StandardWebhooksKey(s)
		if err != nil {
			continue
		}
		usable++
		want := mac(key, []byte(id), []byte{'.'}, []byte(tsText), []byte{'.'}, body)
		for _, c := range candidates {
			if hmac.Equal(c, want) {
				return nil
			}
		}
	}
	if usable == 0 {
		return ErrNoSecret
	}
	return ErrMismatch
}

// SignStandardWebhooks returns the webhook-signature value ("v1,<base64>")
// of a message, for re-signing forwarded webhooks and for tests and tools.
func SignStandardWebhooks(secret, id string, ts int64, body []byte) (string, error) {
	key, err := StandardWebhooksKey(secret)
	if err != nil {
		return "", err
	}
	sum := mac(key, []byte(id), []byte{'.'}, []byte(strconv.FormatInt(ts, 10)), []byte{'.'}, body)
	return "v1," + base64.StdEncoding.EncodeToString(sum), nil
}

// --- GitHub ----------------------------------------------------------------

type github struct{}

func (github) Verify(h Headers, body []byte, secrets []string, _ time.Time) error {
	v := h.Header(contract.HeaderGitHubSignature)
	if v == "" {
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderGitHubSignature)
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrMalformed, contract.HeaderGitHubSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrMalformed, contract.HeaderGitHubSignature)
	}
	return matchAny(got, secrets, body)
}

// SignGitHub returns the X-Hub-Signature-256 value of a body.
func SignGitHub(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac([]byte(secret), body))
}

func matchAny(got []byte, secrets []string, parts ...[]byte) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		if hmac.Equal(got, mac([]byte(s), parts...)) {
			return nil
		}
	}
	return ErrMismatch
}

// --- Stripe ----------------------------------------------------------------

type stripe struct{ tolerance time.Duration }

func (v stripe) Verify(h Headers, body []byte, secrets []string, at time.Time) error {
	header := h.Header(contract.HeaderStripeSignature)
	if header == "" {
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderStripeSignature)
	}
	tsText, sigs, err := ParseStripeHeader(header)
	if err != nil {
		return err
	}
	ts, err := parseUnix(tsText)
	if err != nil {
		return err
	}
	if err := checkTimestamp(ts, at, v.tolerance); err != nil {
		return err
	}
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		want := mac([]byte(s), []byte(tsText), []byte{'.'}, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrMismatch
}

// ParseStripeHeader reads "t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]": the
// timestamp exactly as sent (it is part of the signed payload) and every
// well-formed v1 signature. Other schemes (v0) and malformed items are
// ignored, as Stripe's own libraries do; a header without a timestamp or
// without any well-formed v1 is malformed.
func ParseStripeHeader(header string) (string, [][]byte, error) {
	var ts string
	var sigs [][]byte
	for _, item := range strings.Split(header, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts == "" {
				ts = val
			}
		case "v1":
			sig, err := hex.DecodeString(val)
			if err != nil || len(sig) != sha256.Size {
				continue
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return "", nil, fmt.Errorf("%w: %s has no t=", ErrMalformed, contract.HeaderStripeSignature)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: %s has no well-formed v1 signature", ErrMalformed, contract.HeaderStripeSignature)
	}
	return ts, sigs, nil
}

// SignStripe returns a Stripe-Signature value for a body at time ts.
func SignStripe(secret string, ts int64, body []byte) string {
	t := strconv.FormatInt(ts, 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac([]byte(secret), []byte(t), []byte{'.'}, body))
}

// --- Slack -------------------------------------------------------------------

// slack verifies Slack's v0 scheme: X-Slack-Signature is "v0=" and the hex
// HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<body>".
type slack struct{ tolerance time.Duration }

func (v slack) Verify(h Headers, body []byte, secrets []string, at time.Time) error {
	tsText, sig := h.Header(contract.HeaderSlackTimestamp), h.Header(contract.HeaderSlackSignature)
	switch {
	case tsText == "":
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderSlackTimestamp)
	case sig == "":
		return fmt.Errorf("%w: %s", ErrMissing, contract.HeaderSlackSignature)
	}
	ts, err := parseUnix(tsText)
	if err != nil {
		return err
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with v0=", ErrMalformed, contract.HeaderSlackSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrMalformed, contract.HeaderSlackSignature)
	}
	if err := checkTimestamp(ts, at, v.tolerance); err != nil {
		return err
	}
	return matchAny(got, secrets, []byte("v0:"), []byte(tsText), []byte{':'}, body)
}

// SignSlack returns the X-Slack-Signature value of a body at time ts.
func SignSlack(secret string, ts int64, body []byte) string {
	return "v0=" + hex.EncodeToString(mac([]byte(secret), []byte("v0:"), []byte(strconv.FormatInt(ts, 10)), []byte{':'}, body))
}

// SignShopify returns the X-Shopify-Hmac-Sha256 value of a body.
func SignShopify(secret string, body []byte) string { return SignHMAC(secret, "base64", body) }

// --- generic HMAC-SHA256 ---------------------------------------------------

type generic struct{ header, encoding string }

func (v generic) Verify(h Headers, body []byte, secrets []string, _ time.Time) error {
	val := h.Header(v.header)
	if val == "" {
		return fmt.Errorf("%w: %s", ErrMissing, v.header)
	}
	val = strings.TrimPrefix(val, "sha256=")
	var got []byte
	var err error
	if v.encoding == "hex" {
		got, err = hex.DecodeString(val)
	} else {
		got, err = base64.StdEncoding.DecodeString(val)
	}
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a %s SHA-256", ErrMalformed, v.header, v.encoding)
	}
	return matchAny(got, secrets, body)
}

// SignHMAC returns the generic scheme's header value for a body.
func SignHMAC(secret, encoding string, body []byte) string {
	sum := mac([]byte(secret), body)
	if encoding == "base64" {
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

// --- none --------------------------------------------------------------------

type none struct{}

func (none) Verify(Headers, []byte, []string, time.Time) error { return nil }
