package dag

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file implements DVC's templating: ${...} substitution from
// params.yaml and vars, and the expansion of foreach and matrix groups into
// named stages. The names must be DVC's own, byte for byte, because users
// type them as `dvc repro` targets and dvc.lock records them.

// scope holds the values ${...} expressions resolve against. DVC loads
// params.yaml first, then merges top-level vars, then stage vars, then the
// item and key of a group member.
type scope map[string]any

// with returns a copy of s with extra top-level values set; item and key
// shadow whatever params.yaml or vars call by those names, as in DVC.
func (s scope) with(extra map[string]any) scope {
	out := make(scope, len(s)+len(extra))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var (
	exprRe  = regexp.MustCompile(`\\?\$\{([^{}]*)\}`)
	wholeRe = regexp.MustCompile(`^\$\{([^{}]*)\}$`)
)

// lookup resolves a path such as item.lst[0].x or item.lst.0.
func (s scope) lookup(expr string) (any, error) {
	expr = strings.TrimSpace(expr)
	segs, err := splitExpr(expr)
	if err != nil {
		return nil, err
	}
	var cur any = map[string]any(s)
	for i, seg := range segs {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, fmt.Errorf("${%s}: %q is not defined (params.yaml, vars, item, key)", expr, strings.Join(segs[:i+1], "."))
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(c) {
				return nil, fmt.Errorf("${%s}: %q has no element %s", expr, strings.Join(segs[:i], "."), seg)
			}
			cur = c[n]
		default:
			return nil, fmt.Errorf("${%s}: %q is neither a map nor a list", expr, strings.Join(segs[:i], "."))
		}
	}
	return cur, nil
}

// splitExpr splits "a.b[0][1].c" into a, b, 0, 1, c.
func splitExpr(expr string) ([]string, error) {
	if expr == "" {
		return nil, errors.New("empty ${} expression")
	}
	var segs []string
	for _, part := range strings.Split(expr, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, fmt.Errorf("${%s}: malformed expression", expr)
		}
		segs = append(segs, name)
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok || idx == "" {
				return nil, fmt.Errorf("${%s}: malformed index", expr)
			}
			segs = append(segs, idx)
			if after == "" {
				break
			}
			if after[0] != '[' {
				return nil, fmt.Errorf("${%s}: malformed index", expr)
			}
			rest = after[1:]
		}
	}
	return segs, nil
}

// toStr renders a value the way DVC (Python) does when it is interpolated
// into a string or used in a generated stage name.
func toStr(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return pyFloat(x), nil
	case nil:
		return "", errors.New("value is null")
	case map[string]any, []any:
		return "", errors.New("a map or list cannot be interpolated into a string (dictionary unpacking is not supported)")
	}
	return "", fmt.Errorf("unsupported value type %T", v)
}

// pyFloat formats f as Python's repr does, so that a matrix value 0.5 names
// the stage "x@0.5" and 1.0 names it "x@1.0", as DVC would.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// nodeError is an error at a line of the pipeline file.
type nodeError struct {
	line int
	err  error
}

func (e *nodeError) Error() string { return e.err.Error() }

// interpolate returns a deep copy of n with every ${...} substituted. A
// string that is exactly one expression takes the value's own type (so
// `foreach: ${models}` yields a list); an expression inside a longer string
// is rendered with toStr. `\${` escapes an expression.
func interpolate(s scope, n *yaml.Node) (*yaml.Node, error) {
	if n.Kind == yaml.AliasNode {
		return interpolate(s, n.Alias)
	}
	c := *n
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() != "!!str" || !strings.Contains(n.Value, "${") {
			return &c, nil
		}
		if m := wholeRe.FindStringSubmatch(n.Value); m != nil {
			v, err := s.lookup(m[1])
			if err != nil {
				return nil, &nodeError{n.Line, err}
			}
			var enc yaml.Node
			if err := enc.Encode(v); err != nil {
				return nil, &nodeError{n.Line, fmt.Errorf("${%s}: %w", m[1], err)}
			}
			enc.Line, enc.Column = n.Line, n.Column
			return &enc, nil
		}
		str, err := interpolateString(s, n.Value)
		if err != nil {
			return nil, &nodeError{n.Line, err}
		}
		c.Value, c.Tag, c.Style = str, "!!str", 0
		return &c, nil
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		cc, err := interpolate(s, child)
		if err != nil {
			return nil, err
		}
		if n.Kind == yaml.MappingNode && i%2 == 0 && cc.Kind != yaml.ScalarNode {
			return nil, &nodeError{child.Line, fmt.Errorf("map key %q must be a string", child.Value)}
		}
		c.Content[i] = cc
	}
	return &c, nil
}

