package engine

import (
	"context"
	"encoding/json"
	"fmt"
)

// PendingOperation is a resource operation an update had begun and never
// recorded as finished (the process running it died): the resource may or
// may not exist in the cloud.
type PendingOperation struct {
	// Type is what was under way: creating, updating, deleting, reading.
	Type string `json:"type"`
	URN  string `json:"urn"`
}

// Unlock clears what an update killed mid-run leaves on the stack o.Stack,
// the way Pulumi documents for it, through the Automation API:
//
//   - the backend's lock, with Stack.Cancel (`pulumi cancel`): on a DIY
//     backend (file://, s3://) it deletes every lock file of the stack
//     under .pulumi/locks/ (pulumi/pulumi#9100; the backend's
//     CancelCurrentUpdate); on Pulumi Cloud it cancels the update;
//   - its pending operations, by exporting the deployment and importing it
//     unchanged (Stack.Export, Stack.Import: `pulumi stack export`/`import`,
//     which drops every pending operation and warns about each), the repair
//     Pulumi's "Recovering from an interrupted update" page names beside
//     `pulumi refresh`. Nothing in the cloud is read or changed: a resource
//     whose create was under way may exist without being in the state, so
//     Unlock returns the operations it dropped for the caller to name.
//
// Call it only once the process that ran the update is known to be gone:
// Cancel removes whatever lock the stack has. A stack the backend does not
// have is an error wrapping ErrNoStack.
func Unlock(ctx context.Context, o Options) ([]PendingOperation, error) {
	s, err := Select(ctx, o)
	if err != nil {
		return nil, err
	}
	release, err := s.opts.Gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.stack.Cancel(ctx); err != nil {
		return nil, fmt.Errorf("engine: clear the lock of %s: %w", o.Stack, err)
	}
	dep, err := s.stack.Export(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: export %s: %w", o.Stack, err)
	}
	pending, err := pendingOperations(dep.Deployment)
	if err != nil {
		return nil, fmt.Errorf("engine: read the deployment of %s: %w", o.Stack, err)
	}
	if len(pending) == 0 {
		return nil, nil
	}
	if err := s.stack.Import(ctx, dep); err != nil {
		return pending, fmt.Errorf("engine: import %s without its pending operations: %w", o.Stack, err)
	}
	return pending, nil
}

// pendingOperations reads the pending operations of an exported deployment
// (apitype.DeploymentV3's pending_operations).
func pendingOperations(deployment json.RawMessage) ([]PendingOperation, error) {
	if len(deployment) == 0 {
		return nil, nil
	}
	var d struct {
		Pending []struct {
			Type     string `json:"type"`
			Resource struct {
				URN string `json:"urn"`
			} `json:"resource"`
		} `json:"pending_operations"`
	}
	if err := json.Unmarshal(deployment, &d); err != nil {
		return nil, err
	}
	var out []PendingOperation
	for _, p := range d.Pending {
		out = append(out, PendingOperation{Type: p.Type, URN: p.Resource.URN})
	}
	return out, nil
}
