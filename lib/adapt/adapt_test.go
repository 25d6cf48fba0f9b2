package adapt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL reads best dot-imported
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
	"github.com/crossrec/crossrec/lib/testutil"
)

// Interfaces the fast scorer promises, as models.Model does.
var (
	_ recommend.CrossRanker = (*Scorer)(nil)
	_ recommend.CrossScorer = (*Scorer)(nil)
)

// tol is the float32 tolerance of the equality checks: the two paths sum
// in different orders, so they agree to rounding, scaled by the value.
func close32(a, b float32) bool {
	return math.Abs(float64(a-b)) <= 2e-4*(1+math.Abs(float64(b)))
}

func testBackend(t testing.TB) backends.Backend {
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is one synthetic model: every weight drawn at random (the output
// layer too, which Config.Init starts at zero), rank_gate 1 on domain 1 so
// both ranking sources are exercised.
type fixture struct {
	name  string
	items *tasks.ItemTable
	cfg   models.Config
	w     *models.Weights
}

// randomWeights draws every weight of cfg at random (the output layer too,
// which Config.Init starts at zero), with rank_gate 1 on domain 1, step
// sizes of 0.05-0.15 and positive shrinkages and domain scales.
func randomWeights(cfg models.Config, seed uint64) *models.Weights {
	w := cfg.Init(seed)
	r := rand.New(rand.NewPCG(seed, 7))
	for i, s := range w.Specs {
		v := w.Values[i]
		switch {
		case s.Name == "rank_gate":
			if len(v) > 1 {
				v[1] = 1
			}
		case strings.HasPrefix(s.Name, "lr_"):
			v[0] = float32(math.Log(0.05 + 0.1*r.Float64()))
		case s.Name == "enc_lambda" || s.Name == "domain_scale":
			for k := range v {
				v[k] = float32(0.5 + r.Float64())
			}
		default:
			for k := range v {
				v[k] = float32(0.3 * r.NormFloat64())
			}
		}
	}
	return w
}

func newFixture(t testing.TB, arch string, encoder bool, adapt []string, rank, learnLR bool, seed uint64) fixture {
	return newFixtureWidths(t, arch, encoder, adapt, rank, learnLR, seed, 4, 3, [2]int{5, 4})
}

// newFixtureWidths is newFixture with the item and user vector widths and
// the hidden layers given.
func newFixtureWidths(t testing.TB, arch string, encoder bool, adapt []string, rank, learnLR bool, seed uint64, itemDim, userDim int, hidden [2]int) fixture {
	items := synth.Items(1, 40, 30)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.Config{Arch: arch, ItemDim: itemDim, UserDim: userDim, Hidden: hidden, Encoder: encoder, Adapt: adapt,
		InnerSteps: 3, InnerLR: 0.1, LearnInnerLR: learnLR, Rank: rank, Shape: cat.Shape()}
	w := randomWeights(cfg, seed)
	name := fmt.Sprintf("%s-enc%v-adapt%v-rank%v-lr%v", arch, encoder, adapt, rank, learnLR)
	return fixture{name: name, items: items, cfg: cfg, w: w}
}

// fixtures covers every architecture, with and without the encoder, for
// every adapt setting Config.Validate accepts; the ranking score and the
// learned step sizes alternate across them.
func fixtures(t testing.TB) []fixture {
	var out []fixture
	n := uint64(0)
	for _, arch := range []string{models.FCNN, models.NCF} {
		for _, enc := range []bool{true, false} {
			for _, ad := range [][]string{nil, {models.GroupLast}, {models.GroupHead}, {models.GroupLast, models.GroupHead}} {
				n++
				out = append(out, newFixture(t, arch, enc, ad, n%2 == 0, n%3 != 0, n))
			}
		}
	}
	return out
}

// support draws k distinct items of a domain with normalised ratings.
func support(r *rand.Rand, n, k int) []tasks.Rated {
	out := make([]tasks.Rated, 0, k)
	for _, i := range r.Perm(n)[:k] {
		out = append(out, tasks.Rated{Item: int32(i), Norm: float32(2*r.Float64() - 1)})
	}
	return out
}

// refAdapt runs the adaptation through lib/models' own graph functions
// (Config.ItemTower, UserInit via AdaptUsers, Taste): the graph the serving
// model runs, built here from the exported API, returning the initial user
// vector and the adapted tensors in FastNames order, then the taste.
func refAdapt(t *testing.T, b backends.Backend, f fixture, cat *models.Catalog, d int32, sup []tasks.Rated, off []float32) (u0 []float32, fast map[string][]float32, taste []float32) {
	cfg := f.cfg
	specs := cfg.Vars()
	k := max(8, len(sup))
	set := cat.NewSet(1, k)
	if err := cat.Fill(set, 0, d, sup); err != nil {
		t.Fatal(err)
	}
	names := cfg.FastNames()
	exec, err := NewExec(b, func(in []*Node) []*Node {
		v := models.Vars{}
		for i, s := range specs {
			v[s.Name] = in[i]
		}
		it, r, m := models.SetFromNodes(in[len(specs) : len(specs)+models.SetInputs])
		dom, offset := in[len(specs)+models.SetInputs], in[len(specs)+models.SetInputs+1]
		x, bi := cfg.ItemTower(v, it)
		s := models.SetNodes{X: x, B: bi, R: r, M: m, Dom: dom}
		dm := cfg.Domain(v, dom)
		start, fast := cfg.AdaptUsers(v, s, dm, offset, cfg.InnerSteps, true)
		out := []*Node{start["u"]}
		for _, n := range names {
			out = append(out, fast[n])
		}
		if cfg.Rank {
			rs := cfg.RankItems(v, it, x)
			ts := cfg.Taste(v, s, rs, dm.Mu)
			g := InsertAxes(Gather(v["rank_gate"], Reshape(dom, 1, 1)), -1)
			out = append(out, Add(Mul(g, ts.Content), Mul(OneMinus(g), ts.Fit)))
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	var args []any
	for i, s := range specs {
		args = append(args, tensors.FromFlatDataAndDimensions(f.w.Values[i], s.Dims...))
	}
	for _, x := range cat.Tensors(set) {
		args = append(args, x)
	}
	if off == nil {
		off = make([]float32, cfg.UserDim)
	}
	args = append(args, tensors.FromFlatDataAndDimensions([]int32{d}, 1), tensors.FromFlatDataAndDimensions(off, 1, cfg.UserDim))
	out, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	u0 = tensors.MustCopyFlatData[float32](out[0])
	fast = map[string][]float32{}
	for i, n := range names {
		fast[n] = tensors.MustCopyFlatData[float32](out[1+i])
	}
	if cfg.Rank {
		taste = tensors.MustCopyFlatData[float32](out[1+len(names)])
	}
	return u0, fast, taste
}

// sameVec fails unless got equals want to float32 tolerance and returns
// the largest absolute difference.
func sameVec(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		if !close32(got[i], want[i]) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %g, the graph gives %g", what, i, got[i], want[i])
		}
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	return worst
}

// TestAdaptedStateMatchesGraph: the hand-derived inner loop gives the
// adapted tensors lib/models' graph gives, for every fixture, K = 0, 1, 3,
// 10, both domains, with and without a user-vector offset.
func TestAdaptedStateMatchesGraph(t *testing.T) {
	b := testBackend(t)
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			s, err := New(f.name, f.cfg, f.w, f.items)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(11, 1))
			moved := false
			for d := range int32(2) {
				for _, k := range []int{0, 1, 3, 10} {
					sup := support(r, s.cat.Items[d], k)
					var off []float32
					if k == 3 {
						off = []float32{0.2, -0.1, 0.3}
					}
					u0, fast, taste := refAdapt(t, b, f, s.cat, d, sup, off)
					got, err := s.Adapt(d, sup, off)
					if err != nil {
						t.Fatal(err)
					}
					at := fmt.Sprintf("domain %d K=%d", d, k)
					sameVec(t, at+" u0", got.U0, u0)
					if len(got.Fast) != len(fast) {
						t.Fatalf("%s: %d adapted tensors, the graph adapts %d", at, len(got.Fast), len(fast))
					}
					for n, v := range fast {
						sameVec(t, at+" "+n, got.Fast[n], v)
					}
					if f.cfg.Rank {
						sameVec(t, at+" taste", got.Taste, taste)
					}
					if !slices.Equal(got.Fast["u"], got.U0) {
						moved = true
					}
				}
			}
			// A user a ReLU pattern leaves with no gradient keeps u; not all.
			if !moved {
				t.Fatal("the inner loop never moved u")
			}
		})
	}
}

