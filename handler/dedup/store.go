//go:build !hookline.nodynamodb

package dedup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/contract"
)

const (
	attrStatus = "status"
	attrLease  = "leaseUntil"
	statusDone = "done"
	statusBusy = "in_progress"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store is one source's idempotency table.
type Store struct {
	API   API
	Table string
	TTL   time.Duration
	Now   func() time.Time
}

func (s *Store) key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.IdempotencyKey: &types.AttributeValueMemberS{Value: k}}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Begin takes the in-progress marker for key with a lease, unless the event
// is done (and not expired) or another live attempt holds it.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (State, error) {
	now := s.Now()
	item := s.key(key)
	item[attrStatus] = &types.AttributeValueMemberS{Value: statusBusy}
	item[attrLease] = num(now.Add(lease).UnixMilli())
	item[contract.IdempotencyExpires] = num(now.Add(s.TTL).Unix())
	_, err := s.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item:      item,
		// TTL deletion is lazy: an expired marker counts as absent.
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #exp < :nowSec OR (#status = :busy AND #lease < :nowMs)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": contract.IdempotencyKey, "#exp": contract.IdempotencyExpires, "#status": attrStatus, "#lease": attrLease,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":nowSec": num(now.Unix()), ":nowMs": num(now.UnixMilli()), ":busy": &types.AttributeValueMemberS{Value: statusBusy},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return New, nil
	}
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		if st, ok := cond.Item[attrStatus].(*types.AttributeValueMemberS); ok && st.Value == statusDone {
			return Done, nil
		}
		return InProgress, nil
	}
	return New, fmt.Errorf("take idempotency marker %s: %w", key, err)
}

// Complete makes the marker final: the event is done until the TTL.
func (s *Store) Complete(ctx context.Context, key string) error {
	_, err := s.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      s.key(key),
		UpdateExpression:         aws.String("SET #status = :done, #exp = :exp REMOVE #lease"),
		ExpressionAttributeNames: map[string]string{"#status": attrStatus, "#exp": contract.IdempotencyExpires, "#lease": attrLease},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": &types.AttributeValueMemberS{Value: statusDone}, ":exp": num(s.Now().Add(s.TTL).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("finalise idempotency marker %s: %w", key, err)
	}
	return nil
}

// Release drops an in-progress marker after a failed attempt, so the retry
// need not wait for the lease.
func (s *Store) Release(ctx context.Context, key string) error {
	_, err := s.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       s.key(key),
		ConditionExpression:       aws.String("#status = :busy"),
		ExpressionAttributeNames:  map[string]string{"#status": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":busy": &types.AttributeValueMemberS{Value: statusBusy}},
	})
	var cond *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &cond) {
		return fmt.Errorf("release idempotency marker %s: %w", key, err)
	}
	return nil
}
