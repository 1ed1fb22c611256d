package contract

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
)

// The implementations of schemeTable's schemes: one type per scheme, its
// Sign beside its Verify (svix's go/webhook.go), so hookline's tools that
// sign and its handler that verifies can never disagree. Every comparison
// is constant-time, several secrets may be active at once (rotation), a
// header with several signatures verifies when any well-formed one matches
// (malformed siblings are skipped, as the owners' libraries do), and
// timestamps are judged against the time of receipt.

// Sentinel errors: every verification failure wraps exactly one of them, so
// callers decide outcomes with errors.Is.
var (
	// ErrSignatureMissing: a header the scheme needs is absent.
	ErrSignatureMissing = errors.New("signature header missing")
	// ErrSignatureMalformed: a header is present but cannot be parsed.
	ErrSignatureMalformed = errors.New("signature header malformed")
	// ErrSignatureMismatch: no signature matches any active secret.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrSignatureStale: the signed timestamp is outside the tolerance.
	ErrSignatureStale = errors.New("signature timestamp outside tolerance")
	// ErrUnknownScheme: the scheme is not one hookline knows; fail closed.
	ErrUnknownScheme = errors.New("unknown signature scheme")
	// ErrNoSecret: no usable secret is configured.
	ErrNoSecret = errors.New("no signing secret")
)

// DefaultTolerance bounds |time of receipt - signed timestamp| when
// SchemeOptions set none.
const DefaultTolerance = 5 * time.Minute

// SchemeOptions configure a scheme's implementation.
type SchemeOptions struct {
	// Tolerance bounds |time of receipt - signed timestamp| for the
	// timestamped schemes (DefaultTolerance when zero or negative).
	Tolerance time.Duration
	// Header and Encoding (hex or base64) configure the generic hmac-sha256
	// scheme.
	Header   string
	Encoding string
}

func (o SchemeOptions) tolerance() time.Duration {
	if o.Tolerance <= 0 {
		return DefaultTolerance
	}
	return o.Tolerance
}

// HeaderLookup looks a request header up by name, case-insensitively
// (Message does).
type HeaderLookup interface{ Header(name string) string }

// Delivery is what a sender signs.
type Delivery struct {
	// ID is the sender's delivery id: Standard Webhooks signs it (and sends
	// it as webhook-id); the other schemes ignore it.
	ID string
	// At is when the sender signs: the timestamped schemes sign it.
	At time.Time
	// Body is the exact request body.
	Body []byte
}

