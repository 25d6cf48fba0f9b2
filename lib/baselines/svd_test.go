package baselines

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// randomUsers draws m users, each with a sorted set of distinct items of n.
func randomUsers(seed uint64, m, n int) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 0))
	users := make([][]int32, m)
	for u := range users {
		for i := range n {
			if rng.Float64() < 0.3 {
				users[u] = append(users[u], int32(i))
			}
		}
	}
	return users
}

// scaledGram is A^T A for the binary user-item matrix with columns scaled
// by 1/sqrt(count), computed densely.
func scaledGram(users [][]int32, n int) *mat.Dense {
	a := mat.NewDense(len(users), n, nil)
	count := make([]float64, n)
	for _, u := range users {
		for _, i := range u {
			count[i]++
		}
	}
	for r, u := range users {
		for _, i := range u {
			a.Set(r, int(i), 1/math.Sqrt(count[i]))
		}
	}
	var g mat.Dense
	g.Mul(a.T(), a)
	return &g
}

// TestItemFactorsRecoverGram: at full rank F F^T is the scaled Gram matrix
// (the items' cosine similarities); at rank 4 it is the best rank-4
// approximation, the one an exact eigendecomposition gives.
func TestItemFactorsRecoverGram(t *testing.T) {
	const n = 12
	users := randomUsers(7, 40, n)
	g := scaledGram(users, n)
	for i := range n {
		if math.Abs(g.At(i, i)-1) > 1e-12 {
			t.Fatalf("gram diagonal %d = %g, want 1 (cosine of an item with itself)", i, g.At(i, i))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(n, g.RawMatrix().Data), true) {
		t.Fatal("eigen decomposition failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for _, r := range []int{n, 4} {
		f := CooccurFactors(users, n, r)
		var got mat.Dense
		got.Mul(f, f.T())
		want := mat.NewDense(n, n, nil)
		for k := n - r; k < n; k++ { // the r largest eigenpairs
			for i := range n {
				for j := range n {
					want.Set(i, j, want.At(i, j)+vals[k]*vecs.At(i, k)*vecs.At(j, k))
				}
			}
		}
		var diff mat.Dense
		diff.Sub(&got, want)
		if e := mat.Norm(&diff, math.Inf(1)); e > 1e-6 {
			t.Errorf("rank %d: |F F^T - best rank-%d Gram| = %g", r, r, e)
		}
	}
	if CooccurFactors(nil, n, 4) != nil {
		t.Error("no interactions: want nil factors")
	}
}

// trainOf builds a one-domain Train from user item lists (value = 1 + a
// user and item effect so the error models have something to fit).
func trainOf(t *testing.T, users [][]int32, n int) *Train {
	t.Helper()
	var eps []tasks.Episode
	for u, items := range users {
		e := tasks.Episode{User: "u" + string(rune('A'+u%26)) + string(rune('a'+u/26)), Domain: "d", DomainIndex: 0, Group: split.Train}
		for _, i := range items {
			e.Query = append(e.Query, tasks.Rated{Item: i, Norm: float32(0.5 + 0.1*math.Sin(float64(u)) + 0.2*math.Cos(float64(i)))})
		}
		eps = append(eps, e)
	}
	tr, err := NewTrain(eps, []int{n})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func rated(items ...int32) []tasks.Rated {
	out := make([]tasks.Rated, len(items))
	for k, i := range items {
		out[k] = tasks.Rated{Item: i, Norm: 0.7}
	}
	return out
}

func allItems(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// denseEASE is Steck's closed form, written out densely: B = I - P
// diag(1/diag P), P = (X^T X + lambda I)^-1, over all n items.
func denseEASE(users [][]int32, n int, lambda float64) *mat.Dense {
	g := mat.NewDense(n, n, nil)
	for _, u := range users {
		for _, i := range u {
			for _, j := range u {
				g.Set(int(i), int(j), g.At(int(i), int(j))+1)
			}
		}
	}
	for i := range n {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	var p mat.Dense
	if err := p.Inverse(g); err != nil {
		panic(err)
	}
	b := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			if i != j {
				b.Set(i, j, -p.At(i, j)/p.At(j, j))
			}
		}
	}
	return b
}

// TestEASEMatchesTheClosedForm: the Woodbury (fewer users than items) and
// the item-space (fewer items than users) solutions both give x_S B of the
// dense closed form, including a candidate that is a support item (B_jj =
// 0) and an item no training user had.
func TestEASEMatchesTheClosedForm(t *testing.T) {
	for _, c := range []struct{ m, n int }{{15, 40}, {60, 20}} {
		users := randomUsers(3, c.m, c.n)
		users[0] = nil // a user without items
		n := c.n + 1   // item n-1: nobody has it
		tr := trainOf(t, users, n)
		e := NewEASE(1)
		if err := e.FitEASE(tr, 0, 7); err != nil {
			t.Fatal(err)
		}
		if dual := e.dom[0].inv != nil; dual != (c.m < c.n) {
			t.Fatalf("m=%d n=%d: dual form %v", c.m, c.n, dual)
		}
		b := denseEASE(users, n, 7)
		support := []int32{1, 4, 9}
		got, err := e.Score(0, rated(support...), allItems(n))
		if err != nil {
			t.Fatal(err)
		}
		for j := range n {
			want := 0.0
			for _, i := range support {
				want += b.At(int(i), j)
			}
			if math.Abs(float64(got[j])-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("m=%d n=%d item %d: score %g, closed form %g", c.m, c.n, j, got[j], want)
			}
		}
	}
}

// TestItemKNNMatchesBruteForce: shrunk cosine, each candidate's top-k
// neighbours, scores summed over the support; checked against a direct
// computation.
func TestItemKNNMatchesBruteForce(t *testing.T) {
	const n, k, shrink = 30, 4, 2.0
	users := randomUsers(5, 50, n)
	tr := trainOf(t, users, n)
	m := NewItemKNN(1)
	m.FitItemKNN(tr, 0, k, shrink)
	cnt := make([]float64, n)
	co := make([][]float64, n)
	for i := range co {
		co[i] = make([]float64, n)
	}
	for _, u := range users {
		for _, i := range u {
			cnt[i]++
			for _, j := range u {
				co[i][j]++
			}
		}
	}
	support := []int32{0, 3, 7}
	got, _ := m.Score(0, rated(support...), allItems(n))
	for j := range n {
		type nb struct {
			i int
			s float64
		}
		var nbs []nb
		for i := range n {
			if i != j && co[i][j] > 0 {
				nbs = append(nbs, nb{i, co[i][j] / (math.Sqrt(cnt[i]*cnt[j]) + shrink)})
			}
		}
		slices.SortStableFunc(nbs, func(a, b nb) int {
			if a.s != b.s {
				if a.s > b.s {
					return -1
				}
				return 1
			}
			return a.i - b.i
		})
		want := 0.0
		for _, x := range nbs[:min(k, len(nbs))] {
			if slices.Contains(support, int32(x.i)) {
				want += x.s
			}
		}
		if math.Abs(float64(got[j])-want) > 1e-5 {
			t.Errorf("item %d: score %g, brute force %g", j, got[j], want)
		}
	}
}

// TestRP3betaMatchesBruteForce: W_ij = |U_i|^-a sum_u |I_u|^-a |U_j|^-b,
// top-k per row, summed over the support.
func TestRP3betaMatchesBruteForce(t *testing.T) {
	const n, k, alpha, beta = 25, 5, 0.7, 0.3
	users := randomUsers(9, 40, n)
	tr := trainOf(t, users, n)
	m := NewRP3beta(1)
	m.FitRP3beta(tr, 0, alpha, beta, k)
	iu := itemUsers(users, n)
	support := []int32{2, 5}
	want := make([]float64, n)
	for _, i := range support {
		w := make([]float64, n)
		for j := range n {
			if j == int(i) {
				continue
			}
			for _, u := range iu[i] {
				if slices.Contains(users[u], int32(j)) {
					w[j] += math.Pow(float64(len(users[u])), -alpha)
				}
			}
			if w[j] > 0 {
				w[j] *= math.Pow(float64(len(iu[i])), -alpha) * math.Pow(float64(len(iu[j])), -beta)
			}
		}
		order := allItems(n)
		slices.SortStableFunc(order, func(a, b int32) int {
			if w[a] != w[b] {
				if w[a] > w[b] {
					return -1
				}
				return 1
			}
			return int(a - b)
		})
		for _, j := range order[:k] {
			want[j] += w[j]
		}
	}
	got, _ := m.Score(0, rated(support...), allItems(n))
	for j := range n {
		if math.Abs(float64(got[j])-want[j]) > 1e-5 {
			t.Errorf("item %d: score %g, brute force %g", j, got[j], want[j])
		}
	}
}

// TestPureSVDProjects: the score x_S V V^T equals the exact truncated
// SVD's projection at low rank.
func TestPureSVDProjects(t *testing.T) {
	const n, f = 20, 4
	users := randomUsers(11, 30, n)
	tr := trainOf(t, users, n)
	m := NewPureSVD(1)
	if err := m.FitPureSVD(tr, 0, f); err != nil {
		t.Fatal(err)
	}
	a := mat.NewDense(len(users), n, nil)
	for u, items := range users {
		for _, i := range items {
			a.Set(u, int(i), 1)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		t.Fatal("svd failed")
	}
	var v mat.Dense
	svd.VTo(&v)
	support := []int32{1, 6, 13}
	got, _ := m.Score(0, rated(support...), allItems(n))
	for j := range n {
		want := 0.0
		for _, i := range support {
			for k := range f {
				want += v.At(int(i), k) * v.At(j, k)
			}
		}
		// The randomized SVD (4 power iterations) on a random matrix with
		// a flat spectrum is within about 2e-3 of the exact projection.
		if math.Abs(float64(got[j])-want) > 5e-3 {
			t.Errorf("item %d: score %g, exact rank-%d projection %g", j, got[j], f, want)
		}
	}
}

// TestMFFoldInRecoversPlantedUsers: on ratings generated by a rank-2
// model, the fold-in of a new user from 8 of their ratings predicts their
// other ratings far better than the user-bias model does.
func TestMFFoldInRecoversPlantedUsers(t *testing.T) {
	const n, users = 40, 200
	rng := rand.New(rand.NewPCG(1, 2))
	q := make([][2]float64, n)
	for i := range q {
		q[i] = [2]float64{rng.NormFloat64(), rng.NormFloat64()}
	}
	value := func(p [2]float64, i int) float32 { return float32(0.5 + 0.1*(p[0]*q[i][0]+p[1]*q[i][1])) }
	var eps []tasks.Episode
	for u := range users {
		p := [2]float64{rng.NormFloat64(), rng.NormFloat64()}
		e := tasks.Episode{User: "u" + string(rune(u+100)), Domain: "d", Group: split.Train}
		for i := range n {
			if rng.Float64() < 0.5 {
				e.Query = append(e.Query, tasks.Rated{Item: int32(i), Norm: value(p, i)})
			}
		}
		eps = append(eps, e)
	}
	tr, err := NewTrain(eps, []int{n})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMF(1)
	if err := m.FitMF(tr, 0, 2, 0.01, 1, 1, 1); err != nil {
		t.Fatal(err)
	}
	ub := FitUserBias(tr, tr.Means(), []float64{1}, []float64{1})
	var mfErr, ubErr float64
	for range 20 {
		p := [2]float64{rng.NormFloat64(), rng.NormFloat64()}
		var support []tasks.Rated
		for i := range 8 {
			support = append(support, tasks.Rated{Item: int32(i), Norm: value(p, i)})
		}
		cands := allItems(n)[8:]
		a, _ := m.Score(0, support, cands)
		b, _ := ub.Score(0, support, cands)
		for k, j := range cands {
			mfErr += math.Abs(float64(a[k] - value(p, int(j))))
			ubErr += math.Abs(float64(b[k] - value(p, int(j))))
		}
	}
	// Measured: about 0.63 of the user bias's error (ridge-shrunk factors
	// and biases from 8 ratings); a fold-in that ignored the factors would
	// be at 1.
	if mfErr > 0.75*ubErr {
		t.Errorf("fold-in absolute error %g, user bias %g: the factors add too little", mfErr, ubErr)
	}
}

// TestKNNBaselineCorrectsTheBaseline: without neighbours it is the user
// bias baseline exactly; an item whose residuals move with a support
// item's is pulled the same way as that item's residual.
func TestKNNBaselineCorrectsTheBaseline(t *testing.T) {
	const n = 6
	rng := rand.New(rand.NewPCG(4, 4))
	var eps []tasks.Episode
	for u := range 120 {
		taste := float32(rng.NormFloat64() * 0.1)
		e := tasks.Episode{User: "u" + string(rune(u+100)), Domain: "d", Group: split.Train}
		for i := range n {
			v := float32(0.5) + float32(rng.NormFloat64()*0.02)
			if i < 2 { // items 0 and 1 share the user's taste
				v += taste
			}
			e.Query = append(e.Query, tasks.Rated{Item: int32(i), Norm: v})
		}
		eps = append(eps, e)
	}
	tr, _ := NewTrain(eps, []int{n})
	ub := FitUserBias(tr, tr.Means(), []float64{1}, []float64{5})
	m := NewKNNBaseline(ub)
	m.FitKNNBaseline(tr, 0, 3, 10, 0)
	base, _ := ub.Score(0, nil, allItems(n))
	got, _ := m.Score(0, nil, allItems(n))
	if !slices.Equal(base, got) {
		t.Errorf("empty support: %v, user bias %v", got, base)
	}
	support := []tasks.Rated{{Item: 0, Norm: 0.8}, {Item: 3, Norm: 0.5}}
	base, _ = ub.Score(0, support, []int32{1, 2})
	got, _ = m.Score(0, support, []int32{1, 2})
	if got[0] <= base[0]+0.05 {
		t.Errorf("item 1 (co-moving with item 0, rated high): %g, baseline %g", got[0], base[0])
	}
	if math.Abs(float64(got[1]-base[1])) > 0.05 {
		t.Errorf("item 2 (unrelated): %g moved far from the baseline %g", got[1], base[1])
	}
}

// TestItemKNNCrossUsesTheSourceHistory: in two domains that share users,
// source item 0 goes with target item 3 and nothing else; a user with no
// target support and source item 0 in their history gets target item 3
// first, and without the history every target item ties at 0.
func TestItemKNNCrossUsesTheSourceHistory(t *testing.T) {
	var eps []tasks.Episode
	for u := range 20 {
		id := "p" + string(rune('a'+u))
		src, tgt := int32(1), int32(u%3)
		if u < 8 {
			src, tgt = 0, 3
		}
		eps = append(eps,
			tasks.Episode{User: id, Domain: "a", DomainIndex: 0, Group: split.Train, Query: []tasks.Rated{{Item: src, Norm: 1}, {Item: 2, Norm: 1}}},
			tasks.Episode{User: id, Domain: "b", DomainIndex: 1, Group: split.Train, Query: []tasks.Rated{{Item: tgt, Norm: 1}, {Item: 4, Norm: 1}}})
	}
	tr, err := NewTrain(eps, []int{3, 5})
	if err != nil {
		t.Fatal(err)
	}
	m := NewItemKNN(2)
	m.FitItemKNN(tr, 0, 10, 0)
	m.FitItemKNN(tr, 1, 10, 0)
	m.FitCross(tr)
	cands := []int32{0, 1, 2, 3}
	got, err := m.ScoreCross(0, rated(0), 1, nil, cands)
	if err != nil {
		t.Fatal(err)
	}
	best := slices.Index(got, slices.Max(got))
	if cands[best] != 3 {
		t.Errorf("scores %v: want target item 3 first", got)
	}
	plain, _ := m.Score(1, nil, cands)
	for _, v := range plain {
		if v != 0 {
			t.Errorf("no support, no source: scores %v, want all 0", plain)
		}
	}
}

// TestNewTrainRefusesHeldOutUsers: the fitted models never see a
// validation or test user.
func TestNewTrainRefusesHeldOutUsers(t *testing.T) {
	for _, g := range []string{split.Valid, split.Test} {
		_, err := NewTrain([]tasks.Episode{{User: "x", Domain: "d", Group: g}}, []int{3})
		if err == nil {
			t.Errorf("a %s episode was accepted", g)
		}
	}
}

// TestPeersRefuseBadInput: items outside the catalogue and domains the
// peer was not fitted on are errors, never a silent score.
func TestPeersRefuseBadInput(t *testing.T) {
	users := randomUsers(2, 20, 10)
	tr := trainOf(t, users, 10)
	e := NewEASE(2)
	e.FitEASE(tr, 0, 5)
	k := NewItemKNN(2)
	k.FitItemKNN(tr, 0, 5, 0)
	for name, f := range map[string]func(int32, []tasks.Rated, []int32) ([]float32, error){"ease": e.Score, "itemknn": k.Score} {
		if _, err := f(0, rated(10), allItems(10)); err == nil {
			t.Errorf("%s: support item outside the catalogue accepted", name)
		}
		if _, err := f(0, rated(1), []int32{-1}); err == nil {
			t.Errorf("%s: candidate -1 accepted", name)
		}
		if _, err := f(1, rated(1), allItems(3)); err == nil {
			t.Errorf("%s: an unfitted domain was scored", name)
		}
	}
}
