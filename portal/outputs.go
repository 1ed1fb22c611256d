package portal

import (
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/hookline/hookline/stackoutputs"
)

// readOutputs decodes a stack's outputs as the engine returns them (each
// value wrapped with whether it is secret) into the one struct of a stack's
// outputs; nil for a stack without outputs (never applied, or destroyed).
// An output the struct does not know is an error: the program and the
// portal disagree.
func readOutputs(outs auto.OutputMap) (*stackoutputs.Stack, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	plain := make(map[string]any, len(outs))
	for k, v := range outs {
		plain[k] = v.Value
	}
	return stackoutputs.Decode(plain)
}

// visibleOutputs is what a caller sees of a stack's outputs: the API keys,
// a secret output, only when the caller is the owning team.
func visibleOutputs(o *stackoutputs.Stack, owner bool) *stackoutputs.Stack {
	if o == nil {
		return nil
	}
	c := *o
	if !owner {
		c.APIKeys = nil
	}
	return &c
}
