package awsfake

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/contract"
)

// Firehose is a test double of Amazon Data Firehose's Direct PUT API for
// streams delivering to S3, over Firehose's own protocol (awsJson1_1,
// X-Amz-Target Firehose_20150804.<Action>), so the real aws-sdk-go-v2
// Firehose client — in the test process or in the handler binary under the
// Lambda emulator (AWS_ENDPOINT_URL_FIREHOSE, see Env) — writes to it. Each
// stream buffers what it takes and delivers it as one GZIP object to a real
// S3 server (through the SDK's S3 client) under its prefix expression, as
// Firehose does (sources below, each from AWS's documentation):
//
//   - PutRecordBatch takes 1 to 500 records, each at most 1,000 KiB
//     (1,024,000 bytes) before base64 encoding, at most 4 MiB in all: "Each
//     PutRecordBatch request supports up to 500 records. Each record in the
//     request can be as large as 1,000 KB (before base64 encoding), up to a
//     limit of 4 MB for the entire request. These limits cannot be changed."
//     (Amazon Data Firehose API Reference, PutRecordBatch,
//     https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html).
//     The API reference names no error for breaking them. The model's
//     constraints (Records: 1–500 members; Record.Data: at most 1,024,000
//     bytes) are answered as AWS answers a constraint violation on its JSON
//     protocols, a 400 ValidationException "1 validation error detected:
//     … failed to satisfy constraint: Member must have length less than or
//     equal to …"; the 4 MiB total with InvalidArgumentException "Records
//     size exceeds 4 MB limit". Both texts are what producers have logged
//     from the service (osquery/osquery#3568), not documented wording.
//   - Partial failure: "Even if the PutRecordBatch call succeeds, the value of
//     FailedPutCount may be greater than 0 … Each entry in the
//     RequestResponses array … directly correlates with a record in the
//     request array using the same ordering … A single record failure does
//     not stop the processing of subsequent records. … An unsuccessfully
//     processed record includes ErrorCode and ErrorMessage values. ErrorCode
//     … is one of the following values: ServiceUnavailableException or
//     InternalFailure." (same page). A record picked by FailRecords is
//     answered so and not buffered; the others are.
//   - Whole-call errors (same page, Errors): ResourceNotFoundException (400)
//     for a stream that does not exist, InvalidArgumentException (400),
//     ServiceUnavailableException (500) — FailWith injects any of them.
//   - Delivery: "Firehose buffers records before delivering them to the
//     destination" and adds no delimiter of its own (same page: "a common
//     solution is to use delimiters in the data, such as a newline"), so an
//     object is the records' bytes concatenated, GZIP-compressed when the
//     stream compresses. An object is written when the buffer reaches its
//     size hint or its interval has passed since the oldest buffered record
//     arrived, whichever comes first (buffering hints, Amazon Data Firehose
//     Developer Guide), or when a test calls Flush.
//   - Object names: "<evaluated prefix><suffix>, where the suffix has the
//     format <Firehose stream name>-<Firehose stream version>-<year>-<month>-
//     <day>-<hour>-<minute>-<second>-<uuid><file extension>" (Configure
//     Amazon S3 object name format,
//     https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html);
//     "When evaluating timestamps, Firehose uses the approximate arrival
//     timestamp of the oldest record that's contained in the Amazon S3 object
//     being written", in UTC by default (Understand custom prefixes for
//     Amazon S3 objects,
//     https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html).
//     The double evaluates !{timestamp:<pattern>} (the pattern letters yyyy,
//     MM, dd, HH, mm, ss and quoted literals) and !{firehose:random-string}.
//
// What it does not do: Firehose's throughput quotas, its 24-hour retry of an
// unreachable destination (a failed S3 write keeps the records buffered and
// is reported by Flush), the error output prefix, encryption.
type Firehose struct {
	*httptest.Server

	mu       sync.Mutex
	s3       ObjectPutter
	streams  map[string]*stream
	clock    func() time.Time
	faults   map[string]map[int]Fault
	counts   map[string]int
	calls    []string
	record   func(stream string, index int, data []byte) *Fault
	objects  []string
	flushErr error
}

