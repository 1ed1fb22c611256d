package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/telemetry"
)

// Archive is the source's Firehose stream (contract/archive.go): every
// record's delivery entry is written to it before the record is processed,
// and the batch's outcomes after.
type Archive interface {
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

// archiving reports whether the consumer archives its records.
func (h *Handler) archiving() bool {
	return h.Archive != nil && h.Config.ArchiveStream != ""
}

// archiveDeliveries writes the delivery entry of every record before any is
// processed, and returns, per record index, why it could not be archived:
// such a record is never processed nor acknowledged (it fails, with the
// later records of its group, and SQS delivers it again). Firehose answers a
// batch with per-record results (FailedPutCount, ErrorCode): the refused
// records are put once more in the same invocation, then left failed.
func (h *Handler) archiveDeliveries(ctx context.Context, records []contract.Record) map[int]error {
	if !h.archiving() || len(records) == 0 {
		return nil
	}
	at := h.Now()
	pending := make([]int, len(records))
	lines := make([][]byte, len(records))
	for i := range records {
		pending[i] = i
		lines[i] = contract.AppendDelivery(nil, h.Config.Source, &records[i], at)
	}
	failed := map[int]error{}
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		clear(failed)
		pending = h.putLines(ctx, pending, lines, failed)
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// putLines puts the lines of the pending indexes in calls within Firehose's
// batch limits, recording each refused index's error in failed, and returns
// the refused indexes in order.
func (h *Handler) putLines(ctx context.Context, pending []int, lines [][]byte, failed map[int]error) []int {
	var refused []int
	for start := 0; start < len(pending); {
		end, size := start, 0
		for end < len(pending) && end-start < contract.MaxArchiveBatchCount &&
			(end == start || size+len(lines[pending[end]]) <= contract.MaxArchiveBatchBytes) {
			size += len(lines[pending[end]])
			end++
		}
		chunk := pending[start:end]
		start = end
		in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(h.Config.ArchiveStream),
			Records: make([]fhtypes.Record, len(chunk))}
		for j, i := range chunk {
			in.Records[j].Data = lines[i]
		}
		out, err := h.Archive.PutRecordBatch(ctx, in)
		if err == nil && len(out.RequestResponses) != len(chunk) {
			err = fmt.Errorf("firehose answered %d results for %d records", len(out.RequestResponses), len(chunk))
		}
		for j, i := range chunk {
			rerr := err
			if rerr == nil {
				if r := out.RequestResponses[j]; r.ErrorCode != nil {
					rerr = fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
			}
			if rerr != nil {
				failed[i] = fmt.Errorf("archive to %s: %w", h.Config.ArchiveStream, rerr)
				refused = append(refused, i)
			}
		}
	}
	return refused
}

// verdict is a record's outcome as its outcome entry will say it.
type verdict struct {
	record       *contract.Record
	kind, reason string
	at           time.Time
}

// archiveOutcome is what the outcome entry says of a record's outcome.
func archiveOutcome(o outcome) (string, string) {
	switch o.kind {
	case telemetry.OK:
		return contract.ArchiveOK, o.reason
	case telemetry.Dropped:
		return contract.ArchiveRejected, o.reason
	case telemetry.Reject:
		if o.dlqReason != "" {
			return contract.ArchiveDeadLettered, o.dlqReason
		}
		return contract.ArchiveDeadLettered, o.reason
	default:
		return contract.ArchiveRetry, o.reason
	}
}

// archiveOutcomes writes the batch's outcome entries as one Firehose record
// (a record may hold several lines; one record a batch keeps the archive's
// price per webhook down). It runs after the records were handled: a failure
// loses no delivery, only verdicts, so it is logged and counted, and the
// batch goes on.
func (h *Handler) archiveOutcomes(ctx context.Context, lines []byte) error {
	if !h.archiving() || len(lines) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	out, err := h.Archive.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String(h.Config.ArchiveStream), Records: []fhtypes.Record{{Data: lines}}})
	switch {
	case err != nil:
		return err
	case aws.ToInt32(out.FailedPutCount) > 0 && len(out.RequestResponses) > 0:
		r := out.RequestResponses[0]
		return fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
	case aws.ToInt32(out.FailedPutCount) > 0:
		return errors.New("firehose refused the record")
	}
	return nil
}
