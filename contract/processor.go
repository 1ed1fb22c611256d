package contract

import "slices"

// ProcessorKind names a processor the handler ships: what a source's
// processor.type says in the stack config and what the handler's registry
// (handler/processor) builds.
type ProcessorKind string

// The built-in processors.
const (
	// ProcessorLog acknowledges; the handler's outcome line is the record.
	ProcessorLog ProcessorKind = "log"
	// ProcessorForward POSTs the verified body to an HTTPS URL, re-signed.
	ProcessorForward ProcessorKind = "forward"
)

// Processors lists every processor kind the handler ships: the one list the
// stack config accepts. A team adding its own processor registers it in the
// handler (processor.Register from an init function, its package imported in
// handler/processors.go) and adds its kind here; a handler test fails while
// the two disagree, so a configuration can never name a processor the
// deployed function lacks.
var Processors = []ProcessorKind{ProcessorLog, ProcessorForward}

// Ships reports whether the handler ships processor kind k.
func (k ProcessorKind) Ships() bool { return slices.Contains(Processors, k) }
