package dag

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/crossrec/crossrec/lib/pipeline"
)

// Validate checks a parsed pipeline file against the stage declarations and
// the repository at root, and returns every problem at once (joined
// *Problem errors) so one run of `dag validate` lists all that needs fixing:
//
//   - every dvc.yaml stage has a program, stages/<group>/main.go, its cmd
//     runs it, and a declaration with the same (expanded) name exists;
//   - every declaration appears in dvc.yaml;
//   - deps, outs, metrics and plots equal the declared ones as sets, and the
//     params.yaml sections dvc.yaml tracks equal the declared sections;
//   - params keys exist in params.yaml;
//   - outputs lie inside the repository, no two stages write the same
//     path, and no output lies inside another;
//   - a dep that no stage writes exists on disk;
//   - the graph has no cycle.
func Validate(root string, f *File, declared []pipeline.Stage) error {
	ps := &problems{file: f.Name}
	decl := map[string]*pipeline.Stage{}
	for i := range declared {
		d := &declared[i]
		switch {
		case d.Name == "":
			ps.add(0, "", "", "declaration %d has no name", i)
		case decl[d.Name] != nil:
			ps.add(0, d.Name, "", "declared twice")
		default:
			decl[d.Name] = d
		}
	}
	pv, pvErr := readYAMLMap(filepath.Join(root, ParamsFile))
	programs := map[string]bool{}
	for _, s := range f.Stages {
		if !programs[s.Group] {
			programs[s.Group] = true
			checkProgram(ps, root, s)
		}
		checkCmd(ps, s)
		if d := decl[s.Name]; d == nil {
			ps.add(0, s.Name, "", "no program declares this stage (its declaration is missing from pipeline.All)")
		} else {
			compare(ps, s.Name, "deps", s.Deps, d.Deps)
			compare(ps, s.Name, "outs", paths(s.Outs), d.Outs)
			compare(ps, s.Name, "metrics", paths(s.Metrics), d.Metrics)
			compare(ps, s.Name, "plots", paths(s.Plots), d.Plots)
		}
		sections := checkParams(ps, s, pv, pvErr)
		if d := decl[s.Name]; d != nil && sections != nil {
			compareSections(ps, s.Name, sections, d.Params)
		}
	}
	for _, d := range declared {
		if d.Name != "" && f.Stage(d.Name) == nil {
			ps.add(0, d.Name, "", "declared by the program but missing from %s", f.Name)
		}
	}
	checkOutputs(ps, f)
	checkInputs(ps, root, f)
	if _, err := NewGraph(f); err != nil {
		ps.list = append(ps.list, err)
	}
	return errors.Join(ps.list...)
}

func paths(outs []Output) []string {
	ps := make([]string, len(outs))
	for i, o := range outs {
		ps[i] = o.Path
	}
	return ps
}

// checkProgram requires stages/<group>/main.go: a stage with no program is
// one `dvc repro` cannot run.
func checkProgram(ps *problems, root string, s *StageDef) {
	rel := path.Join("stages", s.Group, "main.go")
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
		ps.add(0, s.Group, "program", "%s does not exist", rel)
	}
}

// checkCmd requires the cmd to mention stages/<group> as a whole path
// element, so "go run ./stages/split" passes and "stages/splitter" does not
// count for stage split.
func checkCmd(ps *problems, s *StageDef) {
	re := regexp.MustCompile(`(^|[^\w.-])stages/` + regexp.QuoteMeta(s.Group) + `($|[^\w.-])`)
	for _, c := range s.Cmd {
		if re.MatchString(c) {
			return
		}
	}
	if len(s.Cmd) > 0 {
		ps.add(0, s.Name, "cmd", "does not run the stage program stages/%s (e.g. go run ./stages/%s)", s.Group, s.Group)
	}
}

// compare reports the differences between dvc.yaml's list and the
// declared one, each in sorted order so messages are stable.
func compare(ps *problems, stage, field string, inYAML, declared []string) {
	have := map[string]bool{}
	for _, p := range inYAML {
		if have[p] {
			ps.add(0, stage, field, "%q is listed twice", p)
		}
		have[p] = true
	}
	want := map[string]bool{}
	for _, p := range declared {
		want[path.Clean(p)] = true
	}
	for _, p := range sortedKeys(want) {
		if !have[p] {
			ps.add(0, stage, field, "missing %q (declared by the program)", p)
		}
	}
	for _, p := range sortedKeys(have) {
		if !want[p] {
			ps.add(0, stage, field, "%q is not declared by the program", p)
		}
	}
}

