package dag

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const shapesYAML = `
vars:
  - base: artifacts
  - extra.yaml:model
stages:
  ingest:
    cmd: go run ./stages/ingest --dim ${model.dim}
    deps: [data/raw, stages/ingest]
    outs:
      - ${base}/ingest/ratings.parquet
      - ${base}/ingest/cache:
          cache: false
          persist: true
          remote: store
    metrics:
      - ${base}/ingest/report.json:
          cache: false
    params: [ingest, data.root]
  clean:
    cmd:
      - go build ./stages/clean
      - go run ./stages/clean --seed ${train.seed} --literal \${train.seed}
    wdir: sub
    deps: [../artifacts/ingest/ratings.parquet, ./code/]
    outs: [out.parquet]
    params:
      - clean
      - custom.yaml: [a.b, c]
      - whole.yaml:
    plots:
      - curve.csv:
          x: epoch
          y: loss
          template: linear
          cache: false
    desc: cleaning
    meta: {owner: someone}
    frozen: true
    always_changed: true
  eval:
    foreach: [maml, reptile]
    do:
      cmd: go run ./stages/eval ${item}
      outs:
        - artifacts/eval/${item}.json
  build:
    foreach:
      uk: {epochs: 3}
      us: {epochs: 10}
    do:
      cmd: go run ./stages/build ${key} ${item.epochs}
      outs:
        - artifacts/build/${key}-${item.epochs}
  cfg:
    foreach:
      - {name: a, n: 1}
      - {name: b, n: 2}
    do:
      cmd: go run ./stages/cfg ${item.name} ${item.n}
      outs:
        - artifacts/cfg/${item.name}
  train:
    matrix:
      model: [maml, reptile]
      seed: [1, 2]
      opt: [{lr: 0.5}]
    cmd: go run ./stages/train --model ${item.model} --seed ${item.seed} --lr ${item.opt.lr} --key ${key}
    outs:
      - artifacts/train/${item.model}-${item.seed}
  sweep:
    foreach: ${sweeps}
    do:
      cmd: go run ./stages/sweep ${item} ${sweeps[1]}
      outs:
        - artifacts/sweep/${item}
plots:
  - artifacts/curve.csv:
      x: epoch
  - loss_vs_step:
      y:
        a.csv: loss
        b.csv: [loss, acc]
      template: simple
metrics: [artifacts/metrics.json]
params: [params.yaml]
`

var shapesFiles = map[string]string{
	"params.yaml": "train: {seed: 7}\nsweeps: [x, y]\ndata: {root: d}\n",
	"extra.yaml":  "model: {dim: 8}\nother: 1\n",
}

func TestParseAllShapes(t *testing.T) {
	f := mustParse(t, shapesYAML, shapesFiles)

	wantNames := []string{
		"ingest", "clean", "eval@maml", "eval@reptile", "build@uk", "build@us", "cfg@0", "cfg@1",
		"train@maml-1-opt0", "train@maml-2-opt0", "train@reptile-1-opt0", "train@reptile-2-opt0",
		"sweep@x", "sweep@y",
	}
	if got := names(f.Stages); !slices.Equal(got, wantNames) {
		t.Fatalf("stages\n got %q\nwant %q", got, wantNames)
	}

	ingest := f.Stage("ingest")
	if want := []string{"go run ./stages/ingest --dim 8"}; !slices.Equal(ingest.Cmd, want) {
		t.Errorf("ingest cmd = %q, want %q (vars file key)", ingest.Cmd, want)
	}
	wantOuts := []Output{
		{Path: "artifacts/ingest/ratings.parquet", Cache: true},
		{Path: "artifacts/ingest/cache", Cache: false, Persist: true, Options: map[string]any{"remote": "store"}},
	}
	if !reflect.DeepEqual(ingest.Outs, wantOuts) {
		t.Errorf("ingest outs = %+v, want %+v", ingest.Outs, wantOuts)
	}
	if want := []Output{{Path: "artifacts/ingest/report.json"}}; !reflect.DeepEqual(ingest.Metrics, want) {
		t.Errorf("ingest metrics = %+v, want %+v", ingest.Metrics, want)
	}
	if want := []Param{{"params.yaml", "ingest"}, {"params.yaml", "data.root"}}; !reflect.DeepEqual(ingest.Params, want) {
		t.Errorf("ingest params = %+v, want %+v", ingest.Params, want)
	}

	clean := f.Stage("clean")
	wantCmd := []string{"go build ./stages/clean", "go run ./stages/clean --seed 7 --literal ${train.seed}"}
	if !slices.Equal(clean.Cmd, wantCmd) {
		t.Errorf("clean cmd = %q, want %q", clean.Cmd, wantCmd)
	}
	if clean.Wdir != "sub" || !clean.Frozen || !clean.AlwaysChanged || clean.Desc != "cleaning" {
		t.Errorf("clean wdir/frozen/always_changed/desc = %q %v %v %q", clean.Wdir, clean.Frozen, clean.AlwaysChanged, clean.Desc)
	}
	if want := []string{"artifacts/ingest/ratings.parquet", "sub/code"}; !slices.Equal(clean.Deps, want) {
		t.Errorf("clean deps = %q, want %q (wdir applied, cleaned)", clean.Deps, want)
	}
	if want := []string{"sub/out.parquet", "sub/curve.csv"}; !slices.Equal(clean.Outputs(), want) {
		t.Errorf("clean outputs = %q, want %q", clean.Outputs(), want)
	}
	wantPlot := Output{Path: "sub/curve.csv", Options: map[string]any{"x": "epoch", "y": "loss", "template": "linear"}}
	if !reflect.DeepEqual(clean.Plots, []Output{wantPlot}) {
		t.Errorf("clean plots = %+v, want %+v", clean.Plots, wantPlot)
	}
	wantParams := []Param{{"sub/params.yaml", "clean"}, {"sub/custom.yaml", "a.b"}, {"sub/custom.yaml", "c"}, {"sub/whole.yaml", ""}}
	if !reflect.DeepEqual(clean.Params, wantParams) {
		t.Errorf("clean params = %+v, want %+v", clean.Params, wantParams)
	}

	checks := map[string]struct{ cmd, out string }{
		"eval@reptile":         {"go run ./stages/eval reptile", "artifacts/eval/reptile.json"},
		"build@us":             {"go run ./stages/build us 10", "artifacts/build/us-10"},
		"cfg@1":                {"go run ./stages/cfg b 2", "artifacts/cfg/b"},
		"train@reptile-1-opt0": {"go run ./stages/train --model reptile --seed 1 --lr 0.5 --key reptile-1-opt0", "artifacts/train/reptile-1"},
		"sweep@x":              {"go run ./stages/sweep x y", "artifacts/sweep/x"},
	}
	for name, c := range checks {
		s := f.Stage(name)
		if !slices.Equal(s.Cmd, []string{c.cmd}) || !slices.Equal(s.Outputs(), []string{c.out}) {
			t.Errorf("%s: cmd %q outs %q, want %q %q", name, s.Cmd, s.Outputs(), c.cmd, c.out)
		}
		if group, _, _ := strings.Cut(name, "@"); s.Group != group {
			t.Errorf("%s: group %q", name, s.Group)
		}
	}
	if want := []string{"artifacts/curve.csv", "loss_vs_step"}; !slices.Equal(f.Plots, want) {
		t.Errorf("top-level plots = %q, want %q", f.Plots, want)
	}
}

