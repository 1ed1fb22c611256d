package stackconfig

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// A decoding error of encoding/json names an unknown field without its
// path ("json: unknown field \"schem\"") and a type error without the value
// found. locate walks the document beside the Go type it decodes into to
// say both: the full path of the first unknown key with the known key it
// most likely meant, and the value at a path.

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownKey finds the first key of v (sorted, depth first) that type t
// does not have, returning its path below path and the keys t knows there.
func unknownKey(t reflect.Type, v any, path string) (string, []string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "", nil, false // decodes itself: its own error says what is wrong
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", nil, false
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				for name, f := range fields { // encoding/json matches names case-insensitively
					if strings.EqualFold(name, k) {
						ft, ok = f, true
					}
				}
			}
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				sort.Strings(known)
				return path + "." + k, known, true
			}
			if p, known, found := unknownKey(ft, m[k], path+"."+k); found {
				return p, known, true
			}
		}
	case reflect.Slice, reflect.Array:
		items, _ := v.([]any)
		for i, item := range items {
			if p, known, found := unknownKey(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); found {
				return p, known, true
			}
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, known, found := unknownKey(t.Elem(), m[k], path+"."+k); found {
				return p, known, true
			}
		}
	}
	return "", nil, false
}

// jsonFields maps the JSON names of a struct's fields (embedded structs'
// promoted) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// valueAt is the value of v at a dotted path of encoding/json's
// UnmarshalTypeError.Field (struct and map keys; list indices do not
// appear there, so a list is searched for the first element that has the
// rest of the path).
func valueAt(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	key, rest, _ := strings.Cut(path, ".")
	switch t := v.(type) {
	case map[string]any:
		e, ok := t[key]
		if !ok {
			for k, x := range t {
				if strings.EqualFold(k, key) {
					e, ok = x, true
				}
			}
		}
		if !ok {
			return nil, false
		}
		return valueAt(e, rest)
	case []any:
		for _, e := range t {
			if x, ok := valueAt(e, path); ok {
				return x, true
			}
		}
	}
	return nil, false
}

// describe says what a JSON value is, as a type error shows it: the string
// "x", the number 5, true, a list, an object, null.
func describe(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", t)
	case float64:
		return fmt.Sprintf("the number %v", t)
	case bool:
		return fmt.Sprintf("%v", t)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", v)
}

// kindName is what a Go type takes, in the words of a config file.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// suggest is the known name closest to name, when one is close enough to
// be a typo (edit distance at most 2, or a third of the name), else "".
func suggest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD >= 0 && (bestD <= 2 || bestD*3 <= len(name)) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
