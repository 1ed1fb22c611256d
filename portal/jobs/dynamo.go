package jobs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoAPI is what DynamoStore asks of DynamoDB (a *dynamodb.Client).
type DynamoAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DynamoStore is a Store in one DynamoDB table that every portal process
// shares: any of them reads any job, and leases and limits hold across
// them. The table's key is pk (string, partition) and sk (string, sort);
// its TTL attribute is "expires" (epoch seconds), which ended jobs, their
// logs and their look-up items carry (Keep after they end) and audit
// entries never do. Items:
//
//   - RUNNING/RUNNING: what runs now, in one item, so admitting a job is one
//     conditional UpdateItem, atomic on that item (DynamoDB's condition
//     expressions): the ids running ("all", a string set, and "t#<team>"
//     per team: the limits compare their size()), the lock each holds
//     ("l#<lock>" = job id), each job's lease ("j#<id>" = {owner, lease
//     (epoch ns), team, lock}) and the changes outside jobs ("c#<lock>" =
//     {holder, until}). TransactWriteItems would spread this over items,
//     but a transaction is cancelled by a concurrent one on the same
//     items, and dynalite, the DynamoDB the tests run, has none.
//   - JOB#<id>/JOB: the job's record ("rec", JSON), with the fields the
//     conditions read beside it (status, owner, error, ended), its view as
//     last stored ("shown", gzipped JSON, never API keys) and its log's
//     length ("lines").
//   - JOB#<id>/CHUNK#<first line, 8 digits>: its log lines, in chunks of at
//     most chunkLines, one or more written per flush and never rewritten
//     but for a flush retried.
//   - PREVIEW#<stack>#<hash>/PREVIEW: the last preview of a request.
//   - ENDED/<ended>#<id>: ended jobs by end time, for Expire.
//   - AUDIT#<stack>/<time>#<random>: the audit log, newest last.
//
// Times in conditions are the writer's clock: keep the lease well above
// the clock skew between the portal's hosts.
type DynamoStore struct {
	api   DynamoAPI
	table string
	// Keep is how long DynamoDB's TTL keeps an ended job should no portal
	// process expire it first (default 7 days).
	Keep time.Duration
}

// NewDynamoStore is the store in table through api.
func NewDynamoStore(api DynamoAPI, table string) *DynamoStore {
	return &DynamoStore{api: api, table: table, Keep: 7 * 24 * time.Hour}
}

// The table's keys and attributes.
const (
	dPK, dSK       = "pk", "sk"
	dRunning       = "RUNNING"
	dJob           = "JOB"
	dJobPrefix     = "JOB#"
	dChunkPrefix   = "CHUNK#"
	dPreview       = "PREVIEW"
	dPreviewPrefix = "PREVIEW#"
	dEnded         = "ENDED"
	dAuditPrefix   = "AUDIT#"
	dExpires       = "expires"
	// chunkLines bounds a log chunk (lines are short: a chunk stays far
	// below DynamoDB's 400 KB item limit).
	chunkLines = 200
	// timeKey orders times as strings.
	timeKey = "2006-01-02T15:04:05.000000000Z"
)

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{dPK: sv(pk), dSK: sv(sk)}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getSS(item map[string]types.AttributeValue, name string) []string {
	if v, ok := item[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

func getM(item map[string]types.AttributeValue, name string) map[string]types.AttributeValue {
	if v, ok := item[name].(*types.AttributeValueMemberM); ok {
		return v.Value
	}
	return nil
}

// failedCheck reports whether err is a condition that did not hold, and
// the item as it was (when DynamoDB returned it: ALL_OLD).
func failedCheck(err error) (map[string]types.AttributeValue, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, true
	}
	return nil, false
}

// leaseNS is a lease as the table keeps it (0: never lapses).
func leaseNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (d *DynamoStore) running(ctx context.Context) (map[string]types.AttributeValue, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: key(dRunning, dRunning), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("jobs table %s: %w", d.table, err)
	}
	if out.Item == nil {
		return map[string]types.AttributeValue{}, nil
	}
	return out.Item, nil
}

