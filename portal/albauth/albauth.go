// Package albauth verifies the user claims an Application Load Balancer
// signs after its authenticate-oidc (or authenticate-cognito) action: the
// x-amzn-oidc-data header, as AWS documents it in "Authenticate users using
// an Application Load Balancer", section "User claims encoding and
// signature verification"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html):
//
//   - a JWT signed with ECDSA P-256 and SHA-256 (ES256) whose header holds
//     alg, kid, signer (the load balancer's ARN), iss, client and exp; its
//     payload is the claims of the IdP's user info endpoint;
//   - its public key, PEM, at https://public-keys.auth.elb.<region>.amazonaws.com/<kid>
//     (GovCloud: an S3 URL per region, see KeyURL);
//   - its three parts are base64url "and includes padding characters at the
//     end", which RFC 7515 forbids: a standard JWT decoder refuses them
//     (golang-jwt with "illegal base64 data"), so the parser here allows
//     padding. The signature covers the parts as sent, padding included.
//
// A token passes only if its alg is exactly ES256, its kid is a plain
// identifier, its signer is the configured load balancer, its signature
// verifies with that kid's key and its exp has not passed (Leeway allows
// for clock skew).
package albauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Header is the request header the load balancer puts the signed claims in.
const Header = "X-Amzn-Oidc-Data"

// DefaultLeeway is how far past its exp a token is still taken: the load
// balancer's clock and the portal's may differ by a little, never by more.
const DefaultLeeway = 30 * time.Second

// The ways a token is refused. Verify wraps one of them with what was
// wrong, so a caller decides with errors.Is and shows the error's text.
var (
	// ErrMalformed: not three base64url parts of JSON.
	ErrMalformed = errors.New("malformed")
	// ErrAlgorithm: alg is not ES256 (none, HS256, RS256, …).
	ErrAlgorithm = errors.New("wrong algorithm")
	// ErrKeyID: kid is missing or not a plain identifier.
	ErrKeyID = errors.New("bad key id")
	// ErrSigner: signed by another load balancer, or signer missing.
	ErrSigner = errors.New("wrong signer")
	// ErrUnknownKey: the key endpoint has no key of that kid.
	ErrUnknownKey = errors.New("unknown key")
	// ErrSignature: the signature does not verify (a changed header or payload).
	ErrSignature = errors.New("bad signature")
	// ErrExpired: outside its time: exp passed (beyond the leeway) or
	// missing, or a payload's nbf still ahead.
	ErrExpired = errors.New("expired")
	// ErrKeyUnavailable: the key endpoint could not be read (network,
	// 5xx): the token may be good, the portal cannot tell now.
	ErrKeyUnavailable = errors.New("public key unavailable")
)

// Claims are a verified token's: the header fields AWS documents and the
// payload, the IdP's user info claims.
type Claims struct {
	// Signer is the load balancer's ARN; Issuer the IdP (header iss);
	// Client the OIDC client id; Expires the header's exp.
	Signer, Issuer, Client string
	Expires                time.Time
	// Subject and Email are the payload's sub and email ("" when absent).
	Subject, Email string
	// Payload is every claim of the payload, as JSON decoded it.
	Payload map[string]any
}

// Config configures a Verifier.
type Config struct {
	// ARN is the load balancer's ARN: a token whose signer differs is refused.
	ARN string
	// KeyURL is where the public keys are: KeyURL + kid. Default: the
	// endpoint of the ARN's region (KeyURL(ARN)).
	KeyURL string
	// Client fetches keys. Default: an http.Client with a 5 s timeout.
	Client *http.Client
	// Leeway: default DefaultLeeway.
	Leeway time.Duration
}

// Verifier checks x-amzn-oidc-data tokens of one load balancer. Its keys
// are cached by kid (a kid's key never changes); an unknown kid is
// remembered for a minute, so a flood of made-up kids costs one fetch each
// per minute, at most two fetches at a time.
type Verifier struct {
	arn    string
	keyURL string
	client *http.Client
	parser *jwt.Parser
	leeway time.Duration

	mu    sync.Mutex
	keys  map[string]cached
	fetch chan struct{} // a slot per key fetch running
}

type cached struct {
	key   *ecdsa.PublicKey
	err   error
	until time.Time // for an error
}

const (
	maxCached   = 256
	negativeTTL = time.Minute
	maxKeyBytes = 16 << 10
)

