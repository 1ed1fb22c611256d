package engine_test

import (
	"errors"
	"testing"

	"github.com/hookline/hookline/engine"
)

// TestSelectNeverCreates: Select of a stack the backend does not have is
// ErrNoStack and leaves the backend without it (Open would create it);
// Select of one it has opens it and reads its config.
func TestSelectNeverCreates(t *testing.T) {
	o := bare(t, "dev")
	c := shortCtx(t)
	if _, err := engine.Select(c, o); !errors.Is(err, engine.ErrNoStack) {
		t.Fatalf("Select of a missing stack: %v, want ErrNoStack", err)
	}
	sums, err := engine.List(c, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 0 {
		t.Fatalf("Select left %d stacks in the backend", len(sums))
	}
	o.Config = map[string]string{"hookline:region": "eu-west-1"}
	if _, err := engine.Open(c, o); err != nil {
		t.Fatal(err)
	}
	o.Config = nil
	st, err := engine.Select(c, o)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := st.Config(c)
	if err != nil {
		t.Fatal(err)
	}
	if raw["hookline:region"] != "eu-west-1" {
		t.Errorf("the selected stack's config is %v", raw)
	}
}
