package stackconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SecretPlaceholder stands in for a `secure:` value, which cannot be
// decrypted offline.
const SecretPlaceholder = "[secret]"

// ReadStackFile reads Pulumi.<stack>.yaml from dir and returns its config the
// way the Pulumi CLI hands it to a program: keys qualified with their
// namespace, scalars as text, structured values as JSON. Encrypted (secure)
// values cannot be read offline: they become SecretPlaceholder, and their
// keys are returned as secret keys.
func ReadStackFile(dir, stack string) (map[string]string, []string, error) {
	path := filepath.Join(dir, StackFile(stack))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read stack config: %w", err)
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", StackFile(stack), err)
	}
	raw := make(map[string]string, len(doc.Config))
	var secretKeys []string
	for k, v := range doc.Config {
		if !strings.Contains(k, ":") {
			k = Namespace + ":" + k
		}
		v, secret := redactSecure(v)
		if secret {
			secretKeys = append(secretKeys, k)
		}
		s, err := configText(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", StackFile(stack), k, err)
		}
		raw[k] = s
	}
	sort.Strings(secretKeys)
	return raw, secretKeys, nil
}

// redactSecure replaces every {secure: …} value, at any depth, with
// SecretPlaceholder and reports whether there was one.
func redactSecure(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["secure"]; ok && len(t) == 1 {
			return SecretPlaceholder, true
		}
		out, found := make(map[string]any, len(t)), false
		for k, e := range t {
			r, s := redactSecure(e)
			out[k], found = r, found || s
		}
		return out, found
	case []any:
		out, found := make([]any, len(t)), false
		for i, e := range t {
			r, s := redactSecure(e)
			out[i], found = r, found || s
		}
		return out, found
	default:
		return v, false
	}
}

func configText(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("not representable as JSON: %w", err)
	}
	return string(b), nil
}