// TestScoresMatchModel: the fast scorer's predictions and ranking scores
// equal models.Model's (adaptation graph + Go head) for every fixture,
// K = 0, 1, 3, 10, in both domains and across domains, and so do the
// ablations evaluate scores.
func TestScoresMatchModel(t *testing.T) {
	b := testBackend(t)
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			m, err := models.NewModel(f.name, b, f.cfg, f.w, f.items)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(f.name, f.cfg, f.w, f.items)
			if err != nil {
				t.Fatal(err)
			}
			compareScorers(t, m, s, 3)
		})
	}
}

// compareScorers checks s against the graph model m on random users, the
// whole catalogue of every domain as candidates.
func compareScorers(t *testing.T, m *models.Model, s *Scorer, users int) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	cat := s.Catalog()
	worst := 0.0
	ablM, err := models.Ablations(m)
	if err != nil {
		t.Fatal(err)
	}
	ablS, err := s.Ablations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ablM) != len(ablS) {
		t.Fatalf("%d ablations, lib/models has %d", len(ablS), len(ablM))
	}
	for i := range ablM {
		if ablM[i].Name() != ablS[i].Name() {
			t.Fatalf("ablation %d is %s, lib/models' is %s", i, ablS[i].Name(), ablM[i].Name())
		}
	}
	for d := range int32(len(cat.Items)) {
		cands := make([]int32, cat.Items[d])
		for i := range cands {
			cands[i] = int32(i)
		}
		for _, k := range []int{0, 1, 3, 10} {
			for range users {
				sup := support(r, cat.Items[d], min(k, cat.Items[d]))
				at := fmt.Sprintf("domain %d K=%d", d, k)
				wp, wr, err := m.ScoreRank(d, sup, cands)
				if err != nil {
					t.Fatal(err)
				}
				gp, gr, err := s.ScoreRank(d, sup, cands)
				if err != nil {
					t.Fatal(err)
				}
				worst = max(worst, sameVec(t, at+" pred", gp, wp), sameVec(t, at+" rank", gr, wr))
				// The allocation-free entry point writes the same.
				pp, rr := make([]float32, len(cands)), make([]float32, len(cands))
				if err := s.ScoreInto(0, nil, d, sup, cands, pp, rr); err != nil {
					t.Fatal(err)
				}
				sameVec(t, at+" ScoreInto pred", pp, gp)
				sameVec(t, at+" ScoreInto rank", rr, gr)
				for i := range ablM {
					w, err := ablM[i].Score(d, sup, cands)
					if err != nil {
						t.Fatal(err)
					}
					g, err := ablS[i].Score(d, sup, cands)
					if err != nil {
						t.Fatal(err)
					}
					sameVec(t, at+" "+ablS[i].Name(), g, w)
				}
				// Cross-domain: a source history in the other domain.
				sd := (d + 1) % int32(len(cat.Items))
				src := support(r, cat.Items[sd], min(5, cat.Items[sd]))
				wp, wr, err = m.ScoreCrossRank(sd, src, d, sup, cands)
				if err != nil {
					t.Fatal(err)
				}
				gp, gr, err = s.ScoreCrossRank(sd, src, d, sup, cands)
				if err != nil {
					t.Fatal(err)
				}
				worst = max(worst, sameVec(t, at+" cross pred", gp, wp), sameVec(t, at+" cross rank", gr, wr))
			}
		}
	}
	t.Logf("largest score difference from the graph model: %.3g", worst)
}

