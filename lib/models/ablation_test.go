package models

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/synth"
)

// TestAblations: the rank-term row is the model's ranking score without
// the predicted rating (beta = 1 on a domain ranked by the fitted score),
// and the no-inner row is the same weights without the inner loop: equal
// to the model where the loop has nothing to do (no support), different
// where it adapts.
func TestAblations(t *testing.T) {
	items := synth.Items(1, 40, 30)
	cfg := testConfig(t, NCF, items)
	cfg.Rank = true
	w := cfg.Init(3)
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel("m", b, cfg, w, items)
	if err != nil {
		t.Fatal(err)
	}
	abl, err := Ablations(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(abl) != 2 || abl[0].Name() != "m-rank-term" || abl[1].Name() != "m-no-inner" {
		t.Fatalf("ablations %v", abl)
	}
	if m.contentRanked(0) {
		t.Fatal("domain 0 should be ranked by the fitted score")
	}
	e := synth.Episodes(2, items, 1, 5, 5)[0]
	all := make([]int32, 40)
	for i := range all {
		all[i] = int32(i)
	}
	pred, rank, err := m.ScoreRank(0, e.Support, all)
	if err != nil {
		t.Fatal(err)
	}
	term, err := abl[0].Score(0, e.Support, all)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if d := math.Abs(float64(term[i] - (rank[i] - pred[i]))); d > 1e-5 {
			t.Fatalf("item %d: rank term %g, rank - pred %g", i, term[i], rank[i]-pred[i])
		}
	}
	noInner := abl[1].(*Model)
	if noInner.Config().InnerSteps != 0 || m.Config().InnerSteps == 0 {
		t.Fatalf("inner steps: ablation %d, model %d", noInner.Config().InnerSteps, m.Config().InnerSteps)
	}
	a, _ := m.Score(0, nil, all)
	c, _ := noInner.Score(0, nil, all)
	for i := range a {
		if math.Abs(float64(a[i]-c[i])) > 1e-6 {
			t.Fatalf("empty support, item %d: model %g, no-inner %g", i, a[i], c[i])
		}
	}
	c, _ = noInner.Score(0, e.Support, all)
	moved := 0.0
	for i := range pred {
		moved = max(moved, math.Abs(float64(pred[i]-c[i])))
	}
	if moved < 1e-4 {
		t.Errorf("the inner loop changes no prediction (max difference %g)", moved)
	}
}
