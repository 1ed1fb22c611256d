package contract

// The handler's metrics (CloudWatch Embedded Metric Format) that the infra
// code alarms on: one name on both sides.
const (
	// MetricNamespace is the CloudWatch namespace of hookline's metrics.
	MetricNamespace = "hookline"
	// MetricForged counts records of an open (auth signature) source that
	// failed verification and were dropped; dimension Source.
	MetricForged = "Forged"
	// MetricArchiveFailed counts records the consumer could not archive
	// (retried, never acknowledged) and batches whose outcomes were not
	// archived; dimension Source.
	MetricArchiveFailed = "ArchiveFailed"
	// MetricOK counts records processed (or acknowledged as duplicates);
	// dimension Source.
	MetricOK = "OK"
	// ReasonArchiveUnavailable is the retry reason of a record that could
	// not be archived.
	ReasonArchiveUnavailable = "archive-unavailable"
)

// MetricCounts are the count metrics the consumer writes per invocation
// (dimension Source), in the order of its metrics document; only those
// that are not zero are in a given document. Rejected is also written by
// Source and Reason.
var MetricCounts = []string{MetricOK, "Retried", "Rejected", "Duplicates", MetricForged, "GaveUp", MetricArchiveFailed}