// ObjectPutter is the part of the S3 client a Firehose double delivers with.
type ObjectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Stream configures one delivery stream of a Firehose double: its S3
// destination and buffering hints.
type Stream struct {
	// Name is the delivery stream's name.
	Name string
	// Bucket is the destination bucket (its name, not its ARN).
	Bucket string
	// Prefix is the S3 prefix expression, e.g.
	// contract.ArchivePrefixExpression(source).
	Prefix string
	// Uncompressed: deliver the records as they came (default: GZIP, with
	// the ".gz" extension Firehose gives GZIP objects).
	Uncompressed bool
	// BufferBytes and BufferInterval are the buffering hints (defaults:
	// the archive streams' contract.ArchiveBufferMiB and
	// contract.ArchiveBufferInterval). The interval runs in real time.
	BufferBytes    int
	BufferInterval time.Duration
}

// Record is one record as a Firehose double took it.
type Record struct {
	Data []byte
	// Arrival is when the double took it (its clock).
	Arrival time.Time
}

type stream struct {
	cfg   Stream
	buf   []Record
	bytes int
	timer *time.Timer
	// version is the stream version in object names (Firehose starts at 1).
	version int
}

// NewFirehose starts a Firehose double that delivers to S3 through s3.
func NewFirehose(s3 ObjectPutter) *Firehose {
	f := &Firehose{s3: s3, streams: map[string]*stream{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Env points the AWS SDK of a child process at the double.
func (f *Firehose) Env() []string {
	return []string{"AWS_ENDPOINT_URL_FIREHOSE=" + f.URL}
}

// AddStream creates a delivery stream; its prefix expression must be one
// the double can evaluate.
func (f *Firehose) AddStream(cfg Stream) error {
	if _, err := evalPrefix(cfg.Prefix, time.Now()); err != nil {
		return fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = contract.ArchiveBufferMiB << 20
	}
	if cfg.BufferInterval <= 0 {
		cfg.BufferInterval = contract.ArchiveBufferInterval
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams[cfg.Name] = &stream{cfg: cfg, version: 1}
	return nil
}

// SetClock makes the double read arrival times from now (the prefix's
// timestamp), so a test can file records under any hour.
func (f *Firehose) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = now
}

func (f *Firehose) now() time.Time {
	if f.clock != nil {
		return f.clock()
	}
	return time.Now()
}

// FailWith makes the n-th (1-based) call of target (e.g.
// "Firehose_20150804.PutRecordBatch") fail as a whole with fault.
func (f *Firehose) FailWith(target string, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.faults == nil {
		f.faults = map[string]map[int]Fault{}
	}
	if f.faults[target] == nil {
		f.faults[target] = map[int]Fault{}
	}
	f.faults[target][n] = fault
}

// FailRecords makes the records pick chooses fail on their own (nil: none):
// PutRecordBatch answers 200 with FailedPutCount and the fault's Type as the
// record's ErrorCode (Firehose documents ServiceUnavailableException and
// InternalFailure); PutRecord, which has no partial answer, fails as a
// whole with it. index is the record's place in its call.
func (f *Firehose) FailRecords(pick func(stream string, index int, data []byte) *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record = pick
}

// Calls lists the calls received, as their X-Amz-Target.
func (f *Firehose) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Buffered returns the records a stream holds, not yet delivered.
func (f *Firehose) Buffered(name string) []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.streams[name]; st != nil {
		return append([]Record(nil), st.buf...)
	}
	return nil
}

// Objects lists the keys of the objects delivered so far, in order.
func (f *Firehose) Objects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.objects...)
}

// Close stops the buffer timers and the server; buffered records are not
// delivered (call Flush first).
func (f *Firehose) Close() {
	f.mu.Lock()
	for _, st := range f.streams {
		if st.timer != nil {
			st.timer.Stop()
		}
	}
	f.mu.Unlock()
	f.Server.Close()
}

// Flush delivers every stream's buffer now, one object per stream that
// holds records.
func (f *Firehose) Flush(ctx context.Context) error {
	f.mu.Lock()
	var names []string
	for n := range f.streams {
		names = append(names, n)
	}
	f.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := f.deliver(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// LastFlushError is the error of the last delivery the double started on
// its own (buffer full or interval passed), or nil.
func (f *Firehose) LastFlushError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushErr
}

func (f *Firehose) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, target)
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[target]++
	fault, failNow := f.faults[target][f.counts[target]]
	f.mu.Unlock()
	if failNow {
		fail(w, fault.Status, fault.Type, "injected fault")
		return
	}
	switch target {
	case "Firehose_20150804.PutRecordBatch":
		f.putRecordBatch(w, body)
	case "Firehose_20150804.PutRecord":
		f.putRecord(w, body)
	default:
		fail(w, 400, "UnknownOperationException", "the Firehose double does not serve "+target)
	}
}

