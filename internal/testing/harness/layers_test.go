package harness_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/testing/harness"
)

const module = "github.com/hookline/hookline"

// layers are the module's layers, lowest first; docs/layout.md's table
// states the same. A package may import its own layer or lower ones, never a
// higher one.
var layers = []struct {
	name     string
	prefixes []string
}{
	{"foundation", []string{"contract", "stackconfig", "stackoutputs"}},
	{"product", []string{"infra", "handler", "policy", "deploy"}},
	{"local stand-ins", []string{"internal/local"}},
	{"applications", []string{"plan", "ops", "engine", "portal", "cmd"}},
	{"test-only", []string{"internal/testing"}},
}

// layerOf returns the layer index of a package path relative to the module
// (the root package, the Pulumi program's main, is an application).
func layerOf(rel string) int {
	if rel == "" {
		return 3
	}
	for i, l := range layers {
		for _, p := range l.prefixes {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return i
			}
		}
	}
	return -1
}

// peerAllowed lists the imports allowed between the product's three parts:
// the programs ship what they build, so infra and deploy (the portal's
// program, which builds hookline into its image) use the handler's build,
// and nothing else crosses between infra, handler, policy and deploy.
func peerAllowed(from, to string) bool {
	top := func(s string) string { t, _, _ := strings.Cut(s, "/"); return t }
	return top(from) == top(to) || ((top(from) == "infra" || top(from) == "deploy") && to == "handler/build")
}

// TestImportsRunOneWay: no package imports a higher layer, nothing shipped
// imports the test-only packages, and the product's parts stay apart.
func TestImportsRunOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = harness.ProjectDir(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return "", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	packages := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from, _ := rel(fields[0])
		lf := layerOf(from)
		if lf < 0 {
			t.Errorf("package %s is in no layer: place it (and say where in docs/layout.md's table)", fields[0])
			continue
		}
		packages++
		for _, imp := range fields[1:] {
			to, ours := rel(imp)
			if !ours {
				continue
			}
			lt := layerOf(to)
			switch {
			case lt > lf:
				t.Errorf("%s (%s) imports %s (%s): imports run from higher layers to lower ones only", from, layers[lf].name, to, layers[lt].name)
			case lt == 1 && lf == 1 && !peerAllowed(from, to):
				t.Errorf("%s imports %s: infra, handler and policy stay apart (infra may use handler/build only)", from, to)
			}
		}
	}
	if packages < 20 {
		t.Fatalf("go list saw %d packages; want the whole module", packages)
	}
}