func TestErrors(t *testing.T) {
	f := newFixture(t, models.NCF, true, []string{models.GroupLast}, true, true, 1)
	s, err := New(f.name, f.cfg, f.w, f.items)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Score(5, nil, nil); err == nil {
		t.Fatal("domain 5 of 2: want an error")
	}
	if _, err := s.Score(0, nil, []int32{40}); err == nil {
		t.Fatal("candidate 40 of a 40-item domain: want an error")
	}
	if _, err := s.Score(0, []tasks.Rated{{Item: -1}}, []int32{0}); err == nil {
		t.Fatal("support item -1: want an error")
	}
	if _, err := s.ScoreCross(1, []tasks.Rated{{Item: 30}}, 0, nil, []int32{0}); err == nil {
		t.Fatal("source item 30 of a 30-item domain: want an error")
	}
	bad := *f.w
	bad.Values = bad.Values[:len(bad.Values)-1]
	if _, err := New("bad", f.cfg, &bad, f.items); err == nil {
		t.Fatal("a missing parameter: want an error")
	}
}

// TestSteadyStateAllocs: once warm, adapting (K = 10, a source history
// too) and scoring a catalogue through ScoreInto allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops objects at random under the race detector")
	}
	for _, f := range []fixture{
		newFixture(t, models.NCF, true, []string{models.GroupLast}, true, true, 2),
		newFixture(t, models.FCNN, false, []string{models.GroupLast, models.GroupHead}, false, false, 3),
	} {
		s, err := New(f.name, f.cfg, f.w, f.items)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		sup, src := support(r, 40, 10), support(r, 30, 10)
		cands := make([]int32, 40)
		for i := range cands {
			cands[i] = int32(i)
		}
		pred, rank := make([]float32, 40), make([]float32, 40)
		run := func() {
			if err := s.ScoreInto(1, src, 0, sup, cands, pred, rank); err != nil {
				t.Fatal(err)
			}
		}
		run()
		if n := testing.AllocsPerRun(50, run); n != 0 {
			t.Fatalf("%s: %g allocations per adapt+score call in steady state, want 0", f.name, n)
		}
	}
}