// validation is the ValidationException AWS answers for a request that
// breaks a constraint of the service's model.
func validation(w http.ResponseWriter, what string) {
	fail(w, 400, "ValidationException", "1 validation error detected: "+what)
}

func (f *Firehose) putRecordBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		DeliveryStreamName string
		Records            []struct{ Data []byte }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "SerializationException", "bad PutRecordBatch request: "+err.Error())
		return
	}
	switch n := len(in.Records); {
	case n == 0:
		validation(w, "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")
		return
	case n > contract.MaxArchiveBatchCount:
		validation(w, fmt.Sprintf("Value '[...%d records]' at 'records' failed to satisfy constraint: Member must have length less than or equal to %d", n, contract.MaxArchiveBatchCount))
		return
	}
	total := 0
	for i, rec := range in.Records {
		if len(rec.Data) > contract.MaxArchiveRecordBytes {
			validation(w, fmt.Sprintf("Value 'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]' at 'records.%d.member.data' failed to satisfy constraint: Member must have length less than or equal to %d",
				len(rec.Data), len(rec.Data), i+1, contract.MaxArchiveRecordBytes))
			return
		}
		total += len(rec.Data)
	}
	if total > contract.MaxArchiveBatchBytes {
		fail(w, 400, "InvalidArgumentException", "Records size exceeds 4 MB limit")
		return
	}
	f.mu.Lock()
	st := f.streams[in.DeliveryStreamName]
	if st == nil {
		f.mu.Unlock()
		f.notFound(w, in.DeliveryStreamName)
		return
	}
	failed := 0
	responses := make([]map[string]string, len(in.Records))
	now := f.now()
	for i, rec := range in.Records {
		if f.record != nil {
			if fault := f.record(in.DeliveryStreamName, i, rec.Data); fault != nil {
				failed++
				responses[i] = map[string]string{"ErrorCode": fault.Type, "ErrorMessage": "injected record fault"}
				continue
			}
		}
		f.buffer(st, rec.Data, now)
		responses[i] = map[string]string{"RecordId": recordID()}
	}
	full := st.bytes >= st.cfg.BufferBytes
	f.mu.Unlock()
	if full {
		f.deliverOnItsOwn(st.cfg.Name)
	}
	ok(w, map[string]any{"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses})
}

func (f *Firehose) putRecord(w http.ResponseWriter, body []byte) {
	var in struct {
		DeliveryStreamName string
		Record             struct{ Data []byte }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "SerializationException", "bad PutRecord request: "+err.Error())
		return
	}
	if n := len(in.Record.Data); n > contract.MaxArchiveRecordBytes {
		validation(w, fmt.Sprintf("Value 'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]' at 'record.data' failed to satisfy constraint: Member must have length less than or equal to %d", n, n, contract.MaxArchiveRecordBytes))
		return
	}
	f.mu.Lock()
	st := f.streams[in.DeliveryStreamName]
	if st == nil {
		f.mu.Unlock()
		f.notFound(w, in.DeliveryStreamName)
		return
	}
	if f.record != nil {
		if fault := f.record(in.DeliveryStreamName, 0, in.Record.Data); fault != nil {
			f.mu.Unlock()
			fail(w, fault.Status, fault.Type, "injected record fault")
			return
		}
	}
	f.buffer(st, in.Record.Data, f.now())
	full := st.bytes >= st.cfg.BufferBytes
	f.mu.Unlock()
	if full {
		f.deliverOnItsOwn(st.cfg.Name)
	}
	ok(w, map[string]any{"RecordId": recordID(), "Encrypted": false})
}

func (f *Firehose) notFound(w http.ResponseWriter, name string) {
	fail(w, 400, "ResourceNotFoundException", fmt.Sprintf("Firehose %s under account 123456789012 not found.", name))
}

// buffer adds a record and starts the interval at the first one (caller
// holds f.mu).
func (f *Firehose) buffer(st *stream, data []byte, at time.Time) {
	st.buf = append(st.buf, Record{Data: append([]byte(nil), data...), Arrival: at})
	st.bytes += len(data)
	if st.timer == nil {
		name := st.cfg.Name
		st.timer = time.AfterFunc(st.cfg.BufferInterval, func() { f.deliverOnItsOwn(name) })
	}
}

