package contract

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAccessLogFormat: the format is a JSON object API Gateway accepts (it
// carries the request id, AWS's one requirement) with a $context variable
// per field, and the priced sample has the same fields.
func TestAccessLogFormat(t *testing.T) {
	for _, ingress := range Ingresses {
		var format, sample map[string]string
		if err := json.Unmarshal([]byte(AccessLogFormat(ingress)), &format); err != nil {
			t.Fatalf("%s: %v", ingress, err)
		}
		if format["requestId"] != "$context.requestId" {
			t.Errorf("%s: no $context.requestId: %v", ingress, format)
		}
		for k, v := range format {
			if !strings.HasPrefix(v, "$context.") {
				t.Errorf("%s: field %s is %q", ingress, k, v)
			}
		}
		if err := json.Unmarshal([]byte(AccessLogSample(ingress, "payments")), &sample); err != nil {
			t.Fatalf("%s sample: %v", ingress, err)
		}
		if len(sample) != len(format) || !strings.Contains(sample["route"], "/payments") {
			t.Errorf("%s sample %v for format %v", ingress, sample, format)
		}
	}
}
