package main

import (
	"slices"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/processor"
)

// TestShippedProcessorsMatchTheContract: the processors this handler
// registers are exactly the kinds the stack config accepts
// (contract.Processors). A team that registers a processor without declaring
// it, or declares one it never imported in processors.go, fails here before
// any stack can name a processor the function lacks.
func TestShippedProcessorsMatchTheContract(t *testing.T) {
	registered := processor.Names()
	declared := slices.Sorted(slices.Values(contract.Processors))
	for _, k := range registered {
		if !slices.Contains(declared, k) {
			t.Errorf("processor %q is registered in the handler but missing from contract.Processors: add it there so the stack config accepts it", k)
		}
	}
	for _, k := range declared {
		if !slices.Contains(registered, k) {
			t.Errorf("contract.Processors declares %q but the handler registers no such processor: import its package in handler/processors.go", k)
		}
	}
}
