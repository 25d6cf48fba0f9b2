package dag

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/pipeline"
)

// fixture is a small valid repository: a plain stage and a foreach group,
// with its programs, inputs, params and declarations. Each validation case
// breaks one thing in it.
type fixture struct {
	yaml     string
	files    map[string]string
	declared []pipeline.Stage
}

func validFixture() *fixture {
	return &fixture{
		yaml: `
stages:
  prep:
    cmd: go run ./stages/prep
    deps:
      - data/raw.csv
      - stages/prep
    outs:
      - artifacts/prep/table.csv
    params:
      - prep
  train:
    foreach: [a, b]
    do:
      cmd: go run ./stages/train -model ${item}
      deps:
        - artifacts/prep/table.csv
      outs:
        - artifacts/train/${item}
      metrics:
        - artifacts/train/${item}.json:
            cache: false
      params:
        - train.lr
        - train.epochs
`,
		files: map[string]string{
			"data/raw.csv":          "u,i,r\n",
			"stages/prep/main.go":   "package main\n",
			"stages/train/main.go":  "package main\n",
			"params.yaml":           "prep: {n: 1}\ntrain: {lr: 0.1, epochs: 2}\n",
			"data/extra.csv":        "x\n",
			"stages/other/main.go":  "package main\n",
			"stages/prepx/main.go":  "package main\n",
			"stages/copier/main.go": "package main\n",
		},
		declared: []pipeline.Stage{
			{Name: "prep", Deps: []string{"data/raw.csv", "stages/prep/"}, Outs: []string{"artifacts/prep/table.csv"}, Params: []string{"prep"}},
			trainDecl("a"),
			trainDecl("b"),
		},
	}
}

func trainDecl(item string) pipeline.Stage {
	return pipeline.Stage{
		Name:    "train@" + item,
		Deps:    []string{"artifacts/prep/table.csv"},
		Outs:    []string{"artifacts/train/" + item},
		Metrics: []string{"artifacts/train/" + item + ".json"},
		Params:  []string{"train"},
	}
}

// edit replaces old with new in the fixture's dvc.yaml, failing the test if
// old is absent so a fixture change cannot silently neuter a case.
func (fx *fixture) edit(t *testing.T, old, new string) {
	t.Helper()
	if !strings.Contains(fx.yaml, old) {
		t.Fatalf("fixture has no %q", old)
	}
	fx.yaml = strings.Replace(fx.yaml, old, new, 1)
}

func (fx *fixture) decl(name string) *pipeline.Stage {
	for i := range fx.declared {
		if fx.declared[i].Name == name {
			return &fx.declared[i]
		}
	}
	panic("no declaration " + name)
}

// addStage appends a stage to dvc.yaml and its matching declaration.
func (fx *fixture) addStage(name, outs string) {
	fx.yaml += "  " + name + ":\n    cmd: go run ./stages/" + name + "\n    outs:\n      - " + outs + "\n"
	fx.declared = append(fx.declared, pipeline.Stage{Name: name, Outs: []string{outs}})
}

func (fx *fixture) validate(t *testing.T) error {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, fx.files)
	writeFiles(t, root, map[string]string{DVCFile: fx.yaml})
	f, err := Load(root)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return Validate(root, f, fx.declared)
}

func TestValidateAcceptsConsistentPipeline(t *testing.T) {
	if err := validFixture().validate(t); err != nil {
		t.Fatalf("valid fixture rejected:\n%v", err)
	}
}

