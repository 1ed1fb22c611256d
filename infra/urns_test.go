package infra_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// aliasMocks is the offline model's mocks, recording for every registered
// resource its URN and the URNs it answers to through its aliases, as the
// engine computes them from the register RPC.
type aliasMocks struct {
	*awsmodel.Mocks

	mu        sync.Mutex
	resources map[string]registered // by URN
}

// registered is one resource as the engine would know it.
type registered struct {
	urn, typ string
	custom   bool
	// aliases are the URNs the resource also answers to: a state entry
	// under one of them is this resource, moved, not a resource to delete.
	aliases []string
}

func newAliasMocks(stack, region string) *aliasMocks {
	return &aliasMocks{
		Mocks:     awsmodel.NewMocks(stackconfig.Namespace, stack, region),
		resources: map[string]registered{},
	}
}

func (m *aliasMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if rpc := args.RegisterRPC; rpc != nil {
		m.mu.Lock()
		r := m.register(rpc, args.Custom)
		m.resources[r.urn] = r
		m.mu.Unlock()
	}
	return m.Mocks.NewResource(args)
}

// engineURN is a resource's URN as the engine writes it: stack, project,
// its parent's type chain (none when the parent is the stack itself), its
// type and name.
func engineURN(stack, project, parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project), parentType, tokens.Type(typ), name))
}

// register computes what the engine makes of a registration's aliases
// (pkg/resource/deploy, collapseAliasToUrn and the parent's aliases): a
// full URN as it is; a spec with its unset parts (name, type, project,
// stack, parent) taken from the resource itself; then, for a child of a
// parent that has aliases, the child under each of them. m.mu is held.
func (m *aliasMocks) register(rpc *pulumirpc.RegisterResourceRequest, custom bool) registered {
	typ, name, parent := rpc.GetType(), rpc.GetName(), rpc.GetParent()
	r := registered{urn: engineURN(m.Stack, m.Project, parent, typ, name), typ: typ, custom: custom}
	for _, a := range rpc.GetAliases() {
		if u := a.GetUrn(); u != "" {
			r.aliases = append(r.aliases, u)
			continue
		}
		spec := a.GetSpec()
		if spec == nil {
			continue
		}
		n, t, p := spec.GetName(), spec.GetType(), parent
		if n == "" {
			n = name
		}
		if t == "" {
			t = typ
		}
		if pu := spec.GetParentUrn(); pu != "" {
			p = pu
		} else if spec.GetNoParent() {
			p = ""
		}
		stack, project := m.Stack, m.Project
		if spec.GetStack() != "" {
			stack = spec.GetStack()
		}
		if spec.GetProject() != "" {
			project = spec.GetProject()
		}
		r.aliases = append(r.aliases, engineURN(stack, project, p, t, n))
	}
	if p, ok := m.resources[parent]; ok {
		for _, pa := range p.aliases {
			r.aliases = append(r.aliases, engineURN(m.Stack, m.Project, pa, typ, name))
		}
	}
	return r
}

// runWithAliases runs the program for a stack of the project under aliasMocks.
func runWithAliases(t *testing.T, stack string) map[string]registered {
	t.Helper()
	raw, secret, err := stackconfig.ReadStackFile("..", stack)
	if err != nil {
		t.Fatal(err)
	}
	c, err := stackconfig.Load(stack, raw, true, secret)
	if err != nil {
		t.Fatal(err)
	}
	mocks := newAliasMocks(stack, c.Region)
	err = pulumi.RunErr(infra.Program(infra.ProgramOptions{Handler: harness.StubHandler, APIGatewayAccount: awsmodel.APIGatewayAccount}),
		pulumi.WithMocks(stackconfig.Namespace, stack, mocks),
		func(info *pulumi.RunInfo) { info.Config, info.ConfigSecretKeys = raw, secret })
	if err != nil {
		t.Fatalf("run %s: %v", stack, err)
	}
	return mocks.resources
}

