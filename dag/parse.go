package dag

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	// DVCFile is the pipeline file, at the repository root.
	DVCFile = "dvc.yaml"
	// ParamsFile is the params file DVC reads by default, at the repository root.
	ParamsFile = "params.yaml"
)

// File is a parsed dvc.yaml with every foreach and matrix group expanded
// and every ${...} substituted: what DVC itself would run.
type File struct {
	Name   string      // file name used in messages, "dvc.yaml"
	Stages []*StageDef // in file order; a group's members in DVC's order
	Plots  []string    // ids of the top-level plot definitions (not checked further)
}

// Stage returns the stage with the given expanded name, or nil.
func (f *File) Stage(name string) *StageDef {
	for _, s := range f.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// StageDef is one stage as dvc.yaml defines it. Paths are cleaned and
// relative to the repository root (wdir already applied), the form the
// declarations in pipeline.Stage use, so the two compare directly.
type StageDef struct {
	Name          string // expanded name: "split", "train@maml"
	Group         string // the key under stages: "train"; equal to Name outside groups
	Line          int    // line of the stage (or group) in dvc.yaml
	Cmd           []string
	Wdir          string // as written; "" means the repository root
	Deps          []string
	Outs          []Output
	Metrics       []Output
	Plots         []Output
	Params        []Param
	Frozen        bool // DVC never runs a frozen stage, nor does Run
	AlwaysChanged bool // run on every repro even when nothing changed
	Desc          string
}

// Output is one entry of outs, metrics or plots.
type Output struct {
	Path    string
	Cache   bool           // DVC caches the output (default true)
	Persist bool           // DVC (and Run) keep it in place instead of deleting it before the stage runs
	Options map[string]any // every other option as written (remote, push, desc, x, y, template, ...)
}

// Param is one params dependency.
type Param struct {
	File string // params file relative to the repository root, usually "params.yaml"
	Key  string // dotted key, "section" or "section.sub"; "" tracks the whole file
}

// Outputs returns the paths of outs, metrics and plots together: everything
// the stage writes.
func (s *StageDef) Outputs() []string {
	var ps []string
	for _, l := range [][]Output{s.Outs, s.Metrics, s.Plots} {
		for _, o := range l {
			ps = append(ps, o.Path)
		}
	}
	return ps
}

// Load reads and parses DVCFile at root. params.yaml at root, if present,
// supplies ${...} values, as in DVC.
func Load(root string) (*File, error) {
	data, err := os.ReadFile(filepath.Join(root, DVCFile))
	if err != nil {
		return nil, err
	}
	return Parse(root, DVCFile, data)
}

// Parse parses a pipeline file's contents. root is the folder the file sits
// in: params.yaml and vars files are read relative to it. All problems are
// returned at once as joined *Problem errors.
func Parse(root, name string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &File{Name: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a map with a stages key", name, top.Line)
	}
	ps := &problems{file: name}
	s := scope{}
	params, err := readYAMLMap(filepath.Join(root, ParamsFile))
	switch {
	case err == nil:
		s = scope(params)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// vars first, wherever they sit: every stage sees them.
	if v := mapValue(top, "vars"); v != nil {
		if err := loadVars(s, root, v); err != nil {
			ps.addNode(err, "", "")
		}
	}
	for i := 0; i < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "stages":
			if v.ShortTag() != "!!null" { // "stages:" with nothing under it
				f.Stages = parseStages(ps, s, root, v)
			}
		case "plots":
			f.Plots = plotIDs(ps, v)
		case "vars", "metrics", "params", "artifacts", "datasets":
			// vars handled above; the others are DVC's top-level lists,
			// which the stage graph does not depend on.
		default:
			ps.add(k.Line, "", "", "unknown top-level key %q", k.Value)
		}
	}
	return f, errors.Join(ps.list...)
}

// addNode records an error from templating, at its line when known.
func (ps *problems) addNode(err error, stage, field string) {
	line := 0
	var ne *nodeError
	if errors.As(err, &ne) {
		line = ne.line
	}
	ps.add(line, stage, field, "%v", err)
}

