package gnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	gx "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/backend"
	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// episodes builds users who each pick 2*k items from one group of size
// `group` in every domain of doms (the same group index everywhere, so a
// user's taste carries across domains); the first k items of each domain
// are the support. Users are named prefix+u, shared across the domains.
func episodes(nUsers, nItems, group, k int, grp, prefix string, doms []int32, seed uint64) []tasks.Episode {
	r := rand.New(rand.NewPCG(seed, 9))
	var out []tasks.Episode
	for u := range nUsers {
		g := r.IntN(nItems / group)
		for _, d := range doms {
			e := tasks.Episode{Domain: fmt.Sprint("d", d), DomainIndex: d, User: fmt.Sprintf("%s%d", prefix, u), Group: grp}
			for j, p := range r.Perm(group)[:2*k] {
				x := tasks.Rated{Item: int32(g*group + p), Norm: 1}
				if j < k {
					e.Support = append(e.Support, x)
				} else {
					e.Query = append(e.Query, x)
				}
			}
			out = append(out, e)
		}
	}
	return out
}

func items(n int, doms int) *tasks.ItemTable {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	t := &tasks.ItemTable{}
	for d := range doms {
		t.Domains = append(t.Domains, tasks.ItemDomain{Name: fmt.Sprint("d", d), IDs: ids})
	}
	return t
}

func options() Options {
	return Options{Dim: 16, Layers: 2, Epochs: 40, Batch: 256, LR: 0.01, L2: 1e-4, UserEmbeddings: true, EvalEvery: 20, SupportK: 3, Seed: 5}
}

func smallGraph(t *testing.T) *Graph {
	t.Helper()
	eps := episodes(30, 20, 5, 2, split.Train, "u", []int32{0}, 1)
	tr, err := baselines.NewTrain(eps, []int{20})
	if err != nil {
		t.Fatal(err)
	}
	return NewGraph(tr, []int{0})
}

// TestSmoothMatchesGraph holds the plain-Go propagation to a GoMLX graph of
// LightGCN's layer combination (gathers of the neighbours' rows, scatter-
// summed into each node).
func TestSmoothMatchesGraph(t *testing.T) {
	gr := smallGraph(t)
	const dim, layers = 4, 3
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, gr.Nodes*dim)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	got := gr.smooth(x, dim, layers, nil)
	var src, dst []int32
	var w []float32
	for n := range gr.Nodes {
		for e := gr.Start[n]; e < gr.Start[n+1]; e++ {
			dst, src, w = append(dst, int32(n)), append(src, gr.Nbr[e]), append(w, gr.Weight[e])
		}
	}
	sel, err := backend.Select("go")
	if err != nil {
		t.Fatal(err)
	}
	ne := len(src)
	exec, err := gx.NewExec(sel.Backend, func(x, src, dst, w *gx.Node) *gx.Node {
		acc, cur := x, x
		for range layers {
			msg := gx.Mul(gx.Gather(cur, gx.Reshape(src, ne, 1)), gx.InsertAxes(w, -1))
			cur = gx.Scatter(gx.Reshape(dst, ne, 1), msg, shapes.Make(dtypes.Float32, gr.Nodes, dim), false, false)
			acc = gx.Add(acc, cur)
		}
		return gx.DivScalar(acc, float64(layers+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, gr.Nodes, dim), tensors.FromFlatDataAndDimensions(src, ne),
		tensors.FromFlatDataAndDimensions(dst, ne), tensors.FromFlatDataAndDimensions(w, ne))
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](out[0])
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("element %d: plain Go %g, GoMLX %g", i, got[i], want[i])
		}
	}
}

