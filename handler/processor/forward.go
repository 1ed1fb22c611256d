package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/contract"
)

// Forward POSTs the verified payload to an HTTPS URL, re-signed with
// hookline's own Standard Webhooks secret so the receiver can verify it came
// through hookline. 2xx is done; 408, 429, 5xx, the statuses in RetryOn,
// timeouts and network errors are retried (no sooner than the answer's
// Retry-After); any other 4xx is permanent.
type Forward struct {
	URL     string
	Secret  string // SSM parameter name of the re-signing secret
	Timeout time.Duration
	// RetryOn are further 4xx statuses that retry (409, 423, …).
	RetryOn []int
	Secrets Secrets
	Client  *http.Client
	Now     func() time.Time
}

// NewForward is the forward processor's Factory.
func NewForward(cfg contract.HandlerConfig, d Deps) (Processor, error) {
	u, err := url.Parse(cfg.ForwardURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("forward: %q is not an https URL", cfg.ForwardURL)
	}
	if cfg.ForwardSecret == "" {
		return nil, errors.New("forward: no re-signing secret parameter configured")
	}
	timeout := cfg.ForwardTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	client := d.HTTP
	if client == nil {
		client = &http.Client{}
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Forward{URL: cfg.ForwardURL, Secret: cfg.ForwardSecret, Timeout: timeout, RetryOn: cfg.ForwardRetryOn,
		Secrets: d.Secrets, Client: client, Now: now}, nil
}

// Process forwards one message.
func (f *Forward) Process(ctx context.Context, m contract.Message) error {
	secrets, err := f.Secrets.Get(ctx, f.Secret)
	if err != nil {
		return fmt.Errorf("forward: %w", err) // retry: a missing secret is fixable
	}
	id := m.EventID
	if id == "" {
		id = m.MessageID
	}
	sw, err := contract.SchemeStandardWebhooks.Implementation(contract.SchemeOptions{})
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	signed, err := sw.Sign(secrets[0], contract.Delivery{ID: id, At: f.Now(), Body: m.Body})
	if err != nil {
		return fmt.Errorf("forward: re-signing secret %s: %w", f.Secret, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Permanent("forward-request", err)
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "hookline-forward/1")
	for k, v := range signed { // webhook-id, webhook-timestamp, webhook-signature
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Hookline-Source", m.Source)
	req.Header.Set("X-Hookline-Group", m.GroupID)

	resp, err := f.Client.Do(req)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 || slices.Contains(f.RetryOn, code):
		err := fmt.Errorf("forward: receiver answered %d", code)
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), f.Now()); ok {
			return RetryAfter(after, err)
		}
		return err
	default:
		return Permanent("forward-"+strconv.Itoa(code), fmt.Errorf("receiver answered %d", code))
	}
}

// retryAfter reads an HTTP Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3), as the time left from now (never negative).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(contract.MaxVisibility/time.Second))) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}