// realModels are the lib/models exports the pipeline trains (ncf and fcnn
// architectures; maml, maml-fo and reptile differ in weights only).
var realModels = []string{"maml", "maml-fo", "reptile", "ncf", "fcnn", "maml-lodo-books"}

// artifactsDir is where the trained models and the items table are:
// $CROSSREC_ARTIFACTS, else the repository's artifacts folder. The real
// exports are DVC outputs a fresh clone does not have; the synthetic
// fixtures above hold the equality without them, so this test skips when
// they are absent.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("CROSSREC_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), "artifacts")
	}
	if _, err := os.Stat(filepath.Join(dir, "tasks", "items.arrow")); err != nil {
		t.Skipf("no items table under %s (set CROSSREC_ARTIFACTS): %v", dir, err)
	}
	return dir
}

// TestRealModelsMatch: on the exported models, the fast scorer's scores
// equal the graph model's for random users of every domain.
func TestRealModelsMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("scores the real catalogue with every model")
	}
	dir := artifactsDir(t)
	items, _, err := tasks.LoadItems(filepath.Join(dir, "tasks", "items.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range realModels {
		md := filepath.Join(dir, "models", name, "seed-1")
		if _, err := os.Stat(filepath.Join(md, models.WeightsFile)); err != nil {
			t.Logf("%s: not exported, skipped", md)
			continue
		}
		found++
		t.Run(name, func(t *testing.T) {
			m, err := models.LoadModel(md, items)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Load(md, items)
			if err != nil {
				t.Fatal(err)
			}
			compareScorers(t, m, s, 1)
		})
	}
	if found == 0 {
		t.Skipf("no exported lib/models model under %s/models", dir)
	}
}

// TestConcurrentScoring: requests on several goroutines at once (the
// evaluation harness's use; the pool hands each its own scratch) give the
// scores a lone request gives.
func TestConcurrentScoring(t *testing.T) {
	f := newFixture(t, models.NCF, true, []string{models.GroupLast}, true, true, 4)
	s, err := New(f.name, f.cfg, f.w, f.items)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 3))
	sups := make([][]tasks.Rated, 16)
	want := make([][]float32, len(sups))
	cands := make([]int32, 40)
	for i := range cands {
		cands[i] = int32(i)
	}
	for i := range sups {
		sups[i] = support(r, 40, i%11)
		if _, want[i], err = s.ScoreRank(0, sups[i], cands); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for rep := range 20 {
				i := (g + rep) % len(sups)
				_, got, err := s.ScoreRank(0, sups[i], cands)
				if err == nil && !slices.Equal(got, want[i]) {
					err = fmt.Errorf("user %d: concurrent scores differ", i)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