// interpolateString substitutes every expression inside str.
func interpolateString(s scope, str string) (string, error) {
	var firstErr error
	out := exprRe.ReplaceAllStringFunc(str, func(m string) string {
		if m[0] == '\\' {
			return m[1:]
		}
		v, err := s.lookup(m[2 : len(m)-1])
		if err == nil {
			var r string
			if r, err = toStr(v); err == nil {
				return r
			}
			err = fmt.Errorf("%s: %w", m, err)
		}
		if firstErr == nil {
			firstErr = err
		}
		return m
	})
	return out, firstErr
}

// decodeValue turns a node into plain Go values (maps with string keys,
// []any, scalars), the form scope lookups walk.
func decodeValue(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// normalize converts the map[any]any yaml.v3 makes for non-string keys into
// map[string]any, so lookups need handle one map type only.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// readYAMLMap reads a YAML (or JSON) file whose top level is a map.
func readYAMLMap(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := normalize(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: top level is not a map", path)
	}
	return m, nil
}

// loadVars merges a vars list into s. Entries are maps, or files
// ("file.yaml", or "file.yaml:a,b" to take only some top-level keys)
// resolved against dir. Like DVC, a key already defined with a different
// value is an error rather than a silent override.
func loadVars(s scope, dir string, n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return &nodeError{n.Line, errors.New("vars: expected a list of maps or file names")}
	}
	for _, e := range n.Content {
		var src map[string]any
		switch e.Kind {
		case yaml.MappingNode:
			v, err := decodeValue(e)
			if err != nil {
				return &nodeError{e.Line, fmt.Errorf("vars: %w", err)}
			}
			src = v.(map[string]any)
		case yaml.ScalarNode:
			file, keys, hasKeys := strings.Cut(e.Value, ":")
			m, err := readYAMLMap(filepath.Join(dir, filepath.FromSlash(file)))
			if err != nil {
				return &nodeError{e.Line, fmt.Errorf("vars: %w", err)}
			}
			src = m
			if hasKeys {
				src = map[string]any{}
				for _, k := range strings.Split(keys, ",") {
					k = strings.TrimSpace(k)
					v, ok := m[k]
					if !ok {
						return &nodeError{e.Line, fmt.Errorf("vars: %s has no key %q", file, k)}
					}
					src[k] = v
				}
			}
		default:
			return &nodeError{e.Line, errors.New("vars: expected a map or a file name")}
		}
		if err := merge(s, src, ""); err != nil {
			return &nodeError{e.Line, fmt.Errorf("vars: %w", err)}
		}
	}
	return nil
}

// merge adds src into dst; maps merge recursively, equal values are fine,
// and a different value for an existing key is an error.
func merge(dst, src map[string]any, prefix string) error {
	for k, v := range src {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			// Copy before merging: scopes share nested maps with their parent.
			cp := maps.Clone(om)
			if err := merge(cp, nm, prefix+k+"."); err != nil {
				return err
			}
			dst[k] = cp
			continue
		}
		if !reflect.DeepEqual(old, v) {
			return fmt.Errorf("%q is already defined with a different value", prefix+k)
		}
	}
	return nil
}