// TestMatrixNames pins DVC's naming of scalar matrix values: Python's str()
// of the value, so 1.0 stays "1.0" and true is "true".
func TestMatrixNames(t *testing.T) {
	f := mustParse(t, `
stages:
  m:
    matrix:
      lr: [1.0, 0.001, 1e-5]
      on: [true]
    cmd: go run ./stages/m
`, nil)
	want := []string{"m@1.0-true", "m@0.001-true", "m@1e-05-true"}
	if got := names(f.Stages); !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
}

func TestStageVarsAndEmptyFile(t *testing.T) {
	f := mustParse(t, `
stages:
  a:
    vars:
      - local.yaml
      - {suffix: x}
    cmd: go run ./stages/a ${k}-${suffix}
`, map[string]string{"local.yaml": "k: v\n"})
	if got := f.Stage("a").Cmd[0]; got != "go run ./stages/a v-x" {
		t.Errorf("cmd = %q", got)
	}
	for _, empty := range []string{"", "stages:\n", "stages: {}\n"} {
		if f := mustParse(t, empty, nil); len(f.Stages) != 0 {
			t.Errorf("%q has stages %q", empty, names(f.Stages))
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown stage key", "stages:\n  a:\n    cmd: x\n    dpes: [y]\n",
			[]string{`dvc.yaml:4: stage "a": unknown key "dpes"`}},
		{"unknown output option", "stages:\n  a:\n    cmd: x\n    outs:\n      - o:\n          cahce: false\n",
			[]string{`stage "a": outs: "o": unknown option "cahce"`}},
		{"plot option on outs", "stages:\n  a:\n    cmd: x\n    outs:\n      - o: {x: epoch}\n",
			[]string{`stage "a": outs: "o": unknown option "x"`}},
		{"missing cmd", "stages:\n  a:\n    deps: [x]\n",
			[]string{`stage "a": cmd: missing`}},
		{"undefined variable", "stages:\n  a:\n    cmd: run ${nope.x}\n",
			[]string{`dvc.yaml:3: stage "a"`, `"nope" is not defined`}},
		{"foreach extra key", "stages:\n  a:\n    foreach: [x]\n    cmd: y\n    do: {cmd: z}\n",
			[]string{`stage "a": unknown key "cmd" next to foreach`}},
		{"foreach without do", "stages:\n  a:\n    foreach: [x]\n",
			[]string{`stage "a": do: missing`}},
		{"duplicate foreach names", "stages:\n  a:\n    foreach: [x, x]\n    do: {cmd: y}\n",
			[]string{`two members are both named "x"`}},
		{"matrix value not a list", "stages:\n  a:\n    matrix: {m: x}\n    cmd: y\n",
			[]string{`matrix: "m": expected a list`}},
		{"invalid stage name", "stages:\n  a@b:\n    cmd: x\n",
			[]string{`stage "a@b": invalid stage name`}},
		{"unknown top-level key", "stage:\n  a: {cmd: x}\n",
			[]string{`dvc.yaml:1: unknown top-level key "stage"`}},
		{"vars conflict with params.yaml", "vars:\n  - train: {seed: 8}\nstages: {}\n",
			[]string{`vars: "train.seed" is already defined with a different value`}},
		{"map into string", "vars:\n  - m: {a: 1}\nstages:\n  a:\n    cmd: run ${m}\n",
			[]string{`a map or list cannot be interpolated`}},
		{"params entry shape", "stages:\n  a:\n    cmd: x\n    params: [[a]]\n",
			[]string{`stage "a": params: expected a key or {file: [keys]}`}},
		{"every problem at once", "stages:\n  a:\n    cmd: x\n    dpes: [y]\n  b:\n    outz: [y]\n",
			[]string{`stage "a": unknown key "dpes"`, `stage "b": unknown key "outz"`, `stage "b": cmd: missing`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.yaml, map[string]string{"params.yaml": "train: {seed: 7}\n"})
			wantErr(t, err, c.want...)
		})
	}
}
