package awsmodel

import (
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Registered is a resource the program registered under the mocks.
type Registered struct {
	URN    string
	Type   string
	Name   string
	Parent string // URN, empty when the parent is the stack
	Custom bool
	ID     string
	Inputs resource.PropertyMap
	State  resource.PropertyMap
}

// Mocks implements pulumi.MockResourceMonitor with the offline model and
// records every registration, in order.
type Mocks struct {
	Model   Model
	Project string
	Stack   string

	mu         sync.Mutex
	registered []Registered
}

// NewMocks returns mocks for project/stack in region.
func NewMocks(project, stack, region string) *Mocks {
	return &Mocks{Model: New(region), Project: project, Stack: stack}
}

// NewResource computes a resource's state with the offline model.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent := ""
	if args.RegisterRPC != nil {
		parent = args.RegisterRPC.GetParent()
	}
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	} else {
		parent = ""
	}
	urn := string(resource.NewURN(tokens.QName(m.Stack), tokens.PackageName(m.Project), parentType,
		tokens.Type(args.TypeToken), args.Name))

	reg := Registered{URN: urn, Type: args.TypeToken, Name: args.Name, Parent: parent, Custom: args.Custom, Inputs: args.Inputs}
	if args.Custom {
		id, state, err := m.Model.Compute(args.TypeToken, args.Name, urn, args.Inputs)
		if err != nil {
			return "", nil, err
		}
		reg.ID, reg.State = id, state
	}
	m.mu.Lock()
	m.registered = append(m.registered, reg)
	m.mu.Unlock()
	if !args.Custom {
		return "", args.Inputs, nil
	}
	return reg.ID, reg.State, nil
}

// Call answers invokes with the offline model; one it does not model is an
// error, a change the model must learn about.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	out, err := m.Model.Invoke(args.Token)
	if err != nil {
		return nil, err
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// Registered returns every registered resource, sorted by URN so that
// output is stable whatever the registration order.
func (m *Mocks) Registered() []Registered {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Registered(nil), m.registered...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}