// member is one expanded stage of a foreach or matrix group: the suffix
// after "@" and the item/key values its templates see.
type member struct {
	suffix string
	vals   map[string]any
}

// foreachMembers expands a foreach value. DVC names the members by the map
// key, by the value for a list of scalars, and by the zero-based index for a
// list holding any map or list.
func foreachMembers(s scope, n *yaml.Node) ([]member, error) {
	n, err := interpolate(s, n)
	if err != nil {
		return nil, err
	}
	var ms []member
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, err := decodeValue(n.Content[i+1])
			if err != nil {
				return nil, &nodeError{n.Content[i].Line, err}
			}
			ms = append(ms, member{k, map[string]any{"item": v, "key": k}})
		}
	case yaml.SequenceNode:
		vals := make([]any, len(n.Content))
		composite := false
		for i, e := range n.Content {
			v, err := decodeValue(e)
			if err != nil {
				return nil, &nodeError{e.Line, err}
			}
			vals[i] = v
			composite = composite || isComposite(v)
		}
		for i, v := range vals {
			suffix := strconv.Itoa(i)
			if !composite {
				if suffix, err = toStr(v); err != nil {
					return nil, &nodeError{n.Content[i].Line, fmt.Errorf("foreach item %d: %w", i, err)}
				}
			}
			ms = append(ms, member{suffix, map[string]any{"item": v}})
		}
	default:
		return nil, &nodeError{n.Line, errors.New("foreach: expected a list or a map")}
	}
	return ms, unique(ms, n.Line, "foreach")
}

// matrixMembers expands a matrix: the product of its lists in declaration
// order, the last list varying fastest (Python's itertools.product). Each
// name fragment is the value, or the matrix key plus index for a map or
// list value; fragments are joined with "-". ${item.<key>} is the value of
// one matrix key and ${key} the joined suffix.
func matrixMembers(s scope, n *yaml.Node) ([]member, error) {
	n, err := interpolate(s, n)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, &nodeError{n.Line, errors.New("matrix: expected a map of lists")}
	}
	var keys []string
	var lists [][]any
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			return nil, &nodeError{v.Line, fmt.Errorf("matrix: %q: expected a list", k.Value)}
		}
		var list []any
		for _, e := range v.Content {
			x, err := decodeValue(e)
			if err != nil {
				return nil, &nodeError{e.Line, err}
			}
			list = append(list, x)
		}
		keys = append(keys, k.Value)
		lists = append(lists, list)
	}
	var ms []member
	for _, l := range lists {
		if len(l) == 0 {
			return nil, nil // an empty list makes an empty product, as in DVC
		}
	}
	idx := make([]int, len(keys))
	for len(keys) > 0 {
		item := make(map[string]any, len(keys))
		frags := make([]string, len(keys))
		for j, k := range keys {
			v := lists[j][idx[j]]
			item[k] = v
			if isComposite(v) {
				frags[j] = k + strconv.Itoa(idx[j])
			} else if frags[j], err = toStr(v); err != nil {
				return nil, &nodeError{n.Line, fmt.Errorf("matrix: %q: %w", k, err)}
			}
		}
		suffix := strings.Join(frags, "-")
		ms = append(ms, member{suffix, map[string]any{"item": item, "key": suffix}})
		// Advance the odometer, last key fastest.
		j := len(idx) - 1
		for ; j >= 0; j-- {
			if idx[j]++; idx[j] < len(lists[j]) {
				break
			}
			idx[j] = 0
		}
		if j < 0 {
			break
		}
	}
	return ms, unique(ms, n.Line, "matrix")
}

func isComposite(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// unique rejects groups whose members would share a name; DVC would make
// one stage of them and silently drop the rest.
func unique(ms []member, line int, what string) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.suffix] {
			return &nodeError{line, fmt.Errorf("%s: two members are both named %q", what, m.suffix)}
		}
		seen[m.suffix] = true
	}
	return nil
}