// busy explains a failed admission from the running item as it was: the
// lock is held (by a job, or a change until a time after now), a limit is
// reached, or nothing (it changed since: try again).
func busy(item map[string]types.AttributeValue, rec Record, limits Limits, now time.Time) error {
	if jid := getS(item, "l#"+rec.Lock); jid != "" {
		return &BusyError{Stack: rec.Stack, What: "job " + jid, Job: jid}
	}
	if c := getM(item, "c#"+rec.Lock); c != nil && getN(c, "until") >= now.UnixNano() {
		return &BusyError{Stack: rec.Stack, What: "a change being written (a secret); retry in a moment"}
	}
	if n := len(getSS(item, "t#"+rec.Team)); n >= limits.TeamJobs {
		return &LimitError{What: fmt.Sprintf("team %s runs %d jobs, its limit", rec.Team, n)}
	}
	if n := len(getSS(item, "all")); n >= limits.Jobs {
		return &LimitError{What: fmt.Sprintf("the portal runs %d jobs, its limit", n)}
	}
	return nil
}

// storedRecord is the "rec" attribute: the record without what lives
// beside it.
func storedRecord(rec Record) (string, error) {
	rec.Shown = nil
	b, err := json.Marshal(rec)
	return string(b), err
}

func gz(v any) ([]byte, error) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ungz(b []byte, v any) error {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// decodeJob reads a job item.
func decodeJob(item map[string]types.AttributeValue) (Record, error) {
	var rec Record
	if err := json.Unmarshal([]byte(getS(item, "rec")), &rec); err != nil {
		return Record{}, fmt.Errorf("a job record that does not read: %w", err)
	}
	rec.Status, rec.Owner, rec.Error = Status(getS(item, "status")), getS(item, "owner"), getS(item, "error")
	rec.Ended = nil
	if e := getS(item, "ended"); e != "" {
		t, err := time.Parse(time.RFC3339Nano, e)
		if err != nil {
			return Record{}, fmt.Errorf("job %s: end %q: %w", rec.ID, e, err)
		}
		rec.Ended = &t
	}
	if b, ok := item["shown"].(*types.AttributeValueMemberB); ok {
		var v View
		if err := ungz(b.Value, &v); err != nil {
			return Record{}, fmt.Errorf("job %s: its view: %w", rec.ID, err)
		}
		rec.Shown = &v
	}
	return rec, nil
}

// expired reports whether an item's TTL passed (DynamoDB deletes such
// items within days, and reads show them until then).
func expired(item map[string]types.AttributeValue, now time.Time) bool {
	e := getN(item, dExpires)
	return e != 0 && e <= now.Unix()
}

// Start implements Store.
func (d *DynamoStore) Start(ctx context.Context, rec Record, limits Limits) error {
	if limits.Jobs <= 0 || limits.TeamJobs <= 0 {
		return &LimitError{What: "the portal's job limits allow none"}
	}
	entry := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"owner": sv(rec.Owner), "lease": nv(leaseNS(rec.Lease)), "team": sv(rec.Team), "lock": sv(rec.Lock)}}
	for attempt := 0; ; attempt++ {
		now := time.Now()
		_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &d.table, Key: key(dRunning, dRunning),
			UpdateExpression: aws.String("ADD #all :ids, #team :ids SET #lock = :id, #job = :entry"),
			ConditionExpression: aws.String("attribute_not_exists(#lock) AND (attribute_not_exists(#chg) OR #chg.#until < :now)" +
				" AND (attribute_not_exists(#team) OR size(#team) < :teamMax) AND (attribute_not_exists(#all) OR size(#all) < :max)"),
			ExpressionAttributeNames: map[string]string{"#all": "all", "#team": "t#" + rec.Team, "#lock": "l#" + rec.Lock,
				"#job": "j#" + rec.ID, "#chg": "c#" + rec.Lock, "#until": "until"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ids": &types.AttributeValueMemberSS{Value: []string{rec.ID}},
				":id": sv(rec.ID), ":entry": entry, ":now": nv(now.UnixNano()), ":teamMax": nv(int64(limits.TeamJobs)), ":max": nv(int64(limits.Jobs))},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			break
		}
		item, failed := failedCheck(err)
		if !failed {
			return fmt.Errorf("jobs table %s: start job %s: %w", d.table, rec.ID, err)
		}
		if item == nil {
			if item, err = d.running(ctx); err != nil {
				return err
			}
		}
		if err := busy(item, rec, limits, now); err != nil {
			return err
		}
		if attempt == 5 {
			return fmt.Errorf("jobs table %s: start job %s: the running jobs keep changing; retry", d.table, rec.ID)
		}
	}
	body, err := storedRecord(rec)
	if err == nil {
		_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table,
			Item: map[string]types.AttributeValue{dPK: sv(dJobPrefix + rec.ID), dSK: sv(dJob), "rec": sv(body),
				"status": sv(string(rec.Status)), "owner": sv(rec.Owner), "lines": nv(0)},
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": dPK}})
	}
	if err != nil {
		_ = d.release(context.WithoutCancel(ctx), rec.ID, rec.Team, rec.Lock, "")
		if _, dup := failedCheck(err); dup {
			return fmt.Errorf("job %s is already recorded", rec.ID)
		}
		return fmt.Errorf("jobs table %s: record job %s: %w", d.table, rec.ID, err)
	}
	if rec.Op == OpPreview && rec.Request != nil {
		_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dPreviewPrefix+rec.Stack+"#"+rec.Request.Hash, dPreview),
			UpdateExpression:          aws.String("SET #job = :id, #started = :s, #exp = :e"),
			ConditionExpression:       aws.String("attribute_not_exists(#started) OR #started < :s"),
			ExpressionAttributeNames:  map[string]string{"#job": "job", "#started": "started", "#exp": dExpires},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": sv(rec.ID), ":s": nv(rec.Started.UnixNano()), ":e": nv(time.Now().Add(d.Keep).Unix())}})
		if _, older := failedCheck(err); err != nil && !older {
			return fmt.Errorf("jobs table %s: record preview %s: %w", d.table, rec.ID, err)
		}
	}
	return nil
}