// SignatureScheme is one scheme's implementation (Scheme.Implementation).
type SignatureScheme interface {
	// Sign returns the headers a sender of the scheme adds to d, signed
	// with secret: exactly the scheme's SignatureHeaders.
	Sign(secret string, d Delivery) (map[string]string, error)
	// Verify checks a delivery against the active secrets. at is the time
	// the signed timestamp is judged against: when API Gateway received the
	// request, not when the handler runs (which may be hours later, after
	// retries or a redrive). Every failure wraps one of the sentinel errors.
	Verify(h HeaderLookup, body []byte, secrets []string, at time.Time) error
	// NewSecret is a secret in the form the scheme's senders use, made of
	// the random bytes key: whsec_ and base64 for Standard Webhooks, hex
	// for the others.
	NewSecret(key []byte) string
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

// checkTimestamp compares whole seconds: a duration of a far-future
// timestamp (99999999999) would overflow time.Duration and pass.
func checkTimestamp(ts int64, at time.Time, tolerance time.Duration) error {
	d := at.Unix() - ts // ts > 0 and at.Unix() is a present-day time: no overflow
	if d < 0 {
		d = -d
	}
	if limit := int64(tolerance / time.Second); d > limit {
		return fmt.Errorf("%w: %d s away from the time of receipt, tolerance %d s", ErrSignatureStale, d, limit)
	}
	return nil
}

func parseUnix(s string) (int64, error) {
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ts <= 0 {
		return 0, fmt.Errorf("%w: timestamp is not unix seconds", ErrSignatureMalformed)
	}
	return ts, nil
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
	return ErrSignatureMismatch
}

// hexSecret is the secret form of every scheme but Standard Webhooks.
func hexSecret(key []byte) string { return hex.EncodeToString(key) }

var dot = []byte{'.'}

// --- Standard Webhooks ------------------------------------------------------

// standardWebhooks: webhook-signature is a space-separated list of
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>"; secrets are whsec_ and
// base64.
type standardWebhooks struct{ tolerance time.Duration }

// swKeys caches decoded Standard Webhooks secrets (base64 after whsec_).
var swKeys sync.Map // string → []byte

// standardWebhooksKey decodes a Standard Webhooks secret: base64 after an
// optional whsec_ prefix.
func standardWebhooksKey(secret string) ([]byte, error) {
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

// Sign writes webhook-id (d.ID), webhook-timestamp and one v1 signature.
func (standardWebhooks) Sign(secret string, d Delivery) (map[string]string, error) {
	if d.ID == "" {
		return nil, fmt.Errorf("%s signs a delivery id: none given", SchemeStandardWebhooks)
	}
	key, err := standardWebhooksKey(secret)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(d.At.Unix(), 10)
	sum := mac(key, []byte(d.ID), dot, []byte(ts), dot, d.Body)
	return map[string]string{
		HeaderWebhookID:        d.ID,
		HeaderWebhookTimestamp: ts,
		HeaderWebhookSignature: "v1," + base64.StdEncoding.EncodeToString(sum),
	}, nil
}

// Verify accepts a delivery when any well-formed v1 entry matches any
// usable secret and the timestamp is within the tolerance.
func (v standardWebhooks) Verify(h HeaderLookup, body []byte, secrets []string, at time.Time) error {
	id, tsText, sigs := h.Header(HeaderWebhookID), h.Header(HeaderWebhookTimestamp), h.Header(HeaderWebhookSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderWebhookID)
	case tsText == "":
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderWebhookTimestamp)
	case sigs == "":
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderWebhookSignature)
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
		return fmt.Errorf("%w: no well-formed v1 signature in %s", ErrSignatureMalformed, HeaderWebhookSignature)
	}
	usable := 0
	for _, s := range secrets {
		key, err := standardWebhooksKey(s)
		if err != nil {
			continue
		}
		usable++
		want := mac(key, []byte(id), dot, []byte(tsText), dot, body)
		for _, c := range candidates {
			if hmac.Equal(c, want) {
				return nil
			}
		}
	}
	if usable == 0 {
		return ErrNoSecret
	}
	return ErrSignatureMismatch
}

// NewSecret is whsec_ and the base64 of key.
func (standardWebhooks) NewSecret(key []byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// --- GitHub ----------------------------------------------------------------

// github: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body.
type github struct{}

// Sign writes X-Hub-Signature-256.
func (github) Sign(secret string, d Delivery) (map[string]string, error) {
	return map[string]string{HeaderGitHubSignature: "sha256=" + hex.EncodeToString(mac([]byte(secret), d.Body))}, nil
}

// Verify accepts a delivery whose X-Hub-Signature-256 matches any secret.
func (github) Verify(h HeaderLookup, body []byte, secrets []string, _ time.Time) error {
	v := h.Header(HeaderGitHubSignature)
	if v == "" {
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderGitHubSignature)
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrSignatureMalformed, HeaderGitHubSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrSignatureMalformed, HeaderGitHubSignature)
	}
	return matchAny(got, secrets, body)
}

// NewSecret is the hex of key.
func (github) NewSecret(key []byte) string { return hexSecret(key) }

// --- Stripe ----------------------------------------------------------------

// stripe: Stripe-Signature is "t=<unix>,v1=<hex HMAC-SHA256 of t.body>".
type stripe struct{ tolerance time.Duration }

// Sign writes Stripe-Signature with one v1 signature at d.At.
func (stripe) Sign(secret string, d Delivery) (map[string]string, error) {
	t := strconv.FormatInt(d.At.Unix(), 10)
	return map[string]string{HeaderStripeSignature: "t=" + t + ",v1=" + hex.EncodeToString(mac([]byte(secret), []byte(t), dot, d.Body))}, nil
}

// Verify accepts a delivery when any well-formed v1 signature matches any
// secret and t= is within the tolerance.
func (v stripe) Verify(h HeaderLookup, body []byte, secrets []string, at time.Time) error {
	header := h.Header(HeaderStripeSignature)
	if header == "" {
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderStripeSignature)
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
		want := mac([]byte(s), []byte(tsText), dot, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}

// NewSecret is the hex of key.
func (stripe) NewSecret(key []byte) string { return hexSecret(key) }

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
		return "", nil, fmt.Errorf("%w: %s has no t=", ErrSignatureMalformed, HeaderStripeSignature)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: %s has no well-formed v1 signature", ErrSignatureMalformed, HeaderStripeSignature)
	}
	return ts, sigs, nil
}

