// Package stackoutputs is the shape of a hookline stack's outputs: one
// struct, keyed by source name, written by the Pulumi program (infra) and
// read back by the hookline CLI and the portal. The JSON names are the
// stack output names; Decode refuses outputs that do not fit the struct, so
// a renamed key fails a test instead of reading as "not deployed".
package stackoutputs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Stack is every output of one stack.
type Stack struct {
	Environment string `json:"environment"`
	Region      string `json:"region"`
	// Ingress is "rest" or "http".
	Ingress string `json:"ingress"`
	// Endpoint is the base URL senders use: the custom domain when there is
	// one, else the stage's invoke URL.
	Endpoint  string `json:"endpoint"`
	APIID     string `json:"apiId"`
	InvokeURL string `json:"invokeUrl"`
	Stage     string `json:"stage"`
	// RestAPIID is the REST API's id (rest only; the same as APIID).
	RestAPIID string `json:"restApiId,omitempty"`
	// APIKeys maps each apiKey source to its key (rest only; secret).
	APIKeys       map[string]string `json:"apiKeys,omitempty"`
	AlarmTopicArn string            `json:"alarmTopicArn"`
	DashboardName string            `json:"dashboardName"`
	// SealKey is the ARN of the stack's seal key, a KMS HMAC key: redrive
	// seals each re-send's receipt time with it (contract.Seal). Empty on a
	// stack deployed before hookline sealed re-sends.
	SealKey string `json:"sealKey,omitempty"`
	// ArchiveBucket is the bucket every delivery is archived to (empty:
	// archiving is off); ArchiveTable is its Glue table ("database.table")
	// and ArchiveWorkgroup the Athena workgroup that queries it.
	ArchiveBucket    string `json:"archiveBucket,omitempty"`
	ArchiveTable     string `json:"archiveTable,omitempty"`
	ArchiveWorkgroup string `json:"archiveWorkgroup,omitempty"`
	// Sources maps each source's name to what operators need of it.
	Sources map[string]Source `json:"sources"`
}

// Source is one source's outputs.
type Source struct {
	// URL is where its sender posts: Endpoint + "/" + the source's name.
	URL          string `json:"url"`
	QueueURL     string `json:"queueUrl"`
	QueueArn     string `json:"queueArn"`
	DLQURL       string `json:"dlqUrl"`
	DLQArn       string `json:"dlqArn"`
	FunctionName string `json:"functionName"`
	// Auth is the source's auth kind (stackconfig's auth.type).
	Auth string `json:"auth"`
	// ArchiveStream is the Firehose stream its consumer archives to.
	ArchiveStream string `json:"archiveStream,omitempty"`
}

// Output names the program writes and readers look up.
const (
	KeyEnvironment   = "environment"
	KeyRegion        = "region"
	KeyIngress       = "ingress"
	KeyEndpoint      = "endpoint"
	KeyAPIID         = "apiId"
	KeyInvokeURL     = "invokeUrl"
	KeyStage         = "stage"
	KeyRestAPIID     = "restApiId"
	KeyAPIKeys       = "apiKeys"
	KeyAlarmTopicArn = "alarmTopicArn"
	KeyDashboardName = "dashboardName"
	KeySealKey       = "sealKey"
	KeyArchiveBucket = "archiveBucket"
	KeyArchiveTable  = "archiveTable"
	KeyArchiveWG     = "archiveWorkgroup"
	KeySources       = "sources"

	KeyURL           = "url"
	KeyQueueURL      = "queueUrl"
	KeyQueueArn      = "queueArn"
	KeyDLQURL        = "dlqUrl"
	KeyDLQArn        = "dlqArn"
	KeyFunctionName  = "functionName"
	KeyAuth          = "auth"
	KeyArchiveStream = "archiveStream"
)

// Decode reads a stack's outputs as `pulumi stack output --json` prints them
// (or the Automation API's values, unwrapped): a map of output name to value.
// An output the struct does not know is an error, naming it.
func Decode(outputs map[string]any) (*Stack, error) {
	raw, err := json.Marshal(outputs)
	if err != nil {
		return nil, fmt.Errorf("read stack outputs: %w", err)
	}
	return DecodeJSON(raw)
}

// DecodeJSON reads the JSON of a stack's outputs.
func DecodeJSON(raw []byte) (*Stack, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var s Stack
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("read stack outputs: %w", err)
	}
	return &s, nil
}

// ErrNoSource is returned by Source for a source the stack does not have.
type ErrNoSource struct {
	Name string
	// Known lists the sources the stack has, sorted.
	Known []string
}

func (e *ErrNoSource) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("the deployed stack has no source %q (it has none: is it deployed? run pulumi up)", e.Name)
	}
	return fmt.Sprintf("the deployed stack has no source %q (it has %s)", e.Name, strings.Join(e.Known, ", "))
}

// Source returns the outputs of one source, or *ErrNoSource.
func (s *Stack) Source(name string) (Source, error) {
	if src, ok := s.Sources[name]; ok {
		return src, nil
	}
	return Source{}, &ErrNoSource{Name: name, Known: s.SourceNames()}
}

// SourceNames lists the stack's sources, sorted.
func (s *Stack) SourceNames() []string {
	names := make([]string, 0, len(s.Sources))
	for n := range s.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
