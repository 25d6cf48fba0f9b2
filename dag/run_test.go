package dag

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/pipeline"
	"gopkg.in/yaml.v3"
)

// The run fixture: gen -> upper -> count, and side on its own.
//
//	gen:   data/in.txt + params gen    -> artifacts/gen/out.txt
//	upper: artifacts/gen/out.txt       -> artifacts/upper/ (a folder)
//	count: artifacts/upper + params count -> artifacts/count.json (metric)
//	side:  data/side.txt               -> artifacts/side.txt (persist)
const runYAML = `
stages:
  gen:
    cmd: go run ./stages/gen
    deps: [data/in.txt]
    params: [gen]
    outs: [artifacts/gen/out.txt]
  upper:
    cmd: go run ./stages/upper
    deps: [artifacts/gen/out.txt]
    outs: [artifacts/upper]
  count:
    cmd: go run ./stages/count
    deps: [artifacts/upper]
    params: [count.unit]
    metrics:
      - artifacts/count.json:
          cache: false
  side:
    cmd: go run ./stages/side
    deps: [data/side.txt]
    outs:
      - artifacts/side.txt:
          persist: true
`

const runParams = "gen: {suffix: '!'}\n# a comment\ncount: {unit: chars}\nother: 1\n"

// pipe is a repository with in-process stage programs that log each call.
type pipe struct {
	t      *testing.T
	root   string
	calls  []string
	fail   map[string]error // stages that return this error
	panics map[string]bool
	skip   map[string]bool // stages that "forget" to write their outputs
}

func newPipe(t *testing.T) *pipe {
	p := &pipe{t: t, root: t.TempDir(), fail: map[string]error{}, panics: map[string]bool{}, skip: map[string]bool{}}
	p.write(map[string]string{
		DVCFile:                runYAML,
		ParamsFile:             runParams,
		"data/in.txt":          "hello",
		"data/side.txt":        "side",
		"stages/gen/main.go":   "package main\n",
		"stages/upper/main.go": "package main\n",
		"stages/count/main.go": "package main\n",
		"stages/side/main.go":  "package main\n",
	})
	return p
}

func (p *pipe) write(files map[string]string) { p.t.Helper(); writeFiles(p.t, p.root, files) }

func (p *pipe) read(rel string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.root, rel))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

func (p *pipe) stages() []pipeline.Stage {
	wrap := func(name string, body func(env pipeline.Env) error) func(pipeline.Env) error {
		return func(env pipeline.Env) error {
			p.calls = append(p.calls, name)
			if p.panics[name] {
				panic("boom")
			}
			if err := p.fail[name]; err != nil {
				return err
			}
			if p.skip[name] {
				return nil
			}
			return body(env)
		}
	}
	out := func(env pipeline.Env, rel, content string) error {
		full := filepath.Join(env.Root, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, []byte(content), 0o644)
	}
	// param reads params.yaml the way a stage program would.
	param := func(env pipeline.Env, section, key string) string {
		b, err := os.ReadFile(env.Params)
		if err != nil {
			return err.Error()
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return err.Error()
		}
		sec, _ := m[section].(map[string]any)
		return fmt.Sprint(sec[key])
	}
	return []pipeline.Stage{
		{Name: "gen", Deps: []string{"data/in.txt"}, Params: []string{"gen"}, Outs: []string{"artifacts/gen/out.txt"},
			Run: wrap("gen", func(env pipeline.Env) error {
				in, err := os.ReadFile(filepath.Join(env.Root, "data/in.txt"))
				if err != nil {
					return err
				}
				return out(env, "artifacts/gen/out.txt", string(in)+param(env, "gen", "suffix"))
			})},
		{Name: "upper", Deps: []string{"artifacts/gen/out.txt"}, Outs: []string{"artifacts/upper"},
			Run: wrap("upper", func(env pipeline.Env) error {
				in, err := os.ReadFile(filepath.Join(env.Root, "artifacts/gen/out.txt"))
				if err != nil {
					return err
				}
				if err := out(env, "artifacts/upper/a.txt", strings.ToUpper(string(in))); err != nil {
					return err
				}
				return out(env, "artifacts/upper/sub/len.txt", fmt.Sprint(len(in)))
			})},
		{Name: "count", Deps: []string{"artifacts/upper"}, Params: []string{"count"}, Metrics: []string{"artifacts/count.json"},
			Run: wrap("count", func(env pipeline.Env) error {
				in, err := os.ReadFile(filepath.Join(env.Root, "artifacts/upper/a.txt"))
				if err != nil {
					return err
				}
				return out(env, "artifacts/count.json", fmt.Sprintf(`{"%v": %d}`, param(env, "count", "unit"), len(in)))
			})},
		{Name: "side", Deps: []string{"data/side.txt"}, Outs: []string{"artifacts/side.txt"},
			Run: wrap("side", func(env pipeline.Env) error {
				in, err := os.ReadFile(filepath.Join(env.Root, "data/side.txt"))
				if err != nil {
					return err
				}
				return out(env, "artifacts/side.txt", string(in))
			})},
	}
}