// TestGradientFiniteDifferences checks the trainer's gradient (the BPR
// gradient at the final embeddings, propagated back by the same smoothing)
// against central differences of the loss as a function of the layer-0
// embeddings.
func TestGradientFiniteDifferences(t *testing.T) {
	gr := smallGraph(t)
	const dim, layers = 3, 2
	r := rand.New(rand.NewPCG(2, 2))
	e := make([]float64, gr.Nodes*dim)
	for i := range e {
		e[i] = r.NormFloat64() * 0.5
	}
	u := []int32{0, 3, 7, 3}
	i := []int32{int32(gr.Users) + 1, int32(gr.Users) + 4, int32(gr.Users) + 12, int32(gr.Users) + 0}
	j := []int32{int32(gr.Users) + 19, int32(gr.Users) + 2, int32(gr.Users) + 5, int32(gr.Users) + 9}
	loss := func(e []float64) (float64, []float32) {
		x := make([]float32, len(e))
		for k, v := range e {
			x[k] = float32(v)
		}
		f := gr.smooth(x, dim, layers, nil)
		g := make([]float32, len(f))
		l := bpr(f, g, dim, u, i, j)
		return l, gr.smooth(g, dim, layers, nil)
	}
	_, grad := loss(e)
	const h = 1e-2
	for _, k := range []int{0, 5, 9, gr.Users*dim + 3, (gr.Users+4)*dim + 1, (gr.Users+19)*dim + 2, (gr.Users+7)*dim + 0} {
		p, m := slices.Clone(e), slices.Clone(e)
		p[k] += h
		m[k] -= h
		lp, _ := loss(p)
		lm, _ := loss(m)
		num := (lp - lm) / (2 * h)
		if math.Abs(num-float64(grad[k])) > 1e-3*math.Max(1, math.Abs(num)) {
			t.Fatalf("coordinate %d: gradient %g, finite difference %g", k, grad[k], num)
		}
	}
}

// TestTrainLearnsGroups: users pick items from one group; a new user
// folded in from three support items must find the rest of their group.
func TestTrainLearnsGroups(t *testing.T) {
	for _, ue := range []bool{true, false} {
		t.Run(fmt.Sprint("user_embeddings=", ue), func(t *testing.T) {
			it := items(60, 1)
			train := episodes(300, 60, 10, 3, split.Train, "t", []int32{0}, 1)
			valid := episodes(60, 60, 10, 3, split.Valid, "v", []int32{0}, 2)
			o := options()
			o.UserEmbeddings = ue
			res, err := Train(it, train, valid, o)
			if err != nil {
				t.Fatal(err)
			}
			first, last := res.Curve[0].ValidNDCG, res.Curve[len(res.Curve)-1].ValidNDCG
			t.Logf("validation NDCG@10 %.3f at the start, %.3f at the end (exported epoch %d)", first, last, res.BestEpoch["d0"])
			if last < first+0.2 {
				t.Fatalf("validation NDCG@10 went from %.3f to %.3f: the graph did not learn the groups", first, last)
			}
			m, err := NewModel("gnn", res.Config, res.Weights)
			if err != nil {
				t.Fatal(err)
			}
			cands := make([]int32, 60)
			for i := range cands {
				cands[i] = int32(i)
			}
			hit := 0
			test := episodes(100, 60, 10, 3, split.Test, "x", []int32{0}, 3)
			for _, e := range test {
				s, err := m.Score(0, e.Support, cands)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range e.Support {
					s[x.Item] = float32(math.Inf(-1))
				}
				if slices.Index(s, slices.Max(s))/10 == int(e.Support[0].Item)/10 {
					hit++
				}
			}
			if hit < 90 {
				t.Fatalf("the top item is in the user's group for %d of 100 new users, want at least 90", hit)
			}
		})
	}
}