func TestValidateCatchesEachMismatch(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, fx *fixture)
		want   string
	}{
		{"missing program", func(t *testing.T, fx *fixture) { delete(fx.files, "stages/train/main.go") },
			`dvc.yaml: stage "train": program: stages/train/main.go does not exist`},
		{"cmd does not run the program", func(t *testing.T, fx *fixture) { fx.edit(t, "./stages/prep\n", "./stages/prepx\n") },
			`dvc.yaml: stage "prep": cmd: does not run the stage program stages/prep`},
		{"declared stage missing from dvc.yaml", func(t *testing.T, fx *fixture) {
			fx.declared = append(fx.declared, pipeline.Stage{Name: "other"})
		}, `dvc.yaml: stage "other": declared by the program but missing from dvc.yaml`},
		{"dvc.yaml stage without declaration", func(t *testing.T, fx *fixture) { fx.declared = fx.declared[:2] },
			`dvc.yaml: stage "train@b": no program declares this stage`},
		{"extra dep", func(t *testing.T, fx *fixture) {
			fx.edit(t, "      - data/raw.csv\n", "      - data/raw.csv\n      - data/extra.csv\n")
		},
			`dvc.yaml: stage "prep": deps: "data/extra.csv" is not declared by the program`},
		{"missing dep", func(t *testing.T, fx *fixture) {
			d := fx.decl("train@a")
			d.Deps = append(d.Deps, "data/extra.csv")
		}, `dvc.yaml: stage "train@a": deps: missing "data/extra.csv" (declared by the program)`},
		{"missing out", func(t *testing.T, fx *fixture) {
			d := fx.decl("prep")
			d.Outs = append(d.Outs, "artifacts/prep/other.csv")
		}, `dvc.yaml: stage "prep": outs: missing "artifacts/prep/other.csv" (declared by the program)`},
		{"metrics mismatch", func(t *testing.T, fx *fixture) { fx.decl("train@b").Metrics = nil },
			`dvc.yaml: stage "train@b": metrics: "artifacts/train/b.json" is not declared by the program`},
		{"plots mismatch", func(t *testing.T, fx *fixture) { fx.decl("prep").Plots = []string{"artifacts/prep/curve.csv"} },
			`dvc.yaml: stage "prep": plots: missing "artifacts/prep/curve.csv" (declared by the program)`},
		{"params section read but not tracked", func(t *testing.T, fx *fixture) { fx.decl("train@a").Params = []string{"train", "prep"} },
			`dvc.yaml: stage "train@a": params: missing section "prep" (read by the program)`},
		{"params section tracked but not read", func(t *testing.T, fx *fixture) { fx.edit(t, "      - prep\n", "      - prep\n      - train.lr\n") },
			`dvc.yaml: stage "prep": params: section "train" is not read by the program`},
		{"params key read but only another key of its section tracked", func(t *testing.T, fx *fixture) {
			fx.decl("train@a").Params = []string{"train.lr", "train.epochs", "train.batch"}
		},
			`dvc.yaml: stage "train@a": params: missing section "train.batch" (read by the program)`},
		{"params key tracked beside keys read in its section", func(t *testing.T, fx *fixture) {
			fx.decl("train@a").Params = []string{"train.lr"}
			fx.decl("train@b").Params = []string{"train.lr"}
		}, `dvc.yaml: stage "train@a": params: section "train.epochs" is not read by the program`},
		{"params key not in params.yaml", func(t *testing.T, fx *fixture) { fx.edit(t, "train.epochs", "train.epoch") },
			`dvc.yaml: stage "train@a": params: "train.epoch" not found in params.yaml`},
		{"params from another file", func(t *testing.T, fx *fixture) {
			fx.edit(t, "      - prep\n", "      - prep\n      - other.yaml: [x]\n")
		},
			`dvc.yaml: stage "prep": params: other.yaml: stage programs read only params.yaml`},
		{"duplicate output", func(t *testing.T, fx *fixture) { fx.addStage("copier", "artifacts/prep/table.csv") },
			`dvc.yaml: stage "copier": outs: "artifacts/prep/table.csv" is also written by stage "prep"`},
		{"output inside another output", func(t *testing.T, fx *fixture) { fx.addStage("copier", "artifacts/train/a/x.csv") },
			`dvc.yaml: stage "copier": outs: "artifacts/train/a/x.csv" lies inside "artifacts/train/a", an output of stage "train@a"`},
		{"output containing another output", func(t *testing.T, fx *fixture) { fx.addStage("copier", "artifacts/prep") },
			`dvc.yaml: stage "copier": outs: "artifacts/prep" contains "artifacts/prep/table.csv", an output of stage "prep"`},
		{"output outside the repository", func(t *testing.T, fx *fixture) { fx.addStage("copier", "../elsewhere.csv") },
			`dvc.yaml: stage "copier": outs: "../elsewhere.csv" is not inside the repository`},
		{"missing input file", func(t *testing.T, fx *fixture) { delete(fx.files, "data/raw.csv") },
			`dvc.yaml: stage "prep": deps: "data/raw.csv" does not exist and no stage writes it`},
		{"cycle", func(t *testing.T, fx *fixture) {
			fx.edit(t, "      - stages/prep\n", "      - stages/prep\n      - artifacts/train/a.json\n")
			d := fx.decl("prep")
			d.Deps = append(d.Deps, "artifacts/train/a.json")
		}, `dvc.yaml: cycle: "prep" -> "train@a" (via "artifacts/prep/table.csv"), "train@a" -> "prep" (via "artifacts/train/a.json")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := validFixture()
			c.mutate(t, fx)
			err := fx.validate(t)
			wantErr(t, err, c.want)
			n := 1
			if strings.Contains(c.want, "train.epoch") {
				n = 2 // a foreach template's problem is every member's
			}
			if ps := problemsOf(t, err); len(ps) != n {
				t.Errorf("want %d problems, got %d:\n%v", n, len(ps), err)
			}
		})
	}
}

// TestValidateReportsAllAtOnce checks that problems in different stages and
// fields come back together, as structured values naming stage and field.
func TestValidateReportsAllAtOnce(t *testing.T) {
	fx := validFixture()
	delete(fx.files, "data/raw.csv")
	fx.decl("train@b").Params = nil
	fx.declared = append(fx.declared, pipeline.Stage{Name: "other"})
	ps := problemsOf(t, fx.validate(t))
	type key struct{ stage, field string }
	got := map[key]bool{}
	for _, p := range ps {
		got[key{p.Stage, p.Field}] = true
	}
	for _, k := range []key{{"prep", "deps"}, {"train@b", "params"}, {"other", ""}} {
		if !got[k] {
			t.Errorf("no problem for stage %q field %q in %v", k.stage, k.field, ps)
		}
	}
	if len(ps) != 3 {
		t.Errorf("got %d problems, want 3: %v", len(ps), ps)
	}
}

// TestValidateWholeParamsFile: tracking all of params.yaml means every
// section, so a program must declare them all.
func TestValidateWholeParamsFile(t *testing.T) {
	fx := validFixture()
	fx.edit(t, "      - prep\n", "      - params.yaml:\n")
	err := fx.validate(t)
	wantErr(t, err, `stage "prep": params: section "train" is not read by the program`)
	fx.decl("prep").Params = []string{"prep", "train"}
	if err := fx.validate(t); err != nil {
		t.Errorf("whole-file params with every section declared: %v", err)
	}
}

// TestValidateProducedDepNeedNotExist: a dep written by a stage (or inside
// a folder a stage writes) is not required on disk before the run.
func TestValidateProducedDepNeedNotExist(t *testing.T) {
	fx := validFixture()
	root := t.TempDir()
	writeFiles(t, root, fx.files)
	writeFiles(t, root, map[string]string{DVCFile: fx.yaml})
	if _, err := os.Stat(filepath.Join(root, "artifacts")); !os.IsNotExist(err) {
		t.Fatalf("fixture unexpectedly has artifacts/: %v", err)
	}
	f, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(root, f, fx.declared); err != nil {
		t.Errorf("deps produced by stages flagged as missing: %v", err)
	}
}