// arnRE is an Application Load Balancer's ARN, as the signer field holds
// it: arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>.
var arnRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):elasticloadbalancing:([a-z0-9-]+):[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]+$`)

// kidRE is a well-formed kid: AWS's are UUIDs. Letters, digits and hyphens
// only, so a kid can never be a path (no /, ., %, ?, #) in the key URL.
var kidRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// KeyURL is the public key endpoint of the region of an Application Load
// Balancer's ARN, ending in "/" (the kid follows), as AWS documents it:
// https://public-keys.auth.elb.<region>.amazonaws.com/, and for GovCloud
// an S3 bucket per region. For the China regions AWS's page names no
// endpoint, so the URL must be given.
func KeyURL(arn string) (string, error) {
	m := arnRE.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("%q is not an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)", arn)
	}
	partition, region := m[1], m[2]
	switch partition {
	case "aws-us-gov":
		return "https://s3-" + region + ".amazonaws.com/aws-elb-public-keys-prod-" + region + "/", nil
	case "aws-cn":
		return "", fmt.Errorf("the public key endpoint of %s is not documented: give its URL", region)
	}
	return "https://public-keys.auth.elb." + region + ".amazonaws.com/", nil
}

// checkKeyURL: the keys decide who signs in, so they come over HTTPS;
// plain HTTP only from this machine (a test's key endpoint).
func checkKeyURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("key URL %q: want https://host/path/", u)
	}
	switch {
	case p.Scheme == "https":
		return nil
	case p.Scheme == "http":
		if ip := net.ParseIP(p.Hostname()); p.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("key URL %q: want https://… (plain http only on this machine's loopback)", u)
}

// New returns a Verifier for c.
func New(c Config) (*Verifier, error) {
	if !arnRE.MatchString(c.ARN) {
		return nil, fmt.Errorf("%q is not an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)", c.ARN)
	}
	if c.KeyURL == "" {
		u, err := KeyURL(c.ARN)
		if err != nil {
			return nil, err
		}
		c.KeyURL = u
	}
	if err := checkKeyURL(c.KeyURL); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(c.KeyURL, "/") {
		c.KeyURL += "/"
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if c.Leeway <= 0 {
		c.Leeway = DefaultLeeway
	}
	return &Verifier{arn: c.ARN, keyURL: c.KeyURL, client: c.Client, leeway: c.Leeway,
		// ES256 only: none, HS256 (a public key used as an HMAC secret) and
		// every other alg are refused before any key is looked up.
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}), jwt.WithPaddingAllowed(),
			jwt.WithLeeway(c.Leeway)),
		keys: map[string]cached{}, fetch: make(chan struct{}, 2)}, nil
}

// Verify checks token (the header's value) and returns its claims; an
// error wraps one of the Err values above and says what was wrong. The
// header is checked first (alg, signer, kid, exp), so a token that fails
// there costs no key fetch; then the signature with the kid's key.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	token = strings.TrimSpace(token)
	t, _, err := v.parser.ParseUnverified(token, jwt.MapClaims{})
	switch {
	case errors.Is(err, jwt.ErrTokenUnverifiable): // alg missing or unknown
		alg, _ := t.Header["alg"].(string)
		return nil, fmt.Errorf("%w: alg %q, want ES256", ErrAlgorithm, alg)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c := Claims{}
	if alg, _ := t.Header["alg"].(string); alg != jwt.SigningMethodES256.Alg() {
		// none, HS256 (a public key used as an HMAC secret), RS256, ….
		return nil, fmt.Errorf("%w: alg %q, want ES256", ErrAlgorithm, alg)
	}
	c.Signer, _ = t.Header["signer"].(string)
	switch c.Signer {
	case v.arn:
	case "":
		return nil, fmt.Errorf("%w: the header has no signer", ErrSigner)
	default:
		return nil, fmt.Errorf("%w: signed by %s, not by this portal's load balancer", ErrSigner, c.Signer)
	}
	kid, _ := t.Header["kid"].(string)
	if !kidRE.MatchString(kid) {
		return nil, fmt.Errorf("%w: kid %q is not 1-64 letters, digits or hyphens", ErrKeyID, kid)
	}
	exp, ok := numeric(t.Header["exp"])
	if !ok {
		return nil, fmt.Errorf("%w: the header has no exp", ErrExpired)
	}
	c.Expires = time.Unix(exp, 0)
	if time.Now().After(c.Expires.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: its exp was %s", ErrExpired, c.Expires.UTC().Format(time.RFC3339))
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload := jwt.MapClaims{}
	// WithValidMethods (ES256 only) checks alg again before the key is
	// used; the payload's own exp and nbf, if any, are checked too.
	_, err = v.parser.ParseWithClaims(token, payload, func(*jwt.Token) (any, error) { return key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, fmt.Errorf("%w: the signature does not match the header and payload", ErrSignature)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: the payload's exp has passed", ErrExpired)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, fmt.Errorf("%w: the payload's nbf is still ahead", ErrExpired)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c.Issuer, _ = t.Header["iss"].(string)
	c.Client, _ = t.Header["client"].(string)
	c.Subject, _ = payload["sub"].(string)
	c.Email, _ = payload["email"].(string)
	c.Payload = payload
	return &c, nil
}

// numeric reads a JSON number of seconds (AWS documents exp's type only
// as "expiration"; a string of digits is taken too).
func numeric(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case string:
		var i int64
		if _, err := fmt.Sscan(n, &i); err == nil {
			return i, true
		}
	}
	return 0, false
}

// key returns the public key of kid, from the cache or the key endpoint.
func (v *Verifier) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	v.mu.Lock()
	c, ok := v.keys[kid]
	v.mu.Unlock()
	if ok && (c.key != nil || time.Now().Before(c.until)) {
		return c.key, c.err
	}
	select {
	case v.fetch <- struct{}{}:
		defer func() { <-v.fetch }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrKeyUnavailable, ctx.Err())
	}
	key, err := v.get(ctx, kid)
	if errors.Is(err, ErrKeyUnavailable) {
		return nil, err // not remembered: the next request tries again
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.keys) >= maxCached {
		for k, c := range v.keys {
			if c.key == nil {
				delete(v.keys, k)
			}
		}
		if len(v.keys) >= maxCached {
			clear(v.keys)
		}
	}
	v.keys[kid] = cached{key: key, err: err, until: time.Now().Add(negativeTTL)}
	return key, err
}

// get fetches the PEM public key of kid.
func (v *Verifier) get(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	keyURL := v.keyURL + kid
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, keyURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyUnavailable, err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		// The endpoint's S3 answers 403 as well as 404 for a missing key.
		return nil, fmt.Errorf("%w: %s answered %d for kid %s", ErrUnknownKey, v.keyURL, resp.StatusCode, kid)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered %d", ErrKeyUnavailable, keyURL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrKeyUnavailable, keyURL, err)
	}
	key, err := jwt.ParseECPublicKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a PEM EC public key: %v", ErrUnknownKey, keyURL, err)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %s is a %s key, not P-256", ErrUnknownKey, keyURL, key.Curve.Params().Name)
	}
	return key, nil
}
