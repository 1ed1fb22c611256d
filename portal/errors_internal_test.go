package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookline/hookline/portal/jobs"
)

// TestStatus: each kind of the service's errors has its HTTP status, also
// when wrapped with what was being done; anything else is a 500 with its
// message. The API names the field and, for a busy stack, the job; a limit
// says when to retry.
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
		{"upstream", &jobs.UpstreamError{What: "read the DLQ", Err: errors.New("throttled")}, 502, "", "read the DLQ: throttled", ""},
		{"wrapped", fmt.Errorf("preview: %w", &jobs.LimitError{What: "x"}), 429, "", "x; retry later", ""},
		{"the backend", errors.New("engine: read the tags of stack pay-dev: not a directory"), 500, "", "engine: read the tags of stack pay-dev: not a directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorText(tc.err); got != tc.text {
				t.Errorf("page text %q, want %q", got, tc.text)
			}
			s := &Server{opts: Options{Limits: Limits{RetryAfter: 30 * time.Second}}}
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