// checkParams checks the stage's params entries and returns the keys they
// track, dotted as written (every top-level section for a bare params
// file entry; nil when none can be worked out).
func checkParams(ps *problems, s *StageDef, pv map[string]any, pvErr error) map[string]bool {
	sections := map[string]bool{}
	for _, p := range s.Params {
		if p.File != ParamsFile {
			ps.add(0, s.Name, "params", "%s: stage programs read only %s; list other files under deps", p.File, ParamsFile)
			continue
		}
		if pvErr != nil {
			ps.add(0, s.Name, "params", "cannot read %s: %v", ParamsFile, pvErr)
			return nil
		}
		if p.Key == "" {
			for k := range pv {
				sections[k] = true
			}
			continue
		}
		if _, err := scope(pv).lookup(p.Key); err != nil {
			ps.add(0, s.Name, "params", "%q not found in %s", p.Key, ParamsFile)
		}
		sections[p.Key] = true
	}
	return sections
}

// sectionOf returns the top-level section of a dotted params key.
func sectionOf(key string) string {
	sec, _, _ := strings.Cut(key, ".")
	sec, _, _ = strings.Cut(sec, "[")
	return sec
}

// compareSections compares the keys dvc.yaml tracks with those the
// program declares (top-level sections, or dotted keys under one; its
// lineage hashes what it declares). A program reads whole sections or
// keys, while dvc.yaml may track finer keys under them: each declared key
// must be tracked, itself, in part or through a section above it, and
// each tracked key must be read the same way.
func compareSections(ps *problems, stage string, inYAML map[string]bool, declared []string) {
	related := func(a, b string) bool {
		return a == b || strings.HasPrefix(b, a+".") || strings.HasPrefix(a, b+".")
	}
	tracked := sortedKeys(inYAML)
	for _, d := range slices.Sorted(slices.Values(declared)) {
		if !slices.ContainsFunc(tracked, func(y string) bool { return related(y, d) }) {
			ps.add(0, stage, "params", "missing section %q (read by the program)", d)
		}
	}
	reported := map[string]bool{}
	for _, y := range tracked {
		if slices.ContainsFunc(declared, func(d string) bool { return related(d, y) }) {
			continue
		}
		// A section the program reads nothing of is named once.
		if !slices.ContainsFunc(declared, func(d string) bool { return sectionOf(d) == sectionOf(y) }) {
			y = sectionOf(y)
		}
		if !reported[y] {
			reported[y] = true
			ps.add(0, stage, "params", "section %q is not read by the program", y)
		}
	}
}

// written is one output path and who writes it.
type written struct {
	stage, field, path string
}

func allOutputs(f *File) []written {
	var ws []written
	for _, s := range f.Stages {
		for _, l := range []struct {
			field string
			outs  []Output
		}{{"outs", s.Outs}, {"metrics", s.Metrics}, {"plots", s.Plots}} {
			for _, o := range l.outs {
				ws = append(ws, written{s.Name, l.field, o.Path})
			}
		}
	}
	return ws
}

// checkOutputs rejects outputs that leave the repository (Run deletes
// outputs before a stage runs, so this also keeps it from deleting outside
// the repository) and outputs that collide: two writers of one path, or one
// output inside another, make the graph ambiguous, and DVC rejects both.
func checkOutputs(ps *problems, f *File) {
	ws := allOutputs(f)
	for j, w := range ws {
		if w.path == "." || !filepath.IsLocal(filepath.FromSlash(w.path)) {
			ps.add(0, w.stage, w.field, "%q is not inside the repository", w.path)
			continue
		}
		for _, o := range ws[:j] {
			switch {
			case o.path == w.path && o.stage == w.stage:
				ps.add(0, w.stage, w.field, "%q is listed twice", w.path)
			case o.path == w.path:
				ps.add(0, w.stage, w.field, "%q is also written by stage %q", w.path, o.stage)
			case under(w.path, o.path):
				ps.add(0, w.stage, w.field, "%q lies inside %q, an output of stage %q", w.path, o.path, o.stage)
			case under(o.path, w.path):
				ps.add(0, w.stage, w.field, "%q contains %q, an output of stage %q", w.path, o.path, o.stage)
			}
		}
	}
}

// checkInputs requires every dep that no stage writes to exist: it is an
// input or code, and a typo in its path would otherwise only show when DVC
// runs.
func checkInputs(ps *problems, root string, f *File) {
	ws := allOutputs(f)
	for _, s := range f.Stages {
		for _, d := range s.Deps {
			if slices.ContainsFunc(ws, func(w written) bool { return overlaps(d, w.path) }) {
				continue
			}
			if _, err := os.Stat(abs(root, d)); err != nil {
				ps.add(0, s.Name, "deps", "%q does not exist and no stage writes it", d)
			}
		}
	}
}

// under reports whether a lies strictly inside folder b.
func under(a, b string) bool {
	return b != "." && strings.HasPrefix(a, b+"/")
}

// overlaps reports whether a and b are the same path or one contains the
// other; DVC links a dep to an output in all three cases.
func overlaps(a, b string) bool {
	return a == b || under(a, b) || under(b, a)
}

// abs resolves a root-relative slash path on disk.
func abs(root, p string) string {
	if filepath.IsAbs(filepath.FromSlash(p)) {
		return filepath.FromSlash(p)
	}
	return filepath.Join(root, filepath.FromSlash(p))
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
