// Package secrets reads signing secrets from SSM Parameter Store
// (SecureString) and caches them for a TTL: a Lambda container serves many
// invocations, and a secret read per record would cost latency and money,
// but a cache for the container's whole life would keep a removed secret
// verifying and miss a newly added one until the container recycles.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/contract"
)

// ErrUnavailable marks a secret that could not be read: the records that
// need it are retried, never acknowledged.
var ErrUnavailable = errors.New("signing secret unavailable")

// Defaults of a Store.
const (
	// DefaultTTL is how long a read value is used before it is read again.
	DefaultTTL = 5 * time.Minute
	// DefaultRefreshEvery is the least time between two early re-reads of
	// one parameter (Refresh): a flood of forged signatures must not turn
	// into a flood of SSM calls.
	DefaultRefreshEvery = 10 * time.Second
)

// GetParameterAPI is the part of the SSM client the store uses.
type GetParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Store caches parameter values for TTL. Failures are not cached, so a
// fixed parameter is picked up by the next read.
type Store struct {
	api GetParameterAPI
	// TTL and RefreshEvery default to DefaultTTL and DefaultRefreshEvery.
	TTL          time.Duration
	RefreshEvery time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	vals    []string
	fetched time.Time
}

// New returns a store reading through api with the default TTL.
func New(api GetParameterAPI) *Store {
	return &Store{api: api, cache: map[string]entry{}}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Get returns the active secrets held by the parameter: one per line
// (contract.SecretValues), so a rotation can keep the old secret next to the
// new one and a secret may hold spaces.
// A value older than the TTL is read again.
func (s *Store) Get(ctx context.Context, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[name]; ok && s.now().Sub(e.fetched) < orDefault(s.TTL, DefaultTTL) {
		return e.vals, nil
	}
	return s.fetch(ctx, name)
}

// Refresh reads the parameter again before its TTL ends, for a signature
// that matched none of the cached secrets (the sender may have switched to
// a secret added since). It reads at most once per RefreshEvery per
// parameter; refreshed reports whether it did and the value changed.
func (s *Store) Refresh(ctx context.Context, name string) (vals []string, refreshed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[name]
	if ok && s.now().Sub(e.fetched) < orDefault(s.RefreshEvery, DefaultRefreshEvery) {
		return e.vals, false, nil
	}
	vals, err = s.fetch(ctx, name)
	if err != nil {
		return nil, false, err
	}
	return vals, !ok || contract.JoinSecrets(vals...) != contract.JoinSecrets(e.vals...), nil
}

func (s *Store) fetch(ctx context.Context, name string) ([]string, error) {
	if s.api == nil {
		return nil, fmt.Errorf("%w: %s: no SSM client", ErrUnavailable, name)
	}
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrUnavailable, name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return nil, fmt.Errorf("%w: %s has no value", ErrUnavailable, name)
	}
	vals := contract.SecretValues(*out.Parameter.Value)
	if len(vals) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrUnavailable, name)
	}
	if s.cache == nil {
		s.cache = map[string]entry{}
	}
	s.cache[name] = entry{vals: vals, fetched: s.now()}
	return vals, nil
}
