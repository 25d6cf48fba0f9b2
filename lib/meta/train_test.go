package meta

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
)

func trainOpts(method string, steps int) Options {
	return Options{
		Model: models.Config{Arch: models.NCF, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true,
			Adapt: []string{models.GroupLast}, InnerSteps: 2, InnerLR: 0.1, LearnInnerLR: true, Rank: true, RankWeight: 1},
		Step: StepConfig{Method: method, InnerSteps: 2, OuterLR: 0.01, Clip: 10},
		Seed: 5, Steps: steps, MetaBatch: 4, SupportK: 3, QueryMax: 4, EvalEvery: 2, EvalQuery: 4, KeepBest: true,
		Negatives: 5,
	}
}

// sameCurve compares curves, NaN (no training loss yet) equal to NaN.
func sameCurve(a, b []CurvePoint) bool {
	return slices.EqualFunc(a, b, func(x, y CurvePoint) bool {
		if x.TrainLoss != x.TrainLoss && y.TrainLoss != y.TrainLoss {
			x.TrainLoss, y.TrainLoss = 0, 0
		}
		return x.Step == y.Step && x.TrainLoss == y.TrainLoss && x.ValidMSE == y.ValidMSE && x.ValidMAE == y.ValidMAE &&
			x.ValidRel == y.ValidRel && maps.Equal(x.DomainMAE, y.DomainMAE)
	})
}

func sameWeights(t *testing.T, a, b *models.Weights) {
	t.Helper()
	for i := range a.Values {
		if !slices.Equal(a.Values[i], b.Values[i]) {
			t.Fatalf("%s differs", a.Specs[i].Name)
		}
	}
}

// TestTrainingIsDeterministicAndResumes: two runs with the same seed give
// identical weights and curves; a run stopped at step 3 and resumed from
// its checkpoint ends exactly where an uninterrupted run does.
func TestTrainingIsDeterministicAndResumes(t *testing.T) {
	items := synth.Items(1, 20, 15)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	train := synth.Episodes(2, items, 6, 3, 6)
	valid := synth.Episodes(3, items, 2, 3, 4)
	b := testBackend(t)
	for _, method := range []string{MAML, Reptile, Joint} {
		r1, err := Train(b, cat, train, valid, trainOpts(method, 6))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Train(b, cat, train, valid, trainOpts(method, 6))
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, r1.Weights, r2.Weights)
		if !sameCurve(r1.Curve, r2.Curve) || len(r1.Curve) != 4 {
			t.Fatalf("%s: curves differ or have %d points (want 4): %v", method, len(r1.Curve), r1.Curve)
		}
		dir := t.TempDir()
		o := trainOpts(method, 4)
		o.CheckpointDir, o.CheckpointEvery = dir, 3 // off the curve grid: the loss accumulators are saved
		if _, err := Train(b, cat, train, valid, o); err != nil {
			t.Fatal(err)
		}
		o.Steps = 6
		r3, err := Train(b, cat, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, r1.Weights, r3.Weights)
		if !sameCurve(r1.Curve, r3.Curve) {
			t.Fatalf("%s: resumed curve %v, uninterrupted %v", method, r3.Curve, r1.Curve)
		}
	}
}