// release frees the slot and lock job id holds, when owner holds its lease
// (any owner when owner is ""); nothing when it holds none.
func (d *DynamoStore) release(ctx context.Context, id, team, lock, owner string) error {
	cond := "#lock = :id"
	names := map[string]string{"#all": "all", "#team": "t#" + team, "#lock": "l#" + lock, "#job": "j#" + id}
	values := map[string]types.AttributeValue{":ids": &types.AttributeValueMemberSS{Value: []string{id}}, ":id": sv(id)}
	if owner != "" {
		cond += " AND #job.#owner = :owner"
		names["#owner"] = "owner"
		values[":owner"] = sv(owner)
	}
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dRunning, dRunning),
		UpdateExpression: aws.String("REMOVE #job, #lock DELETE #all :ids, #team :ids"), ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if _, gone := failedCheck(err); gone {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jobs table %s: release job %s: %w", d.table, id, err)
	}
	return nil
}

func (d *DynamoStore) jobItem(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: key(dJobPrefix+id, dJob), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("jobs table %s: read job %s: %w", d.table, id, err)
	}
	if out.Item == nil || expired(out.Item, time.Now()) {
		return nil, &NotFoundError{Message: "no such job"}
	}
	return out.Item, nil
}

// Abandon implements Store.
func (d *DynamoStore) Abandon(ctx context.Context, id string) error {
	item, err := d.jobItem(ctx, id)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return fmt.Errorf("abandon job %s: not recorded", id)
	}
	if err != nil {
		return err
	}
	rec, err := decodeJob(item)
	if err != nil {
		return err
	}
	if err := d.release(ctx, id, rec.Team, rec.Lock, ""); err != nil {
		return err
	}
	if _, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.table, Key: key(dJobPrefix+id, dJob)}); err != nil {
		return fmt.Errorf("jobs table %s: forget job %s: %w", d.table, id, err)
	}
	if rec.Op == OpPreview && rec.Request != nil {
		_, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.table, Key: key(dPreviewPrefix+rec.Stack+"#"+rec.Request.Hash, dPreview),
			ConditionExpression: aws.String("#job = :id"), ExpressionAttributeNames: map[string]string{"#job": "job"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": sv(id)}})
		if _, other := failedCheck(err); err != nil && !other {
			return fmt.Errorf("jobs table %s: forget preview %s: %w", d.table, id, err)
		}
	}
	return nil
}

