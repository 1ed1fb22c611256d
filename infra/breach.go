package infra

import (
	"fmt"
	"sort"
	"strings"
)

// Breach names a deliberate guard-rail violation the components can inject,
// for the tests of the policy pack only: they prove each rule blocks what it
// should, on the same components that build real stacks. Nothing in a stack
// config can ask for one.
type Breach string

// The breaches, each against one rule.
const (
	BreachStandardQueue    Breach = "standard-queue"    // fifo-ordering
	BreachStandardDLQ      Breach = "standard-dlq"      // dlq-required (a FIFO queue's DLQ is standard)
	BreachNoRedrive        Breach = "no-redrive"        // dlq-required
	BreachTLS10            Breach = "tls-1-0"           // tls-only
	BreachEdgeDomain       Breach = "edge-domain"       // tls-only
	BreachOpenMethod       Breach = "open-method"       // authorized-methods
	BreachNoPartialBatch   Breach = "no-partial-batch"  // partial-batch-responses
	BreachShortVisibility  Breach = "short-visibility"  // visibility-timeout
	BreachNoQueuePolicy    Breach = "no-queue-policy"   // tls-only-coverage
	BreachNoRetention      Breach = "no-log-retention"  // log-retention
	BreachReceiveRoute     Breach = "receive-route"     // no-receive-route
	BreachUnencryptedQueue Breach = "unencrypted-queue" // encryption-at-rest
)

// Breaches is a set of breaches to inject.
type Breaches map[Breach]bool

// AllBreaches lists every breach.
var AllBreaches = []Breach{
	BreachStandardQueue, BreachStandardDLQ, BreachNoRedrive, BreachTLS10, BreachEdgeDomain, BreachOpenMethod,
	BreachNoPartialBatch, BreachShortVisibility, BreachNoQueuePolicy, BreachNoRetention, BreachReceiveRoute,
	BreachUnencryptedQueue,
}

// ParseBreaches reads breach names.
func ParseBreaches(names []string) (Breaches, error) {
	b := Breaches{}
	for _, n := range names {
		found := false
		for _, k := range AllBreaches {
			if string(k) == n {
				b[k], found = true, true
			}
		}
		if !found {
			all := make([]string, len(AllBreaches))
			for i, k := range AllBreaches {
				all[i] = string(k)
			}
			sort.Strings(all)
			return nil, fmt.Errorf("unknown violation %q (one of %s)", n, strings.Join(all, ", "))
		}
	}
	return b, nil
}

// has is false on a nil set.
func (b Breaches) has(k Breach) bool { return b != nil && b[k] }