// TestCrossDomainUsesSource: two domains whose users are the same people
// (shared ids) form one graph; a new user with a source history and no
// target support is ranked by it, and one with neither by popularity.
func TestCrossDomainUsesSource(t *testing.T) {
	it := items(40, 2)
	train := episodes(300, 40, 10, 3, split.Train, "t", []int32{0, 1}, 1)
	valid := episodes(40, 40, 10, 3, split.Valid, "v", []int32{0, 1}, 2)
	o := options()
	res, err := Train(it, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Config.Groups) != 1 {
		t.Fatalf("groups %v: the two domains share their users and must be one graph", res.Config.Groups)
	}
	m, err := NewModel("gnn", res.Config, res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	cands := make([]int32, 40)
	for i := range cands {
		cands[i] = int32(i)
	}
	hit := 0
	test := episodes(100, 40, 10, 3, split.Test, "x", []int32{0}, 3)
	for _, e := range test {
		s, err := m.ScoreCross(0, e.Support, 1, nil, cands)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Index(s, slices.Max(s))/10 == int(e.Support[0].Item)/10 {
			hit++
		}
	}
	if hit < 80 {
		t.Fatalf("from the source history alone the top target item is in the user's group for %d of 100 users, want at least 80", hit)
	}
	cold, err := m.Score(1, nil, cands)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cands {
		if want := float32(math.Log1p(float64(m.dom[1].degree[c]))); cold[i] != want {
			t.Fatalf("no edges: item %d scored %g, want its log degree %g", c, cold[i], want)
		}
	}
}

// TestTrainDeterministic: the same seed gives bit-identical exports.
func TestTrainDeterministic(t *testing.T) {
	it := items(30, 1)
	train := episodes(80, 30, 10, 3, split.Train, "t", []int32{0}, 1)
	valid := episodes(20, 30, 10, 3, split.Valid, "v", []int32{0}, 2)
	o := options()
	o.Epochs, o.EvalEvery = 10, 10
	a, err := Train(it, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(it, train, valid, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Weights.Values {
		if !slices.Equal(a.Weights.Values[i], b.Weights.Values[i]) {
			t.Fatalf("%s differs between two runs of seed %d", a.Weights.Specs[i].Name, o.Seed)
		}
	}
}

// TestExportRoundTrip: a saved model loads with the same scores; a changed
// catalogue, bad items and domains are refused; held-out users never train.
func TestExportRoundTrip(t *testing.T) {
	it := items(30, 1)
	train := episodes(50, 30, 10, 3, split.Train, "t", []int32{0}, 1)
	o := options()
	o.Epochs, o.EvalEvery = 2, 2
	res, err := Train(it, train, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "seed-1")
	if err := Save(dir, Header{Name: "gnn", Config: res.Config}, res.Weights, artifact.Lineage{Stage: "test"}); err != nil {
		t.Fatal(err)
	}
	if !IsExport(dir) {
		t.Fatal("IsExport does not recognise a saved LightGCN")
	}
	m, err := Load(dir, it)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := NewModel("gnn", res.Config, res.Weights)
	sup := []tasks.Rated{{Item: 3}, {Item: 7}, {Item: 3}}
	cands := []int32{0, 5, 29}
	a, _ := m.Score(0, sup, cands)
	b, _ := orig.Score(0, sup, cands)
	if !slices.Equal(a, b) {
		t.Fatalf("loaded scores %v, trained model's %v", a, b)
	}
	if _, err := Load(dir, items(31, 1)); err == nil {
		t.Fatal("a model trained for 30 items loaded against 31")
	}
	if _, err := m.Score(0, []tasks.Rated{{Item: 30}}, cands); err == nil {
		t.Fatal("a support item outside the catalogue was scored")
	}
	if _, err := m.Score(0, sup, []int32{-1}); err == nil {
		t.Fatal("a candidate outside the catalogue was scored")
	}
	if _, err := m.ScoreCross(3, nil, 0, sup, cands); err == nil {
		t.Fatal("an unknown source domain was accepted")
	}
	bad := &models.Weights{Specs: res.Weights.Specs, Values: slices.Clone(res.Weights.Values)}
	bad.Values[0] = slices.Clone(bad.Values[0])
	bad.Values[0][0] = float32(math.Inf(1))
	if _, err := NewModel("gnn", res.Config, bad); err == nil {
		t.Fatal("an infinite embedding was accepted")
	}
	if _, err := Train(it, episodes(5, 30, 10, 3, split.Test, "x", []int32{0}, 1), nil, o); err == nil {
		t.Fatal("trained on test episodes")
	}
}