// Finish implements Store.
func (d *DynamoStore) Finish(ctx context.Context, rec Record) error {
	body, err := storedRecord(rec)
	if err != nil {
		return err
	}
	set := []string{"#status = :status", "#owner = :owner", "#rec = :rec"}
	var remove []string
	names := map[string]string{"#pk": dPK, "#status": "status", "#owner": "owner", "#rec": "rec", "#error": "error", "#ended": "ended", "#shown": "shown", "#exp": dExpires}
	values := map[string]types.AttributeValue{":status": sv(string(rec.Status)), ":owner": sv(rec.Owner), ":rec": sv(body)}
	if rec.Error != "" {
		set, values[":error"] = append(set, "#error = :error"), sv(rec.Error)
	} else {
		remove = append(remove, "#error")
	}
	ended := time.Now()
	if rec.Ended != nil {
		ended = *rec.Ended
		set, values[":ended"] = append(set, "#ended = :ended"), sv(ended.Format(time.RFC3339Nano))
	} else {
		remove = append(remove, "#ended")
	}
	set, values[":exp"] = append(set, "#exp = :exp"), nv(ended.Add(d.Keep).Unix())
	if rec.Shown != nil {
		b, err := gz(rec.Shown)
		if err != nil {
			return err
		}
		set, values[":shown"] = append(set, "#shown = :shown"), &types.AttributeValueMemberB{Value: b}
	} else {
		remove = append(remove, "#shown")
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err = d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dJobPrefix+rec.ID, dJob),
		UpdateExpression: &update, ConditionExpression: aws.String("attribute_exists(#pk) AND #owner = :owner"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if item, failed := failedCheck(err); failed {
		if item == nil {
			if _, gerr := d.jobItem(ctx, rec.ID); gerr != nil {
				return fmt.Errorf("finish job %s: not recorded (expired?)", rec.ID)
			}
		}
		return fmt.Errorf("finish job %s: %w", rec.ID, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("jobs table %s: finish job %s: %w", d.table, rec.ID, err)
	}
	if _, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: map[string]types.AttributeValue{
		dPK: sv(dEnded), dSK: sv(ended.UTC().Format(timeKey) + "#" + rec.ID), dExpires: nv(ended.Add(d.Keep).Unix())}}); err != nil {
		return fmt.Errorf("jobs table %s: index job %s: %w", d.table, rec.ID, err)
	}
	return d.release(ctx, rec.ID, rec.Team, rec.Lock, rec.Owner)
}

// Get implements Store.
func (d *DynamoStore) Get(ctx context.Context, id string) (Record, error) {
	item, err := d.jobItem(ctx, id)
	if err != nil {
		return Record{}, err
	}
	return decodeJob(item)
}

// Holder implements Store.
func (d *DynamoStore) Holder(ctx context.Context, lock string) (string, error) {
	item, err := d.running(ctx)
	if err != nil {
		return "", err
	}
	return getS(item, "l#"+lock), nil
}

// LatestPreview implements Store.
func (d *DynamoStore) LatestPreview(ctx context.Context, stack, hash string) (Record, bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: key(dPreviewPrefix+stack+"#"+hash, dPreview), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Record{}, false, fmt.Errorf("jobs table %s: read the preview of %s: %w", d.table, stack, err)
	}
	if out.Item == nil || expired(out.Item, time.Now()) {
		return Record{}, false, nil
	}
	rec, err := d.Get(ctx, getS(out.Item, "job"))
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return rec, true, nil
}