// TestTrainingLearns: MAML on synthetic tastes lowers the validation error
// below the untrained model's.
func TestTrainingLearns(t *testing.T) {
	items := synth.Items(1, 30, 20)
	cat, _ := models.NewCatalog(items, nil)
	train := synth.Episodes(2, items, 200, 4, 8)
	valid := synth.Episodes(3, items, 8, 4, 8)
	o := trainOpts(MAML, 150)
	// The inner loss is summed over the support and divided by (K +
	// lambda), lambda starting at 5: at K = 4 a step of 0.25 moves the user
	// bias about as far as a step of 0.1 on the mean would.
	o.Model.InnerLR = 0.25
	o.EvalEvery, o.MetaBatch, o.SupportK, o.QueryMax, o.EvalQuery = 150, 8, 4, 8, 8
	o.Step.OuterLR = 0.01
	o.KeepBest = false
	res, err := Train(testBackend(t), cat, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Curve[0], res.Curve[len(res.Curve)-1]
	if !(last.ValidMSE < 0.97*first.ValidMSE) {
		t.Fatalf("validation MSE %g -> %g: want a drop of at least 3%%", first.ValidMSE, last.ValidMSE)
	}
}

// TestRankingScoreTrains: in a leave-one-domain-out run the content
// ranking score's weights move under every method, the held-out domain is
// gated to it and the other to the fitted score, the popularity logit
// stays at log(1 + training count), and the rating weights do not depend
// on the ranking loss's weight (its gradient is stopped before the rating
// model). With every domain covered, the content score is not trained.
func TestRankingScoreTrains(t *testing.T) {
	items := synth.Items(1, 20, 15)
	cat, _ := models.NewCatalog(items, nil)
	train := synth.Episodes(2, items, 6, 3, 6)
	valid := synth.Episodes(3, items, 2, 3, 4)
	count := make([]float64, cat.NItems)
	for _, e := range FilterDomain(train, "dom1") {
		for _, x := range append(append([]tasks.Rated(nil), e.Support...), e.Query...) {
			count[int(cat.ItemOff[e.DomainIndex])+int(x.Item)]++
		}
	}
	init := trainOpts(MAML, 0).Model
	init.Shape = cat.Shape()
	w0 := init.Init(5)
	for _, method := range []string{MAML, Reptile, Joint} {
		o := trainOpts(method, 6)
		o.KeepBest, o.Step.Clip = false, 0
		o.ExcludeDomain = "dom1"
		r, err := Train(testBackend(t), cat, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		w := r.Weights
		if r.Model.RankWeight != 1 {
			t.Fatalf("%s: rank weight %g as trained, want 1", method, r.Model.RankWeight)
		}
		if beta := w.Values[w.Index("rank_beta")][0]; beta == 1 {
			t.Fatalf("%s: rank_beta never moved from 1", method)
		}
		if g := w.Values[w.Index("rank_gate")]; !slices.Equal(g, []float32{0, 1}) {
			t.Fatalf("%s: rank_gate %v, want [0 1] (dom1 held out)", method, g)
		}
		for i, v := range w.Values[w.Index("pop_bias")] {
			if math.Abs(float64(v)-math.Log1p(count[i])) > 1e-6 {
				t.Fatalf("%s: pop_bias[%d] = %g, want log1p(%g)", method, i, v, count[i])
			}
		}
		o.Model.RankWeight = 5
		r5, err := Train(testBackend(t), cat, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range w.Specs {
			moved := !slices.Equal(w.Values[i], r5.Weights.Values[i])
			if (s.Group == models.GroupRank) != moved {
				t.Errorf("%s: %s (group %s) moved=%v with a 5x ranking weight", method, s.Name, s.Group, moved)
			}
		}
		o.ExcludeDomain = ""
		all, err := Train(testBackend(t), cat, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		if all.Model.RankWeight != 0 {
			t.Errorf("%s: every domain covered, yet the content score trained at weight %g", method, all.Model.RankWeight)
		}
		for i, s := range all.Weights.Specs {
			if s.Group == models.GroupRank && !slices.Equal(all.Weights.Values[i], w0.Values[i]) {
				t.Errorf("%s: %s moved though no domain is ranked by the content score", method, s.Name)
			}
		}
		if g := all.Weights.Values[w.Index("rank_gate")]; !slices.Equal(g, []float32{0, 0}) {
			t.Errorf("%s: rank_gate %v with every domain covered", method, g)
		}
	}
}

// TestOuterLossChoice: the MAE objective trains other weights than the MSE
// one from the same start and batches (so the option reaches the graph),
// both runs lower the validation MAE they start from, and an unknown loss
// is refused.
func TestOuterLossChoice(t *testing.T) {
	items := synth.Items(1, 20, 15)
	cat, _ := models.NewCatalog(items, nil)
	train := synth.Episodes(2, items, 6, 3, 6)
	valid := synth.Episodes(3, items, 2, 3, 4)
	var runs []*Result
	for _, loss := range []string{LossMSE, LossMAE} {
		o := trainOpts(MAML, 6)
		o.KeepBest, o.Step.OuterLoss = false, loss
		r, err := Train(testBackend(t), cat, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		if first, last := r.Curve[0].ValidMAE, r.Curve[len(r.Curve)-1].ValidMAE; !(last < first) {
			t.Errorf("%s: validation MAE %g -> %g", loss, first, last)
		}
		runs = append(runs, r)
	}
	same := true
	for i := range runs[0].Weights.Values {
		same = same && slices.Equal(runs[0].Weights.Values[i], runs[1].Weights.Values[i])
	}
	if same {
		t.Error("mse and mae outer losses trained identical weights")
	}
	o := trainOpts(MAML, 2)
	o.Step.OuterLoss = "huber"
	if _, err := Train(testBackend(t), cat, train, valid, o); err == nil {
		t.Error("outer loss huber accepted")
	}
}

// TestShiftStartsAtMedianResidual: the starting shift of each domain is
// the constant with the lowest absolute error of the bias model on the
// training queries: moving it either way, or dropping it, errs more.
func TestShiftStartsAtMedianResidual(t *testing.T) {
	items := synth.Items(1, 20, 15)
	cat, _ := models.NewCatalog(items, nil)
	train := synth.Episodes(2, items, 30, 3, 6)
	cfg := trainOpts(MAML, 0).Model
	cfg.Shape = cat.Shape()
	w := cfg.Init(5)
	setDataInit(w, cat, train)
	// Skew the values so that the median residual is not the mean's 0.
	for i := range train {
		for j := range train[i].Query {
			train[i].Query[j].Norm = train[i].Query[j].Norm * train[i].Query[j].Norm * 3
		}
	}
	setShifts(w, cat, train, 3)
	di, bi, li, si := w.Index("domain_bias"), w.Index("item_bias"), w.Index("enc_lambda"), w.Index("domain_shift")
	mae := func(d int32, shift float64) float64 {
		var sum float64
		n := 0
		for _, e := range train {
			if e.DomainIndex != d {
				continue
			}
			off, mu := cat.ItemOff[d], float64(w.Values[di][d])
			bu := 0.0
			for _, x := range e.Support[:3] {
				bu += float64(x.Norm) - mu - float64(w.Values[bi][off+x.Item])
			}
			bu /= 3 + math.Exp(float64(w.Values[li][d]))
			for _, x := range e.Query {
				sum += math.Abs(float64(x.Norm) - mu - float64(w.Values[bi][off+x.Item]) - bu - shift)
				n++
			}
		}
		return sum / float64(n)
	}
	for d := range cat.Domains {
		s := float64(w.Values[si][d])
		if s == 0 {
			t.Fatalf("domain %d: shift left at 0 on skewed values", d)
		}
		best := mae(int32(d), s)
		for _, other := range []float64{0, s - 0.01, s + 0.01} {
			if m := mae(int32(d), other); m < best-1e-9 { // flat between the two middle values
				t.Errorf("domain %d: shift %g errs %g, shift %g errs less (%g)", d, s, best, other, m)
			}
		}
	}
}

// TestRelativeMAE: keep_best's score weighs every domain alike: a 10% gain
// in a domain with small errors outweighs a 5% loss in one with large
// errors, which the pooled MAE would not allow; a domain missing from
// either side is left out.
func TestRelativeMAE(t *testing.T) {
	ref := map[string]float64{"a": 0.1, "b": 1.0, "c": 0.5}
	now := map[string]float64{"a": 0.09, "b": 1.05}
	got := relativeMAE([]string{"a", "b", "c"}, now, ref)
	if want := (0.9 + 1.05) / 2; math.Abs(got-want) > 1e-12 {
		t.Fatalf("relative MAE %g, want %g", got, want)
	}
	if !math.IsNaN(relativeMAE([]string{"c"}, now, ref)) {
		t.Fatal("no shared domain: want NaN")
	}
}
