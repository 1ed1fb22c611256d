// Package secrets reads signing secrets from SSM Parameter Store
// (SecureString), once per container: a Lambda container serves many
// invocations, and a secret read per record would cost latency and money.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ErrUnavailable marks a secret that could not be read: the records that
// need it are retried, never acknowledged.
var ErrUnavailable = errors.New("signing secret unavailable")

// GetParameterAPI is the part of the SSM client the store uses.
type GetParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Store caches parameter values for the life of the container. Failures
// are not cached, so a fixed parameter is picked up by the next invocation.
type Store struct {
	api   GetParameterAPI
	mu    sync.Mutex
	cache map[string][]string
}

// New returns a store reading through api.
func New(api GetParameterAPI) *Store {
	return &Store{api: api, cache: map[string][]string{}}
}

// Get returns the active secrets held by the parameter: its value split on
// white space, so a rotation can keep the old secret next to the new one.
func (s *Store) Get(ctx context.Context, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cache[name]; ok {
		return v, nil
	}
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
	vals := strings.Fields(*out.Parameter.Value)
	if len(vals) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrUnavailable, name)
	}
	s.cache[name] = vals
	return vals, nil
}