// Running implements Store.
func (d *DynamoStore) Running(ctx context.Context) (map[string]int, error) {
	item, err := d.running(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for name := range item {
		if team, ok := strings.CutPrefix(name, "t#"); ok {
			if n := len(getSS(item, name)); n > 0 {
				out[team] = n
			}
		}
	}
	return out, nil
}

// query runs in, page after page, and returns every item.
func (d *DynamoStore) query(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	in.TableName = &d.table
	var items []map[string]types.AttributeValue
	for {
		out, err := d.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("jobs table %s: %w", d.table, err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 || (in.Limit != nil && len(items) >= int(*in.Limit)) {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Expire implements Store: the ended jobs before cutoff go with their logs.
func (d *DynamoStore) Expire(ctx context.Context, cutoff time.Time) ([]string, error) {
	items, err := d.query(ctx, &dynamodb.QueryInput{KeyConditionExpression: aws.String("#pk = :pk AND #sk < :cut"),
		ExpressionAttributeNames:  map[string]string{"#pk": dPK, "#sk": dSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(dEnded), ":cut": sv(cutoff.UTC().Format(timeKey))},
		ConsistentRead:            aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, it := range items {
		sk := getS(it, dSK)
		_, id, _ := strings.Cut(sk, "#")
		parts, err := d.query(ctx, &dynamodb.QueryInput{KeyConditionExpression: aws.String("#pk = :pk"),
			ExpressionAttributeNames: map[string]string{"#pk": dPK, "#sk": dSK}, ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(dJobPrefix + id)},
			ProjectionExpression: aws.String("#pk, #sk"), ConsistentRead: aws.Bool(true)})
		if err == nil {
			parts = append(parts, key(dEnded, sk))
			for _, p := range parts {
				if _, err = d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.table, Key: key(getS(p, dPK), getS(p, dSK))}); err != nil {
					break
				}
			}
		}
		if err != nil {
			sort.Strings(gone)
			return gone, fmt.Errorf("jobs table %s: expire job %s: %w", d.table, id, err)
		}
		gone = append(gone, id)
	}
	sort.Strings(gone)
	return gone, nil
}

// Lease implements Store.
func (d *DynamoStore) Lease(ctx context.Context, lock, holder string, ttl time.Duration) error {
	now := time.Now()
	change := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"holder": sv(holder), "until": nv(now.Add(ttl).UnixNano())}}
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dRunning, dRunning),
		UpdateExpression:                    aws.String("SET #chg = :chg"),
		ConditionExpression:                 aws.String("attribute_not_exists(#lock) AND (attribute_not_exists(#chg) OR #chg.#until < :now)"),
		ExpressionAttributeNames:            map[string]string{"#chg": "c#" + lock, "#lock": "l#" + lock, "#until": "until"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":chg": change, ":now": nv(now.UnixNano())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	item, failed := failedCheck(err)
	if !failed {
		if err != nil {
			return fmt.Errorf("jobs table %s: lease %s: %w", d.table, lock, err)
		}
		return nil
	}
	if item == nil {
		if item, err = d.running(ctx); err != nil {
			return err
		}
	}
	if jid := getS(item, "l#"+lock); jid != "" {
		return &BusyError{Stack: lock, What: "job " + jid, Job: jid}
	}
	return &BusyError{Stack: lock, What: "another change"}
}

// Release implements Store.
func (d *DynamoStore) Release(ctx context.Context, lock, holder string) error {
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dRunning, dRunning),
		UpdateExpression: aws.String("REMOVE #chg"), ConditionExpression: aws.String("#chg.#holder = :holder"),
		ExpressionAttributeNames:  map[string]string{"#chg": "c#" + lock, "#holder": "holder"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":holder": sv(holder)}})
	if _, other := failedCheck(err); err != nil && !other {
		return fmt.Errorf("jobs table %s: release %s: %w", d.table, lock, err)
	}
	return nil
}

