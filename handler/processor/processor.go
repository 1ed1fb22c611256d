// Package processor is where a webhook's business logic plugs in. A source
// names its processor in the stack config (processor.type); the handler looks
// it up in a registry that holds the built-in "log" and "forward" and any
// processor a team registers.
//
// Adding a processor: write a type with Process(ctx, contract.Message) error
// in a package of your own, register a Factory for it from an init function
// (processor.Register("billing", newBilling)), import that package for its
// side effect in handler/processors.go, add "billing" to contract.Processors
// (the list the stack config accepts), and set processor.type: billing on the
// source. A handler test fails until the registry and that list agree. Process returns nil when done, an error wrapped with Permanent when
// the message can never succeed (it is moved to the DLQ with the reason, for
// inspection), and any other error to have SQS deliver it again.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hookline/hookline/contract"
)

// Processor handles one verified, deduplicated message.
type Processor interface {
	Process(ctx context.Context, m contract.Message) error
}

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct {
	// Reason is a short, loggable name (e.g. "forward-4xx").
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a permanent failure with a short reason.
func Permanent(reason string, err error) error { return &PermanentError{Reason: reason, Err: err} }

// RetryError is a transient failure whose destination asked not to be
// called again for After (an HTTP Retry-After): the consumer waits at least
// that long, up to its retry policy's maximum delay.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() + " (retry after " + e.After.String() + ")" }
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter wraps err as a transient failure to retry no sooner than after.
func RetryAfter(after time.Duration, err error) error { return &RetryError{After: after, Err: err} }

// Secrets reads secrets by parameter name (see handler/secrets).
type Secrets interface {
	Get(ctx context.Context, name string) ([]string, error)
}

// Deps are what a processor may use.
type Deps struct {
	Secrets Secrets
	HTTP    *http.Client
	Log     *slog.Logger
	Now     func() time.Time
}

// Factory builds a processor for a source.
type Factory func(cfg contract.HandlerConfig, deps Deps) (Processor, error)

var (
	mu        sync.RWMutex
	factories = map[contract.ProcessorKind]Factory{}
)

// Register makes a processor available under name. Registering a name twice
// panics: two processors answering to one name is a build mistake.
func Register(name contract.ProcessorKind, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("processor: " + string(name) + " registered twice")
	}
	factories[name] = f
}

// Names lists the registered processors.
func Names() []contract.ProcessorKind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]contract.ProcessorKind, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ErrUnknown is returned for a processor name nobody registered.
var ErrUnknown = errors.New("unknown processor")

// New builds the source's processor.
func New(cfg contract.HandlerConfig, deps Deps) (Processor, error) {
	mu.RLock()
	f, ok := factories[cfg.Processor]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %v)", ErrUnknown, cfg.Processor, Names())
	}
	return f(cfg, deps)
}

func init() {
	Register(contract.ProcessorLog, func(contract.HandlerConfig, Deps) (Processor, error) { return Log{}, nil })
	Register(contract.ProcessorForward, NewForward)
}

// Log is the built-in processor that does nothing but acknowledge: the
// handler's per-record outcome line (source, group, ids, outcome, latency)
// is the structured record.
type Log struct{}

// Process acknowledges the message.
func (Log) Process(context.Context, contract.Message) error { return nil }

// Func is a function as a Processor.
type Func func(ctx context.Context, m contract.Message) error

// Process calls f.
func (f Func) Process(ctx context.Context, m contract.Message) error { return f(ctx, m) }
