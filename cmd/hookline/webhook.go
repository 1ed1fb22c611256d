package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// What a source's sender sends, as hookline send posts it and hookline
// invoke hands it to the handler.

// headerFlags are repeated --header Name=Value flags.
type headerFlags []string

// String lists the headers given (flag.Value).
func (h *headerFlags) String() string { return strings.Join(*h, ", ") }

// Set adds one Name=Value (flag.Value); webhookRequest checks its form.
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// Type names the value's form in help (pflag.Value).
func (h *headerFlags) Type() string { return "Name=Value" }

// has reports whether a header named name (any case) was given.
func (h headerFlags) has(name string) bool {
	for _, kv := range h {
		if n, _, _ := strings.Cut(kv, "="); strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// webhookRequest is the request the source's sender makes: the source's
// first content type, the extra headers, the event id in the header the
// source reads it from (newEventID's when the extra headers carry none), and
// the scheme's signature of body at now with secret.
func webhookRequest(src *stackconfig.Source, extra headerFlags, secret string, body []byte, now time.Time, newEventID func() string) (contract.Request, error) {
	req := contract.Request{Headers: map[string]string{"Content-Type": src.ContentTypes[0]}, Body: body}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return contract.Request{}, fmt.Errorf("--header %q is not Name=Value", kv)
		}
		req.Headers[k] = v
	}
	if src.EventID.Kind == contract.KindHeader && req.Select(src.EventID) == "" {
		req.Headers[src.EventID.Name] = newEventID()
	}
	// The delivery-id headers the scheme's senders always send: the REST
	// request validator requires them.
	for _, h := range src.Signature.Scheme.DeliveryHeaders() {
		if req.Select(contract.Selector{Kind: contract.KindHeader, Name: h}) == "" {
			req.Headers[h] = newEventID()
		}
	}
	if err := sign(req.Headers, src.Signature, secret, req.Select(src.EventID), now, body); err != nil {
		if errors.Is(err, contract.ErrNoSecret) && secret != "" {
			// There is a secret: the scheme could not read it.
			detail := strings.TrimPrefix(strings.TrimPrefix(err.Error(), contract.ErrNoSecret.Error()), ": ")
			return contract.Request{}, fmt.Errorf("the signing secret is malformed for scheme %s: %s (check --secret or the source's secret parameter)", src.Signature.Scheme, orDefault(detail, "the scheme cannot use it"))
		}
		return contract.Request{}, fmt.Errorf("sign: %w", err)
	}
	return req, nil
}

// sign adds the source's signature headers to h, signed with secret at now
// by its scheme's own Sign from the contract's table of schemes: the same
// implementation the consumer verifies with, so every scheme is signed the
// way its senders sign. eventID is the delivery id a scheme may sign
// (Standard Webhooks' webhook-id); a fresh one stands in when it is empty.
func sign(h map[string]string, sig stackconfig.Signature, secret, eventID string, now time.Time, body []byte) error {
	impl, err := sig.Scheme.Implementation(contract.SchemeOptions{Header: sig.Header, Encoding: sig.Encoding})
	if err != nil {
		return err
	}
	if eventID == "" {
		eventID = "evt_local_" + randHex(8)
	}
	signed, err := impl.Sign(secret, contract.Delivery{ID: eventID, At: now, Body: body})
	if err != nil {
		return err // the caller says it was signing
	}
	for k, v := range signed {
		h[k] = v
	}
	return nil
}

// freshSecret is a random secret in the form the source's scheme takes.
func freshSecret(sig stackconfig.Signature) (string, error) {
	impl, err := sig.Scheme.Implementation(contract.SchemeOptions{Header: sig.Header, Encoding: sig.Encoding})
	if err != nil {
		return "", err
	}
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("make a secret: %w", err)
	}
	return impl.NewSecret(key), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
