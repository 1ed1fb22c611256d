package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/portal/jobs"
)

// awsError is an AWS API error as the SDK's (smithy.APIError) shows it.
type awsError struct{ code, msg string }

func (e awsError) Error() string     { return "api error " + e.code + ": " + e.msg }
func (e awsError) ErrorCode() string { return e.code }

// TestStatus: each kind of the service's errors has its HTTP status, also
// when wrapped with what was being done; anything else is a 500 that says
// so in words, never with the error's own text (a file path, the engine's
// or AWS's words), which goes to the log under the reference the message
// names; a failed AWS call names AWS's error code only. The API names the
// field and, for a busy stack, the job; a limit says when to retry.
func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code      int
		field     string
		text, job string
	}{
		{"invalid", &FieldError{Field: "env", Message: "bad"}, 400, "env", "env: bad", ""},
		{"too large", &http.MaxBytesError{Limit: MaxBody}, 413, "body", "body: bodies are limited to 65536 bytes", ""},
		{"not found", &jobs.NotFoundError{Field: "source", Message: "no source"}, 404, "source", "source: no source", ""},
		{"busy", &jobs.BusyError{Stack: "pay-dev", What: "another operation", Job: "j1"}, 409, "", "stack pay-dev is busy with another operation", "j1"},
		{"not yours", &jobs.NotYoursError{Stack: "pay-dev", Owner: "ops"}, 409, "", (&jobs.NotYoursError{Stack: "pay-dev", Owner: "ops"}).Error(), ""},
		{"limited", &jobs.LimitError{What: "team pay runs 2 jobs, its limit"}, 429, "", "team pay runs 2 jobs, its limit; retry later", ""},
		{"upstream", &jobs.UpstreamError{What: "read the DLQ", Err: errors.New("dial tcp: lookup sqs.eu-west-1.amazonaws.com: no such host")}, 502, "", "read the DLQ: AWS could not be reached", ""},
		{"upstream with a code", &jobs.UpstreamError{What: "read the DLQ", Err: fmt.Errorf("operation error SQS: ReceiveMessage: %w",
			awsError{"AccessDenied", "User: arn:aws:iam::123456789012:role/portal is not authorized"})}, 502, "", "read the DLQ: AWS answered AccessDenied", ""},
		{"wrapped", fmt.Errorf("preview: %w", &jobs.LimitError{What: "x"}), 429, "", "x; retry later", ""},
		{"the backend", errors.New("engine: read the tags of stack pay-dev: open /var/lib/hookline/state: not a directory"), 500, "",
			"the portal could not do this: its stack backend or engine failed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			s := &Server{opts: Options{Limits: Limits{RetryAfter: 30 * time.Second}, Log: slog.New(slog.NewTextHandler(&log, nil))}}
			got := s.errorText(tc.err)
			if tc.code < 500 && got != tc.text {
				t.Errorf("page text %q, want %q", got, tc.text)
			}
			if tc.code >= 500 {
				ref := regexp.MustCompile(`^` + regexp.QuoteMeta(tc.text) + ` \(reference ([0-9a-f]{12}) in the portal's log\)$`).FindStringSubmatch(got)
				if ref == nil || !strings.Contains(log.String(), "ref="+ref[1]) || !strings.Contains(log.String(), tc.err.Error()[:20]) {
					t.Errorf("page text %q, want %q with a reference the log holds with the error:\n%s", got, tc.text, log.String())
				}
			}
			w := httptest.NewRecorder()
			s.fail(w, tc.err)
			var body struct{ Error, Field, Job string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.code || body.Field != tc.field || body.Job != tc.job {
				t.Errorf("API: %d %+v, want %d field %q job %q", w.Code, body, tc.code, tc.field, tc.job)
			}
			if ra := w.Header().Get("Retry-After"); (ra == "30") != (tc.code == 429) {
				t.Errorf("Retry-After %q with %d", ra, w.Code)
			}
		})
	}
}