// Renew implements Store.
func (d *DynamoStore) Renew(ctx context.Context, id, owner string, until time.Time) error {
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dRunning, dRunning),
		UpdateExpression: aws.String("SET #job.#lease = :until"), ConditionExpression: aws.String("#job.#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#job": "j#" + id, "#lease": "lease", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": nv(leaseNS(until)), ":owner": sv(owner)}})
	if _, lost := failedCheck(err); lost {
		return fmt.Errorf("renew job %s: %w", id, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("jobs table %s: renew job %s: %w", d.table, id, err)
	}
	return nil
}

// Claim implements Store: for each lapsed lease, a compare-and-swap of the
// lease's owner and expiry as read (one claimer wins), then the record
// marked interrupted unless its end is stored.
func (d *DynamoStore) Claim(ctx context.Context, claimer string, now, until time.Time) ([]Record, error) {
	item, err := d.running(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for name := range item {
		id, ok := strings.CutPrefix(name, "j#")
		if !ok {
			continue
		}
		entry := getM(item, name)
		lease, owner := getN(entry, "lease"), getS(entry, "owner")
		if lease == 0 || lease >= now.UnixNano() {
			continue
		}
		_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dRunning, dRunning),
			UpdateExpression:         aws.String("SET #job.#owner = :me, #job.#lease = :until"),
			ConditionExpression:      aws.String("#job.#owner = :owner AND #job.#lease = :lease"),
			ExpressionAttributeNames: map[string]string{"#job": name, "#owner": "owner", "#lease": "lease"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":me": sv(claimer), ":until": nv(until.UnixNano()),
				":owner": sv(owner), ":lease": nv(lease)}})
		if _, lost := failedCheck(err); lost {
			continue // another claimed it, or its owner renewed it
		}
		if err != nil {
			return out, fmt.Errorf("jobs table %s: claim job %s: %w", d.table, id, err)
		}
		rec, ok, err := d.interrupt(ctx, id, claimer, now)
		if err != nil {
			return out, err
		}
		if !ok { // no record, or its end is stored: only the release was missing
			if err := d.release(ctx, id, getS(entry, "team"), getS(entry, "lock"), claimer); err != nil {
				return out, err
			}
			continue
		}
		rec.Lease = until
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// interrupt marks job id interrupted for claimer (a running one ended at
// now; one already interrupted, by a claimer that died, taken over), and
// returns its record; false when there is no record or its end is stored.
func (d *DynamoStore) interrupt(ctx context.Context, id, claimer string, now time.Time) (Record, bool, error) {
	names := map[string]string{"#pk": dPK, "#status": "status", "#owner": "owner", "#error": "error", "#ended": "ended"}
	out, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dJobPrefix+id, dJob),
		UpdateExpression:         aws.String("SET #status = :int, #owner = :me, #error = :err, #ended = :ended"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #status = :running"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":int": sv(string(StatusInterrupted)), ":me": sv(claimer), ":err": sv(claimedError),
			":ended": sv(now.Format(time.RFC3339Nano)), ":running": sv(string(StatusRunning))},
		ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if old, failed := failedCheck(err); failed {
		if old == nil {
			if old, err = d.jobItem(ctx, id); err != nil {
				var nf *NotFoundError
				if errors.As(err, &nf) {
					return Record{}, false, nil
				}
				return Record{}, false, err
			}
		}
		if getS(old, "status") != string(StatusInterrupted) {
			return Record{}, false, nil
		}
		out, err = d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dJobPrefix+id, dJob),
			UpdateExpression: aws.String("SET #owner = :me"), ConditionExpression: aws.String("#status = :int"),
			ExpressionAttributeNames:  map[string]string{"#status": "status", "#owner": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":me": sv(claimer), ":int": sv(string(StatusInterrupted))},
			ReturnValues:              types.ReturnValueAllNew})
		if _, gone := failedCheck(err); gone {
			return Record{}, false, nil
		}
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("jobs table %s: interrupt job %s: %w", d.table, id, err)
	}
	rec, err := decodeJob(out.Attributes)
	return rec, err == nil, err
}