// mapValue returns the value under key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// without returns a copy of mapping n without the given keys.
func without(n *yaml.Node, keys ...string) *yaml.Node {
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		drop := false
		for _, k := range keys {
			drop = drop || n.Content[i].Value == k
		}
		if !drop {
			c.Content = append(c.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &c
}

// parseStages expands the stages map. Names may not hold "@" (it separates
// a group from its member) nor path separators or ":" (DVC's target syntax).
func parseStages(ps *problems, s scope, root string, n *yaml.Node) []*StageDef {
	if n.Kind != yaml.MappingNode {
		ps.add(n.Line, "", "stages", "expected a map of stage names to definitions")
		return nil
	}
	var out []*StageDef
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		group := k.Value
		if group == "" || strings.ContainsAny(group, "@:/\\,") {
			ps.add(k.Line, group, "", "invalid stage name (it may not contain @ : / \\ or ,)")
			continue
		}
		if v.Kind != yaml.MappingNode {
			ps.add(v.Line, group, "", "expected a map of fields")
			continue
		}
		switch {
		case mapValue(v, "foreach") != nil:
			body := mapValue(v, "do")
			if body == nil {
				ps.add(v.Line, group, "do", "missing (foreach needs a do)")
				continue
			}
			if extra := without(v, "foreach", "do"); len(extra.Content) > 0 {
				ps.add(extra.Content[0].Line, group, "", "unknown key %q next to foreach (stage fields go under do)", extra.Content[0].Value)
				continue
			}
			ms, err := foreachMembers(s, mapValue(v, "foreach"))
			if err != nil {
				ps.addNode(err, group, "")
				continue
			}
			for _, m := range ms {
				out = append(out, buildStage(ps, s.with(m.vals), root, group, group+"@"+m.suffix, body))
			}
		case mapValue(v, "matrix") != nil:
			if mapValue(v, "do") != nil {
				ps.add(v.Line, group, "do", "not allowed with matrix (stage fields sit next to matrix)")
				continue
			}
			ms, err := matrixMembers(s, mapValue(v, "matrix"))
			if err != nil {
				ps.addNode(err, group, "")
				continue
			}
			for _, m := range ms {
				out = append(out, buildStage(ps, s.with(m.vals), root, group, group+"@"+m.suffix, without(v, "matrix")))
			}
		default:
			out = append(out, buildStage(ps, s, root, group, group, v))
		}
	}
	return out
}

// buildStage substitutes templates in one stage body and decodes it.
func buildStage(ps *problems, s scope, root, group, name string, body *yaml.Node) *StageDef {
	def := &StageDef{Name: name, Group: group, Line: body.Line}
	if v := mapValue(body, "vars"); v != nil {
		// Stage vars are read relative to wdir, which cannot use them.
		dir := root
		if w := mapValue(body, "wdir"); w != nil {
			wn, err := interpolate(s, w)
			if err != nil {
				ps.addNode(err, name, "wdir")
				return def
			}
			dir = filepath.Join(root, filepath.FromSlash(wn.Value))
		}
		s = s.with(nil)
		if err := loadVars(s, dir, v); err != nil {
			ps.addNode(err, name, "vars")
			return def
		}
		body = without(body, "vars")
	}
	body, err := interpolate(s, body)
	if err != nil {
		ps.addNode(err, name, "")
		return def
	}
	decodeStage(ps, def, body)
	return def
}

// decodeStage fills def from a substituted stage body. Unknown keys are
// errors so a typo ("dep:", "out:") cannot silently drop a dependency.
func decodeStage(ps *problems, def *StageDef, n *yaml.Node) {
	if w := mapValue(n, "wdir"); w != nil {
		if w.Kind != yaml.ScalarNode {
			ps.add(w.Line, def.Name, "wdir", "expected a path")
		} else if w.Value != "." {
			def.Wdir = w.Value
		}
	}
	hasCmd := false
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		bad := func(format string, args ...any) { ps.add(v.Line, def.Name, field, format, args...) }
		switch field {
		case "cmd":
			hasCmd = true
			def.Cmd = strings1(v, bad)
			if len(def.Cmd) == 0 {
				bad("empty")
			}
		case "deps":
			for _, p := range strings1(v, bad) {
				def.Deps = append(def.Deps, def.path(p))
			}
		case "outs", "metrics", "plots":
			outs := outputs(v, field == "plots", bad)
			for i := range outs {
				outs[i].Path = def.path(outs[i].Path)
			}
			switch field {
			case "outs":
				def.Outs = outs
			case "metrics":
				def.Metrics = outs
			default:
				def.Plots = outs
			}
		case "params":
			def.Params = params(v, def, bad)
		case "frozen":
			if v.Decode(&def.Frozen) != nil {
				bad("expected true or false")
			}
		case "always_changed":
			if v.Decode(&def.AlwaysChanged) != nil {
				bad("expected true or false")
			}
		case "desc":
			def.Desc = v.Value
		case "wdir", "meta":
		default:
			ps.add(k.Line, def.Name, "", "unknown key %q", field)
		}
	}
	if !hasCmd {
		ps.add(n.Line, def.Name, "cmd", "missing (every stage needs one)")
	}
}