// TestURNsOfExistingStacksStay: every URN a deployed dev or prod stack has
// in its state (the golden files, recorded before the components were
// reorganised) is still a resource's URN or one of its aliases, so the
// engine moves that resource instead of deleting it and creating a new,
// empty one (a queue's messages lost). No URN is claimed twice, and no
// cloud resource is new: only components (which own nothing in AWS) may
// be. Component URNs are in the golden files too and must stay.
//
// go test ./infra/ -run TestURNsOfExistingStacksStay -update rewrites the
// golden files: do that only for a change meant to create or delete
// resources, never to make a move pass.
func TestURNsOfExistingStacksStay(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			resources := runWithAliases(t, stack)
			golden := filepath.Join("testdata", "urns-"+stack+".txt")
			if *updateGolden {
				var urns []string
				for u := range resources {
					urns = append(urns, u)
				}
				slices.Sort(urns)
				if err := os.WriteFile(golden, []byte(strings.Join(urns, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			claimed := map[string][]string{} // old URN -> the resources answering to it
			for u, r := range resources {
				claimed[u] = append(claimed[u], u)
				for _, a := range r.aliases {
					if a != u {
						claimed[a] = append(claimed[a], u)
					}
				}
			}
			old := map[string]bool{}
			for _, u := range strings.Fields(string(b)) {
				old[u] = true
				switch by := claimed[u]; len(by) {
				case 0:
					t.Errorf("no resource answers to %s: the engine would delete it", u)
				case 1:
				default:
					t.Errorf("%s is claimed by %d resources: %v", u, len(by), by)
				}
			}
			for u, r := range resources {
				known := old[u]
				for _, a := range r.aliases {
					known = known || old[a]
				}
				if !known && r.custom {
					t.Errorf("%s (%s) is new: the engine would create it", u, r.typ)
				}
			}
		})
	}
}

// TestAliasMocksComputeURNsAsTheEngine: the aliases the golden test relies
// on, as the SDK sends them (alias specs) and the engine collapses them.
func TestAliasMocksComputeURNsAsTheEngine(t *testing.T) {
	type comp struct{ pulumi.ResourceState }
	const root = "urn:pulumi:dev::hookline::"
	cases := []struct {
		name string
		// child registers the resource under test below parent, which
		// sits in old (both components of the stack).
		child func(ctx *pulumi.Context, old, parent pulumi.Resource) error
		urn   string
		want  []string
	}{
		{"no alias", func(ctx *pulumi.Context, _, parent pulumi.Resource) error {
			return ctx.RegisterComponentResource("t:m:Leaf", "leaf", &comp{}, pulumi.Parent(parent))
		}, root + "t:m:Old$t:m:New$t:m:Leaf::leaf", nil},
		{"moved under a new parent", func(ctx *pulumi.Context, old, parent pulumi.Resource) error {
			return ctx.RegisterComponentResource("t:m:Leaf", "leaf", &comp{}, pulumi.Parent(parent),
				pulumi.Aliases([]pulumi.Alias{{Parent: old}}))
		}, root + "t:m:Old$t:m:New$t:m:Leaf::leaf", []string{root + "t:m:Old$t:m:Leaf::leaf"}},
		{"renamed", func(ctx *pulumi.Context, _, parent pulumi.Resource) error {
			return ctx.RegisterComponentResource("t:m:Leaf", "leaf", &comp{}, pulumi.Parent(parent),
				pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String("old-leaf")}}))
		}, root + "t:m:Old$t:m:New$t:m:Leaf::leaf", []string{root + "t:m:Old$t:m:New$t:m:Leaf::old-leaf"}},
		{"moved from the stack", func(ctx *pulumi.Context, _, parent pulumi.Resource) error {
			return ctx.RegisterComponentResource("t:m:Leaf", "leaf", &comp{}, pulumi.Parent(parent),
				pulumi.Aliases([]pulumi.Alias{{NoParent: pulumi.Bool(true)}}))
		}, root + "t:m:Old$t:m:New$t:m:Leaf::leaf", []string{root + "t:m:Leaf::leaf"}},
		{"child of a retyped parent", func(ctx *pulumi.Context, old, _ pulumi.Resource) error {
			p := &comp{}
			if err := ctx.RegisterComponentResource("t:m:Mid", "mid", p, pulumi.Parent(old),
				pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String("t:m:OldMid")}})); err != nil {
				return err
			}
			return ctx.RegisterComponentResource("t:m:Leaf", "leaf", &comp{}, pulumi.Parent(p))
		}, root + "t:m:Old$t:m:Mid$t:m:Leaf::leaf", []string{root + "t:m:Old$t:m:OldMid$t:m:Leaf::leaf"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mocks := newAliasMocks("dev", "eu-west-1")
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				old, parent := &comp{}, &comp{}
				if err := ctx.RegisterComponentResource("t:m:Old", "old", old); err != nil {
					return err
				}
				if err := ctx.RegisterComponentResource("t:m:New", "new", parent, pulumi.Parent(old)); err != nil {
					return err
				}
				return tc.child(ctx, old, parent)
			}, pulumi.WithMocks(stackconfig.Namespace, "dev", mocks))
			if err != nil {
				t.Fatal(err)
			}
			r, ok := mocks.resources[tc.urn]
			if !ok {
				t.Fatalf("no resource %s in %v", tc.urn, mocks.resources)
			}
			if !slices.Equal(r.aliases, tc.want) {
				t.Errorf("aliases %v, want %v", r.aliases, tc.want)
			}
		})
	}
}
