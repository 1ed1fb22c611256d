package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
)

// ParseConfigFile reads a policy pack config file, the file
// `pulumi preview --policy-pack-config` takes: a JSON object keyed by policy
// name whose values are an enforcement level ("advisory") or an object with
// an optional "enforcementLevel" and the policy's properties. The offline
// plan and the portal read the same file the engine is given, so all three
// judge by the same bounds. An unknown policy, level or property is an error.
func ParseConfigFile(data []byte) (Config, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("policy config: want a JSON object keyed by policy name: %w", err)
	}
	keys := map[string][]string{}
	for _, r := range ResourceRules {
		keys[r.Name] = r.ConfigKeys
	}
	for _, r := range StackRules {
		keys[r.Name] = nil
	}
	names := make([]string, 0, len(doc))
	for n := range doc {
		names = append(names, n)
	}
	sort.Strings(names)
	c := Config{Levels: map[string]string{}}
	for _, name := range names {
		allowed, ok := keys[name]
		if !ok {
			return Config{}, fmt.Errorf("policy config: unknown policy %q", name)
		}
		raw := doc[name]
		var lvl string
		if json.Unmarshal(raw, &lvl) == nil {
			if err := setLevel(&c, name, lvl); err != nil {
				return Config{}, err
			}
			continue
		}
		var props map[string]json.RawMessage
		if err := json.Unmarshal(raw, &props); err != nil {
			return Config{}, fmt.Errorf("policy config: %s: want a level or an object: %w", name, err)
		}
		if l, ok := props["enforcementLevel"]; ok {
			if err := json.Unmarshal(l, &lvl); err != nil {
				return Config{}, fmt.Errorf("policy config: %s.enforcementLevel: want a string", name)
			}
			if err := setLevel(&c, name, lvl); err != nil {
				return Config{}, err
			}
			delete(props, "enforcementLevel")
		}
		for k := range props {
			if !slices.Contains(allowed, k) {
				return Config{}, fmt.Errorf("policy config: %s takes no property %q (it takes %v)", name, k, allowed)
			}
		}
		b, _ := json.Marshal(props)
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("policy config: %s: %w", name, err)
		}
	}
	for k, n := range map[string]int{"minReceiveCount": c.MinReceiveCount, "maxReceiveCount": c.MaxReceiveCount} {
		if n != 0 && (n < Defaults().MinReceiveCount || n > Defaults().MaxReceiveCount) {
			return Config{}, fmt.Errorf("policy config: max-receive-count.%s %d: may only narrow the stack config's bounds, %d to %d", k, n, Defaults().MinReceiveCount, Defaults().MaxReceiveCount)
		}
	}
	for k, v := range map[string]float64{"maxThrottleRate": c.MaxThrottleRate, "maxThrottleBurst": c.MaxThrottleBurst} {
		if v < 0 || (v > 0 && v < 1) {
			return Config{}, fmt.Errorf("policy config: throttle-bound.%s %g: want at least 1", k, v)
		}
	}
	if c.MinReceiveCount != 0 && c.MaxReceiveCount != 0 && c.MinReceiveCount > c.MaxReceiveCount {
		return Config{}, fmt.Errorf("policy config: minReceiveCount %d is above maxReceiveCount %d", c.MinReceiveCount, c.MaxReceiveCount)
	}
	return c, nil
}

// LoadConfigFile reads ParseConfigFile's format from path; an empty path is
// the defaults.
func LoadConfigFile(path string) (Config, error) {
	if path == "" {
		return Config{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read policy config: %w", err)
	}
	return ParseConfigFile(data)
}

func setLevel(c *Config, name, lvl string) error {
	switch lvl {
	case Mandatory, Advisory, Disabled:
		c.Levels[name] = lvl
		return nil
	}
	return fmt.Errorf("policy config: %s: enforcement level %q (want mandatory, advisory or disabled)", name, lvl)
}