// --- Slack -------------------------------------------------------------------

// slack: X-Slack-Signature is "v0=" and the hex HMAC-SHA256 of
// "v0:<X-Slack-Request-Timestamp>:<body>".
type slack struct{ tolerance time.Duration }

// Sign writes X-Slack-Request-Timestamp (d.At) and X-Slack-Signature.
func (slack) Sign(secret string, d Delivery) (map[string]string, error) {
	ts := strconv.FormatInt(d.At.Unix(), 10)
	return map[string]string{
		HeaderSlackTimestamp: ts,
		HeaderSlackSignature: "v0=" + hex.EncodeToString(mac([]byte(secret), []byte("v0:"), []byte(ts), []byte{':'}, d.Body)),
	}, nil
}

// Verify accepts a delivery whose v0 signature matches any secret and
// whose timestamp is within the tolerance.
func (v slack) Verify(h HeaderLookup, body []byte, secrets []string, at time.Time) error {
	tsText, sig := h.Header(HeaderSlackTimestamp), h.Header(HeaderSlackSignature)
	switch {
	case tsText == "":
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderSlackTimestamp)
	case sig == "":
		return fmt.Errorf("%w: %s", ErrSignatureMissing, HeaderSlackSignature)
	}
	ts, err := parseUnix(tsText)
	if err != nil {
		return err
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with v0=", ErrSignatureMalformed, HeaderSlackSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256", ErrSignatureMalformed, HeaderSlackSignature)
	}
	if err := checkTimestamp(ts, at, v.tolerance); err != nil {
		return err
	}
	return matchAny(got, secrets, []byte("v0:"), []byte(tsText), []byte{':'}, body)
}

// NewSecret is the hex of key.
func (slack) NewSecret(key []byte) string { return hexSecret(key) }

// --- HMAC-SHA256 of the body in one header (Shopify, generic) ---------------

// bodyHMAC: one header holds the HMAC-SHA256 of the body, hex or base64
// (optionally after "sha256="). Shopify's X-Shopify-Hmac-Sha256 is its
// base64 form; the generic hmac-sha256 scheme names header and encoding.
type bodyHMAC struct{ header, encoding string }

// newBodyHMAC is the generic hmac-sha256 scheme, configured by o.
func newBodyHMAC(o SchemeOptions) (SignatureScheme, error) {
	if o.Header == "" {
		return nil, fmt.Errorf("%s: %w: no header configured", SchemeHMACSHA256, ErrSignatureMissing)
	}
	if o.Encoding != "hex" && o.Encoding != "base64" {
		return nil, fmt.Errorf("%s: encoding %q is not hex or base64", SchemeHMACSHA256, o.Encoding)
	}
	return bodyHMAC{header: o.Header, encoding: o.Encoding}, nil
}

// Sign writes the configured header in the configured encoding.
func (v bodyHMAC) Sign(secret string, d Delivery) (map[string]string, error) {
	sum := mac([]byte(secret), d.Body)
	if v.encoding == "base64" {
		return map[string]string{v.header: base64.StdEncoding.EncodeToString(sum)}, nil
	}
	return map[string]string{v.header: hex.EncodeToString(sum)}, nil
}

// Verify accepts a delivery whose header (hex or base64, optionally after
// sha256=) matches any secret.
func (v bodyHMAC) Verify(h HeaderLookup, body []byte, secrets []string, _ time.Time) error {
	val := h.Header(v.header)
	if val == "" {
		return fmt.Errorf("%w: %s", ErrSignatureMissing, v.header)
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
		return fmt.Errorf("%w: %s is not a %s SHA-256", ErrSignatureMalformed, v.header, v.encoding)
	}
	return matchAny(got, secrets, body)
}

// NewSecret is the hex of key.
func (bodyHMAC) NewSecret(key []byte) string { return hexSecret(key) }

// --- none --------------------------------------------------------------------

// none signs nothing and accepts everything: the source authenticates at
// the edge only.
type none struct{}

// Sign writes nothing.
func (none) Sign(string, Delivery) (map[string]string, error) { return map[string]string{}, nil }

// Verify accepts every delivery.
func (none) Verify(HeaderLookup, []byte, []string, time.Time) error { return nil }

// NewSecret is the hex of key (a none source has no use for it).
func (none) NewSecret(key []byte) string { return hexSecret(key) }
