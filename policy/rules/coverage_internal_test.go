package rules

import "testing"

// TestEveryMandatoryRuleDeclaresItsInputs: could-not-judge knows what each
// mandatory rule reads, so none of them can skip an unknown silently.
func TestEveryMandatoryRuleDeclaresItsInputs(t *testing.T) {
	var mandatory []string
	for _, r := range ResourceRules {
		if r.Level == Mandatory {
			mandatory = append(mandatory, r.Name)
		}
	}
	for _, r := range StackRules {
		if r.Level == Mandatory {
			mandatory = append(mandatory, r.Name)
		}
	}
	if len(mandatory) < 8 {
		t.Fatalf("found %d mandatory rules: %v", len(mandatory), mandatory)
	}
	for _, name := range mandatory {
		if len(needs[name]) == 0 {
			t.Errorf("mandatory rule %s declares no inputs for %s", name, CouldNotJudge)
		}
	}
}