// run runs the pipeline and checks that exactly want ran, in that order,
// and that the stage programs were called for exactly those stages.
func (p *pipe) run(want []string, targets ...string) {
	p.t.Helper()
	p.calls = nil
	ran, err := Run(pipeline.Env{Root: p.root}, p.stages(), targets...)
	if err != nil {
		p.t.Fatalf("Run(%q): %v", targets, err)
	}
	if !slices.Equal(ran, want) || !slices.Equal(p.calls, want) {
		p.t.Fatalf("Run(%q) ran %q (calls %q), want %q", targets, ran, p.calls, want)
	}
}

func (p *pipe) lock() *Lock {
	p.t.Helper()
	var l Lock
	if err := json.Unmarshal([]byte(p.read(LockFile)), &l); err != nil {
		p.t.Fatal(err)
	}
	return &l
}

var everything = []string{"gen", "side", "upper", "count"}

func TestRunThenNothingChanged(t *testing.T) {
	p := newPipe(t)
	p.run(everything)
	if got := p.read("artifacts/count.json"); got != `{"chars": 6}` {
		t.Errorf("count.json = %q: stages did not see each other's outputs", got)
	}
	p.run(nil)
	p.run(nil, "count")
}

func TestChangedDepRerunsStageAndDescendants(t *testing.T) {
	p := newPipe(t)
	p.run(everything)
	p.write(map[string]string{"data/in.txt": "hello world"})
	p.run([]string{"gen", "upper", "count"})
	p.write(map[string]string{"data/side.txt": "other"})
	p.run([]string{"side"})
	p.run(nil)
}

func TestChangedParamsRerunOnlyReaders(t *testing.T) {
	p := newPipe(t)
	p.run(everything)
	// Formatting, comments, key order and unread sections do not count.
	p.write(map[string]string{ParamsFile: "other: 2\ncount:   {unit: chars}\ngen:\n  suffix: '!'\n"})
	p.run(nil)
	p.write(map[string]string{ParamsFile: "gen: {suffix: '?'}\ncount: {unit: chars}\nother: 2\n"})
	p.run([]string{"gen", "upper", "count"})
	p.write(map[string]string{ParamsFile: "gen: {suffix: '?'}\ncount: {unit: bytes}\nother: 2\n"})
	p.run([]string{"count"})
	if got := p.read("artifacts/count.json"); got != `{"bytes": 6}` {
		t.Errorf("count.json = %q", got)
	}
}

// TestMissingOrEditedOutputRerunsStage: a deleted or tampered output makes
// its stage run again. It rewrites the same bytes, so, as in DVC, the
// stages downstream see unchanged deps and stay skipped; an output that
// comes back different does rerun them.
func TestMissingOrEditedOutputRerunsStage(t *testing.T) {
	p := newPipe(t)
	p.run(everything)
	if err := os.Remove(filepath.Join(p.root, "artifacts/side.txt")); err != nil {
		t.Fatal(err)
	}
	p.run([]string{"side"})
	if err := os.Remove(filepath.Join(p.root, "artifacts/upper/sub/len.txt")); err != nil {
		t.Fatal(err)
	}
	p.run([]string{"upper"})
	p.write(map[string]string{"artifacts/gen/out.txt": "tampered"})
	p.run([]string{"gen"})
	if got := p.read("artifacts/gen/out.txt"); got != "hello!" {
		t.Errorf("gen output not restored: %q", got)
	}
	p.write(map[string]string{"artifacts/upper/extra.txt": "stray file"})
	p.run([]string{"upper"})
	if _, err := os.Stat(filepath.Join(p.root, "artifacts/upper/extra.txt")); !os.IsNotExist(err) {
		t.Errorf("stale file in a non-persist output folder survived the rerun: %v", err)
	}
	// An output regenerated with new content reruns what reads it.
	delete(p.skip, "gen")
	p.write(map[string]string{"data/in.txt": "hi"})
	p.run([]string{"gen", "upper", "count"})
}