// path makes p relative to the repository root. Paths that leave the
// repository stay as written, cleaned; Validate decides if they are allowed.
func (s *StageDef) path(p string) string {
	if path.IsAbs(p) || filepath.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Clean(path.Join(s.Wdir, p))
}

// strings1 reads a string or a list of strings.
func strings1(n *yaml.Node, bad func(string, ...any)) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode || e.ShortTag() == "!!null" {
				bad("expected a string, line %d", e.Line)
				continue
			}
			out = append(out, e.Value)
		}
		return out
	}
	bad("expected a string or a list of strings")
	return nil
}

var (
	outOptions  = set("cache", "persist", "remote", "push", "desc", "type", "labels", "meta", "checkpoint")
	plotOptions = set("x", "y", "x_label", "y_label", "title", "template", "header")
)

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// outputs reads a list whose entries are a path or {path: {options}}.
func outputs(n *yaml.Node, plots bool, bad func(string, ...any)) []Output {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad("expected a list")
		return nil
	}
	var out []Output
	for _, e := range n.Content {
		switch {
		case e.Kind == yaml.ScalarNode && e.ShortTag() != "!!null":
			out = append(out, Output{Path: e.Value, Cache: true})
		case e.Kind == yaml.MappingNode && len(e.Content) == 2:
			o := Output{Path: e.Content[0].Value, Cache: true}
			opts := e.Content[1]
			if opts.Kind == yaml.MappingNode {
				for i := 0; i < len(opts.Content); i += 2 {
					k, v := opts.Content[i].Value, opts.Content[i+1]
					switch {
					case k == "cache":
						if v.Decode(&o.Cache) != nil {
							bad("%q: cache: expected true or false", o.Path)
						}
					case k == "persist":
						if v.Decode(&o.Persist) != nil {
							bad("%q: persist: expected true or false", o.Path)
						}
					case outOptions[k] || plots && plotOptions[k]:
						val, err := decodeValue(v)
						if err != nil {
							bad("%q: %s: %v", o.Path, k, err)
						}
						if o.Options == nil {
							o.Options = map[string]any{}
						}
						o.Options[k] = val
					default:
						bad("%q: unknown option %q", o.Path, k)
					}
				}
			} else if opts.ShortTag() != "!!null" {
				bad("%q: expected a map of options", o.Path)
			}
			out = append(out, o)
		default:
			bad("expected a path or {path: {options}}, line %d", e.Line)
		}
	}
	return out
}

// params reads a params list: keys of params.yaml (relative to wdir), or
// {file: [keys]}, or {file: null} to track a whole file.
func params(n *yaml.Node, def *StageDef, bad func(string, ...any)) []Param {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad("expected a list")
		return nil
	}
	var out []Param
	for _, e := range n.Content {
		switch e.Kind {
		case yaml.ScalarNode:
			out = append(out, Param{File: def.path(ParamsFile), Key: e.Value})
		case yaml.MappingNode:
			for i := 0; i < len(e.Content); i += 2 {
				file, keys := def.path(e.Content[i].Value), e.Content[i+1]
				if keys.ShortTag() == "!!null" {
					out = append(out, Param{File: file})
					continue
				}
				for _, k := range strings1(keys, bad) {
					out = append(out, Param{File: file, Key: k})
				}
			}
		default:
			bad("expected a key or {file: [keys]}, line %d", e.Line)
		}
	}
	return out
}

// plotIDs reads the top-level plots list leniently: only each entry's id
// (a path or a name) is kept; its options are DVC's business.
func plotIDs(ps *problems, n *yaml.Node) []string {
	var ids []string
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			switch e.Kind {
			case yaml.ScalarNode:
				ids = append(ids, e.Value)
			case yaml.MappingNode:
				for i := 0; i < len(e.Content); i += 2 {
					ids = append(ids, e.Content[i].Value)
				}
			default:
				ps.add(e.Line, "", "plots", "expected a path or {id: {options}}")
			}
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			ids = append(ids, n.Content[i].Value)
		}
	default:
		if n.ShortTag() != "!!null" {
			ps.add(n.Line, "", "plots", "expected a list of plot definitions")
		}
	}
	return ids
}
