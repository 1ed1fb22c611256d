package stackconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SecretPlaceholder stands in for a `secure:` value, which cannot be
// decrypted offline.
const SecretPlaceholder = "[secret]"

// ReadStackFile reads Pulumi.<stack>.yaml from dir and returns its config the
// way the Pulumi CLI hands it to a program: keys qualified with their
// namespace, scalars as text, structured values as JSON.
func ReadStackFile(dir, stack string) (map[string]string, error) {
	path := filepath.Join(dir, StackFile(stack))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack config: %w", err)
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", StackFile(stack), err)
	}
	raw := make(map[string]string, len(doc.Config))
	for k, v := range doc.Config {
		if !strings.Contains(k, ":") {
			k = Namespace + ":" + k
		}
		s, err := configText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", StackFile(stack), k, err)
		}
		raw[k] = s
	}
	return raw, nil
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
	case map[string]any:
		if _, ok := t["secure"]; ok && len(t) == 1 {
			return SecretPlaceholder, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("not representable as JSON: %w", err)
	}
	return string(b), nil
}