// Append implements Store.
func (d *DynamoStore) Append(ctx context.Context, id, owner string, from int, lines []string, shown *View) error {
	for start := 0; start < len(lines); start += chunkLines {
		part := lines[start:min(start+chunkLines, len(lines))]
		l := make([]types.AttributeValue, len(part))
		for i, line := range part {
			l[i] = sv(line)
		}
		if _, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: map[string]types.AttributeValue{
			dPK: sv(dJobPrefix + id), dSK: sv(fmt.Sprintf("%s%08d", dChunkPrefix, from+start)),
			"lines": &types.AttributeValueMemberL{Value: l}, dExpires: nv(time.Now().Add(d.Keep).Unix())}}); err != nil {
			return fmt.Errorf("jobs table %s: store the log of job %s: %w", d.table, id, err)
		}
	}
	update := "SET #lines = :n"
	names := map[string]string{"#pk": dPK, "#lines": "lines", "#owner": "owner"}
	values := map[string]types.AttributeValue{":n": nv(int64(from + len(lines))), ":owner": sv(owner)}
	if shown != nil {
		b, err := gz(shown)
		if err != nil {
			return err
		}
		update += ", #shown = :shown"
		names["#shown"], values[":shown"] = "shown", &types.AttributeValueMemberB{Value: b}
	}
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: key(dJobPrefix+id, dJob),
		UpdateExpression: &update, ConditionExpression: aws.String("attribute_exists(#pk) AND #owner = :owner"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if item, failed := failedCheck(err); failed {
		if item == nil {
			if _, err := d.jobItem(ctx, id); err != nil {
				return err
			}
		}
		return fmt.Errorf("store the progress of job %s: %w", id, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("jobs table %s: store the progress of job %s: %w", d.table, id, err)
	}
	return nil
}

// Lines implements Store: the chunks from the one that can hold line n on.
func (d *DynamoStore) Lines(ctx context.Context, id string, n int) ([]string, error) {
	items, err := d.query(ctx, &dynamodb.QueryInput{KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": dPK, "#sk": dSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(dJobPrefix + id),
			":lo": sv(fmt.Sprintf("%s%08d", dChunkPrefix, max(0, n-chunkLines+1))), ":hi": sv(dChunkPrefix + "~")},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		start, err := strconv.Atoi(strings.TrimPrefix(getS(it, dSK), dChunkPrefix))
		if err != nil {
			continue
		}
		l, _ := it["lines"].(*types.AttributeValueMemberL)
		if l == nil {
			continue
		}
		for i, v := range l.Value {
			if idx := start + i; idx == n+len(out) {
				if s, ok := v.(*types.AttributeValueMemberS); ok {
					out = append(out, s.Value)
				}
			}
		}
	}
	if len(out) == 0 {
		if _, err := d.jobItem(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Audit implements Store.
func (d *DynamoStore) Audit(ctx context.Context, e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: map[string]types.AttributeValue{
		dPK: sv(dAuditPrefix + e.Stack), dSK: sv(e.Time.UTC().Format(timeKey) + "#" + newJobID()), "entry": sv(string(b))}})
	if err != nil {
		return fmt.Errorf("jobs table %s: audit: %w", d.table, err)
	}
	return nil
}

// AuditLog implements Store.
func (d *DynamoStore) AuditLog(ctx context.Context, stack string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	items, err := d.query(ctx, &dynamodb.QueryInput{KeyConditionExpression: aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": dPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(dAuditPrefix + stack)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	for _, it := range items {
		var e AuditEntry
		if json.Unmarshal([]byte(getS(it, "entry")), &e) == nil {
			out = append(out, e)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// TableInput is the jobs table DynamoStore expects, named name: key pk
// (partition) and sk (sort), strings, billed per request. Enable TTL on its
// "expires" attribute (UpdateTimeToLive) so ended jobs leave it even when
// no portal process expires them.
func TableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(dPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(dSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(dPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(dSK), KeyType: types.KeyTypeRange},
		},
	}
}
