package harness

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync/atomic"

	"github.com/hookline/hookline/contract"
)

// Sealer is an in-process contract.Sealer for tests that run the consumer
// and redrive together: HMAC-SHA-256 under a random key, as a KMS HMAC_256
// key computes it (handler/seal is tested against a KMS peer). It counts
// its calls.
type Sealer struct {
	key                 []byte
	Generated, Verified atomic.Int64
}

// NewSealer returns a Sealer with a fresh random key.
func NewSealer() *Sealer {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return &Sealer{key: k}
}

func (s *Sealer) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(msg)
	return h.Sum(nil)
}

// GenerateMAC implements contract.Sealer.
func (s *Sealer) GenerateMAC(_ context.Context, msg []byte) ([]byte, error) {
	s.Generated.Add(1)
	return s.mac(msg), nil
}

// VerifyMAC implements contract.Sealer.
func (s *Sealer) VerifyMAC(_ context.Context, msg, mac []byte) error {
	s.Verified.Add(1)
	if !hmac.Equal(s.mac(msg), mac) {
		return contract.ErrForgedSeal
	}
	return nil
}