// deliverOnItsOwn delivers a stream's buffer when a buffering hint is met.
func (f *Firehose) deliverOnItsOwn(name string) {
	err := f.deliver(context.Background(), name)
	f.mu.Lock()
	f.flushErr = err
	f.mu.Unlock()
}

// deliver writes a stream's buffer as one object; on failure the records
// go back to the front of the buffer.
func (f *Firehose) deliver(ctx context.Context, name string) error {
	f.mu.Lock()
	st := f.streams[name]
	if st == nil || len(st.buf) == 0 {
		f.mu.Unlock()
		return nil
	}
	recs := st.buf
	st.buf, st.bytes = nil, 0
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	cfg, version := st.cfg, st.version
	f.mu.Unlock()

	oldest := recs[0].Arrival
	for _, r := range recs {
		if r.Arrival.Before(oldest) {
			oldest = r.Arrival
		}
	}
	prefix, _ := evalPrefix(cfg.Prefix, oldest) // checked by AddStream
	t := oldest.UTC()
	key := fmt.Sprintf("%s%s-%d-%s-%s", prefix, cfg.Name, version, t.Format("2006-01-02-15-04-05"), uuid())
	var body bytes.Buffer
	if cfg.Uncompressed {
		for _, r := range recs {
			body.Write(r.Data)
		}
	} else {
		key += ".gz"
		zw := gzip.NewWriter(&body)
		for _, r := range recs {
			_, _ = zw.Write(r.Data)
		}
		_ = zw.Close()
	}
	_, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(key), Body: bytes.NewReader(body.Bytes())})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		st.buf = append(recs, st.buf...)
		for _, r := range recs {
			st.bytes += len(r.Data)
		}
		if st.timer == nil {
			st.timer = time.AfterFunc(cfg.BufferInterval, func() { f.deliverOnItsOwn(name) })
		}
		return fmt.Errorf("deliver %d record(s) of stream %s to s3://%s/%s: %w", len(recs), name, cfg.Bucket, key, err)
	}
	f.objects = append(f.objects, key)
	return nil
}

// evalPrefix evaluates a Firehose S3 prefix expression at t (UTC).
func evalPrefix(expr string, t time.Time) (string, error) {
	var out strings.Builder
	rest := expr
	for {
		i := strings.Index(rest, "!{")
		if i < 0 {
			out.WriteString(rest)
			return out.String(), nil
		}
		out.WriteString(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("prefix %q: an expression without its closing brace", expr)
		}
		ns, value, _ := strings.Cut(rest[i+2:i+end], ":")
		switch ns {
		case "timestamp":
			s, err := javaTime(value, t.UTC())
			if err != nil {
				return "", fmt.Errorf("prefix %q: %w", expr, err)
			}
			out.WriteString(s)
		case "firehose":
			if value != "random-string" {
				return "", fmt.Errorf("prefix %q: the double evaluates !{firehose:random-string} only, not %q", expr, value)
			}
			out.WriteString(uuid()[:11])
		default:
			return "", fmt.Errorf("prefix %q: namespace %q is not one the double evaluates", expr, ns)
		}
		rest = rest[i+end+1:]
	}
}

// javaTime formats t with the subset of Java DateTimeFormatter patterns
// archive prefixes use: yyyy, MM, dd, HH, mm, ss, quoted literals and
// punctuation.
func javaTime(pattern string, t time.Time) (string, error) {
	layouts := map[string]string{"yyyy": "2006", "MM": "01", "dd": "02", "HH": "15", "mm": "04", "ss": "05"}
	var out strings.Builder
	for p := pattern; p != ""; {
		if p[0] == '\'' {
			end := strings.IndexByte(p[1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("timestamp pattern %q: an unclosed quote", pattern)
			}
			out.WriteString(p[1 : 1+end])
			p = p[end+2:]
			continue
		}
		matched := false
		for tok, layout := range layouts {
			if strings.HasPrefix(p, tok) {
				out.WriteString(t.Format(layout))
				p = p[len(tok):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if c := p[0]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("timestamp pattern %q: letter %q is not one the double formats", pattern, c)
		}
		out.WriteByte(p[0])
		p = p[1:]
	}
	return out.String(), nil
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func recordID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
