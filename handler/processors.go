package main

// The processors this handler ships. Each package registers its processors
// from an init function (processor.Register); a team adding its own imports
// its package here for that side effect, e.g.
//
//	_ "github.com/hookline/hookline/handler/processor/billing"
//
// and adds the kind to contract.Processors, the list the stack config
// accepts. TestShippedProcessorsMatchTheContract fails until both agree.
import (
	_ "github.com/hookline/hookline/handler/processor" // log, forward
)