func TestTargetsLimitTheRun(t *testing.T) {
	p := newPipe(t)
	p.run([]string{"gen", "upper"}, "upper")
	p.run([]string{"side", "count"})
}

func TestFailingStageStopsAndIsNotRecorded(t *testing.T) {
	p := newPipe(t)
	p.run(everything)
	p.write(map[string]string{"data/in.txt": "changed"})
	p.fail["upper"] = errors.New("disk full")
	p.calls = nil
	ran, err := Run(pipeline.Env{Root: p.root}, p.stages())
	wantErr(t, err, `stage "upper": disk full`)
	if !slices.Equal(ran, []string{"gen"}) || !slices.Equal(p.calls, []string{"gen", "upper"}) {
		t.Errorf("ran %q, calls %q; want ran [gen], calls [gen upper] (count must not run)", ran, p.calls)
	}
	l := p.lock()
	if _, ok := l.Stages["upper"]; ok {
		t.Errorf("failed stage recorded in the lock: %+v", l.Stages["upper"])
	}
	if _, ok := l.Stages["gen"]; !ok {
		t.Errorf("stage that ran before the failure lost its lock entry")
	}
	delete(p.fail, "upper")
	p.run([]string{"upper", "count"})
}

func TestPanicAndMissingOutputAreErrors(t *testing.T) {
	p := newPipe(t)
	p.panics["side"] = true
	_, err := Run(pipeline.Env{Root: p.root}, p.stages())
	wantErr(t, err, `stage "side": panic: boom`)
	delete(p.panics, "side")
	p.skip["side"] = true
	_, err = Run(pipeline.Env{Root: p.root}, p.stages())
	wantErr(t, err, `stage "side": output "artifacts/side.txt" was not written`)
	delete(p.skip, "side")
	p.run([]string{"side", "upper", "count"})
}

func TestRunRefusesInvalidPipeline(t *testing.T) {
	p := newPipe(t)
	st := p.stages()[:3] // side's declaration missing
	ran, err := Run(pipeline.Env{Root: p.root}, st)
	wantErr(t, err, `stage "side": no program declares this stage`)
	if len(ran) != 0 || len(p.calls) != 0 {
		t.Errorf("an invalid pipeline ran stages: %q", p.calls)
	}
}

func TestFrozenStageDoesNotRun(t *testing.T) {
	p := newPipe(t)
	p.write(map[string]string{DVCFile: strings.Replace(runYAML, "  side:\n", "  side:\n    frozen: true\n", 1)})
	p.run([]string{"gen", "upper", "count"})
}

// TestLockIsDeterministic: two runs from scratch in different folders write
// byte-identical locks, in the documented shape.
func TestLockIsDeterministic(t *testing.T) {
	a, b := newPipe(t), newPipe(t)
	a.run(everything)
	b.run(everything)
	if la, lb := a.read(LockFile), b.read(LockFile); la != lb {
		t.Fatalf("locks differ:\n%s\n%s", la, lb)
	}
	l := a.lock()
	if l.Version != 1 || len(l.Stages) != 4 {
		t.Fatalf("lock = %+v", l)
	}
	count := l.Stages["count"]
	if len(count.Deps) != 1 || count.Deps["artifacts/upper"] == "" || count.Params["count"] == "" || count.Outs["artifacts/count.json"] == "" {
		t.Errorf("count entry = %+v", count)
	}
	if h, _ := hashFile(filepath.Join(a.root, "data/in.txt")); l.Stages["gen"].Deps["data/in.txt"] != h {
		t.Errorf("gen dep hash %q, want sha256 of the file %q", l.Stages["gen"].Deps["data/in.txt"], h)
	}
}

func TestDamagedLockIsAnError(t *testing.T) {
	p := newPipe(t)
	p.write(map[string]string{LockFile: "{not json"})
	_, err := Run(pipeline.Env{Root: p.root}, p.stages())
	wantErr(t, err, ".dag.lock.json", "delete it to rebuild every stage")
}
