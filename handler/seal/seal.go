// Package seal is the stack's seal key in AWS KMS: an HMAC key (key spec
// HMAC_256) whose MACs bind a re-sent message's original receipt time to the
// message (contract.Seal). The key material never leaves KMS; the consumer's
// role may only verify MACs (kms:VerifyMac), the operators' tools that
// re-send (redrive) may generate them (kms:GenerateMac).
//
// The consumer links this package, so it must not import the SDK's config
// package (and with it the SSO, SSO OIDC, STS and sign-in clients and IMDS,
// whose package inits every cold start would pay): the operators' tools build
// their own KMS client from their default credentials (portal.DefaultSealer).
package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/hookline/hookline/contract"
)

// API is the part of the KMS client the seal uses.
type API interface {
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	VerifyMac(ctx context.Context, in *kms.VerifyMacInput, optFns ...func(*kms.Options)) (*kms.VerifyMacOutput, error)
}

// KMS is a contract.Sealer backed by a KMS HMAC key.
type KMS struct {
	API API
	// KeyID is the key's ARN (the stack output sealKey).
	KeyID string
}

var _ contract.Sealer = KMS{}

// GenerateMAC asks KMS for msg's MAC under the key.
func (k KMS) GenerateMAC(ctx context.Context, msg []byte) ([]byte, error) {
	out, err := k.API.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId: aws.String(k.KeyID), Message: msg, MacAlgorithm: types.MacAlgorithmSpec(contract.SealAlgorithm),
	})
	if err != nil {
		return nil, fmt.Errorf("kms GenerateMac with %s: %w", k.KeyID, err)
	}
	return out.Mac, nil
}

// VerifyMAC asks KMS whether mac is msg's MAC under the key. AWS documents
// that a MAC which does not match fails the call with KMSInvalidMacException
// (MacValid is only ever true); a peer implementation answers MacValid false
// instead: both are contract.ErrForgedSeal.
func (k KMS) VerifyMAC(ctx context.Context, msg, mac []byte) error {
	out, err := k.API.VerifyMac(ctx, &kms.VerifyMacInput{
		KeyId: aws.String(k.KeyID), Message: msg, Mac: mac, MacAlgorithm: types.MacAlgorithmSpec(contract.SealAlgorithm),
	})
	var invalid *types.KMSInvalidMacException
	switch {
	case errors.As(err, &invalid):
		return fmt.Errorf("%w (kms: %s)", contract.ErrForgedSeal, invalid.ErrorMessage())
	case err != nil:
		return fmt.Errorf("kms VerifyMac with %s: %w", k.KeyID, err)
	case !out.MacValid:
		return contract.ErrForgedSeal
	}
	return nil
}
