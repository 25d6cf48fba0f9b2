package dag

import (
	"slices"
	"strings"
	"testing"
)

// diamond stages: top -> left, right -> bottom, plus an unrelated stage.
var diamond = map[string]string{
	"top":    "  top:\n    cmd: go run ./stages/top\n    deps: [data/in]\n    outs: [artifacts/top]\n",
	"left":   "  left:\n    cmd: go run ./stages/left\n    deps: [artifacts/top/a.csv]\n    outs: [artifacts/left.csv]\n",
	"right":  "  right:\n    cmd: go run ./stages/right\n    deps: [artifacts/top]\n    outs: [artifacts/right.csv]\n",
	"bottom": "  bottom:\n    cmd: go run ./stages/bottom\n    deps: [artifacts/left.csv, artifacts/right.csv]\n    metrics: [artifacts/bottom.json]\n",
	"alone":  "  alone:\n    cmd: go run ./stages/alone\n    deps: [data/other]\n    outs: [artifacts/alone]\n",
}

func graphOf(t *testing.T, order ...string) *Graph {
	t.Helper()
	y := "stages:\n"
	for _, n := range order {
		y += diamond[n]
	}
	g, err := NewGraph(mustParse(t, y, nil))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestOrderIsDeterministic(t *testing.T) {
	want := []string{"alone", "top", "left", "right", "bottom"}
	for _, fileOrder := range [][]string{
		{"top", "left", "right", "bottom", "alone"},
		{"bottom", "right", "left", "alone", "top"},
		{"alone", "bottom", "top", "right", "left"},
	} {
		g := graphOf(t, fileOrder...)
		if got := names(g.Order()); !slices.Equal(got, want) {
			t.Errorf("file order %q: got %q, want %q", fileOrder, got, want)
		}
	}
}

func TestPlanTargets(t *testing.T) {
	g := graphOf(t, "bottom", "right", "left", "alone", "top")
	cases := []struct {
		targets []string
		want    []string
	}{
		{nil, []string{"alone", "top", "left", "right", "bottom"}},
		{[]string{"left"}, []string{"top", "left"}},   // dep inside an output folder
		{[]string{"right"}, []string{"top", "right"}}, // dep equal to an output folder
		{[]string{"bottom"}, []string{"top", "left", "right", "bottom"}},
		{[]string{"alone", "left"}, []string{"alone", "top", "left"}},
	}
	for _, c := range cases {
		got, err := g.Plan(c.targets...)
		if err != nil {
			t.Fatalf("Plan(%q): %v", c.targets, err)
		}
		if !slices.Equal(names(got), c.want) {
			t.Errorf("Plan(%q) = %q, want %q", c.targets, names(got), c.want)
		}
	}
	if _, err := g.Plan("nope"); err == nil || !strings.Contains(err.Error(), `no stage or group named "nope"`) {
		t.Errorf("unknown target: %v", err)
	}
	if got := g.Parents("bottom"); !slices.Equal(got, []string{"left", "right"}) {
		t.Errorf("Parents(bottom) = %q", got)
	}
}

// TestPlanGroupTarget: a foreach group name stands for all its members, and
// a dep that contains an output (a parent folder) links the stages too.
func TestPlanGroupTarget(t *testing.T) {
	f := mustParse(t, `
stages:
  report:
    cmd: go run ./stages/report
    deps: [artifacts/train]
    outs: [artifacts/report.md]
  train:
    foreach: [b, a]
    do:
      cmd: go run ./stages/train ${item}
      outs:
        - artifacts/train/${item}
`, nil)
	g, err := NewGraph(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Plan("train")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"train@a", "train@b"}; !slices.Equal(names(got), want) {
		t.Errorf("Plan(train) = %q, want %q", names(got), want)
	}
	if want := []string{"train@a", "train@b", "report"}; !slices.Equal(names(g.Order()), want) {
		t.Errorf("order = %q, want %q", names(g.Order()), want)
	}
}

func TestCycleIsNamed(t *testing.T) {
	_, err := NewGraph(mustParse(t, `
stages:
  c:
    cmd: x
    deps: [b.out]
    outs: [c.out]
  a:
    cmd: x
    deps: [c.out]
    outs: [a.out]
  b:
    cmd: x
    deps: [a.out]
    outs: [b.out]
  free:
    cmd: x
    outs: [free.out]
`, nil))
	wantErr(t, err, `dvc.yaml: cycle: "a" -> "b" (via "a.out"), "b" -> "c" (via "b.out"), "c" -> "a" (via "c.out")`)

	_, err = NewGraph(mustParse(t, "stages:\n  s:\n    cmd: x\n    deps: [d/in]\n    outs: [d]\n", nil))
	wantErr(t, err, `cycle: "s" -> "s" (via "d/in")`)
}
