package gnn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// clusterModel is a two-domain joint graph (domains a and b, n items each)
// whose item i is the one-hot of its cluster i%4 times scale in every
// layer, with the given degrees (the same in both domains).
func clusterModel(t *testing.T, n int, scale float32, degree []float32) *Model {
	t.Helper()
	const dim = 4
	c := Config{Dim: dim, Layers: 1, Domains: []string{"a", "b"}, Items: []int{n, n}, Groups: [][]int{{0, 1}}}
	emb := make([]float32, n*dim)
	for i := range n {
		emb[i*dim+i%dim] = scale
	}
	w := &models.Weights{Specs: c.Vars()}
	for range c.Domains {
		w.Values = append(w.Values, emb, slices.Clone(emb), degree)
	}
	m, err := NewModel("t", c, w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// clusterEpisodes are users of domain d whose support (and, with a
// source, their history in the other domain) holds k items of cluster c and
// whose query is ten more of that cluster, or, when byDegree, the ten
// items of highest degree outside the support.
func clusterEpisodes(n, users, k int, d int32, degree []float32, byDegree bool) []tasks.Episode {
	r := rand.New(rand.NewPCG(7, uint64(d)))
	top := make([]int, n)
	for i := range top {
		top[i] = i
	}
	slices.SortStableFunc(top, func(a, b int) int { return int(degree[b] - degree[a]) })
	var out []tasks.Episode
	for range users {
		c := r.IntN(4)
		perm := r.Perm(n / 4)
		e := tasks.Episode{DomainIndex: d, SourceDomainIndex: 1 - d}
		for j := range k + 10 {
			x := tasks.Rated{Item: int32(perm[j]*4 + c), Norm: 1}
			if j < k {
				e.Support = append(e.Support, x)
			} else if !byDegree {
				e.Query = append(e.Query, x)
			}
		}
		for j := range 5 {
			e.Source = append(e.Source, tasks.Rated{Item: int32(perm[k+10+j]*4 + c), Norm: 1})
		}
		for _, i := range top {
			if len(e.Query) == 10 {
				break
			}
			if byDegree && !slices.ContainsFunc(e.Support, func(x tasks.Rated) bool { return x.Item == int32(i) }) {
				e.Query = append(e.Query, tasks.Rated{Item: int32(i), Norm: 1})
			}
		}
		out = append(out, e)
	}
	return out
}

// randomDegrees are long-tailed, as item degrees are: exp of a uniform
// on [0, 10), rounded down.
func randomDegrees(n int) []float32 {
	r := rand.New(rand.NewPCG(3, 3))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(math.Floor(math.Exp(10 * r.Float64())))
	}
	return d
}

// TestNoPriorIsThePapersFoldIn checks the scores without a prior (and the
// ablation of a model with one) against LightGCN's fold-in written out,
// and the prior's term against u·e_i + gamma·log(1+degree).
func TestNoPriorIsThePapersFoldIn(t *testing.T) {
	const n = 40
	deg := randomDegrees(n)
	m := clusterModel(t, n, 1, deg)
	cands := make([]int32, n)
	for i := range cands {
		cands[i] = int32(i)
	}
	support := []tasks.Rated{{Item: 1}, {Item: 5}, {Item: 6}}
	source := []tasks.Rated{{Item: 2}, {Item: 9}}
	paper := func(items []int32) []float64 {
		u := make([]float64, 4)
		for _, i := range items {
			u[i%4] += 1 / math.Sqrt(float64(len(items))) / math.Sqrt(float64(deg[i])+1) / 2
		}
		out := make([]float64, n)
		for i := range out {
			out[i] = u[i%4]
		}
		return out
	}
	check := func(what string, got []float32, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Fatalf("%s: item %d scores %g, want %g", what, i, got[i], want[i])
			}
		}
	}
	got, err := m.Score(0, support, cands)
	if err != nil {
		t.Fatal(err)
	}
	check("no prior", got, paper([]int32{1, 5, 6}))
	gotX, err := m.ScoreCross(1, source, 0, support, cands)
	if err != nil {
		t.Fatal(err)
	}
	check("no prior, cross", gotX, paper([]int32{1, 5, 6, 2, 9}))

	m.Config.Priors = []Prior{{Ks: []int{1, 3}, Gamma: []float64{5, 0.5}, CrossKs: []int{0, 3}, CrossSource: []float64{0.3, 0}, CrossGamma: []float64{2, 0.25}}, {}}
	if err := m.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err = m.Score(0, support, cands)
	if err != nil {
		t.Fatal(err)
	}
	want := paper([]int32{1, 5, 6})
	for i := range want {
		want[i] += 0.5 * math.Log1p(float64(deg[i])) // 3 edges: the K = 3 entry
	}
	check("prior", got, want)
	// Source weight 0 at K = 3: the source is left out of the sum and the count.
	gotX, err = m.ScoreCross(1, source, 0, support, cands)
	if err != nil {
		t.Fatal(err)
	}
	want = paper([]int32{1, 5, 6})
	for i := range want {
		want[i] += 0.25 * math.Log1p(float64(deg[i]))
	}
	check("prior, cross", gotX, want)
	// No target edge: the K = 0 entry, the source weighted 0.3.
	gotX, err = m.ScoreCross(1, source, 0, nil, cands)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := 0.0
		for _, s := range []int32{2, 9} {
			if s%4 == int32(i%4) {
				u += 0.3 / math.Sqrt(0.3*2) / math.Sqrt(float64(deg[s])+1) / 2
			}
		}
		want[i] = u + 2*math.Log1p(float64(deg[i]))
	}
	check("prior, source only", gotX, want)

	abl, err := m.Ablations()
	if err != nil {
		t.Fatal(err)
	}
	if abl[0].Name() != "t-no-prior" {
		t.Fatalf("ablation named %q", abl[0].Name())
	}
	got, err = abl[0].Score(0, support, cands)
	if err != nil {
		t.Fatal(err)
	}
	check("ablation", got, paper([]int32{1, 5, 6}))
	m.Config.Priors = nil
	if _, err := m.Ablations(); err == nil {
		t.Fatal("a model without a prior gave an ablation")
	}
}

// TestTunePriorsFollowsTheSignal checks the tuning both ways: where the
// query is the support's cluster (the dot product knows it, the degree is
// noise) it keeps the degree term small and weights the source history;
// where the query is the most popular items (the dot product is no help)
// it turns the degree term up.
func TestTunePriorsFollowsTheSignal(t *testing.T) {
	const n = 400
	deg := randomDegrees(n)
	m := clusterModel(t, n, 10, deg)
	ks := []int{1, 3}
	valid := clusterEpisodes(n, 60, 3, 0, deg, false)
	cross := clusterEpisodes(n, 60, 3, 0, deg, false)
	pr, err := TunePriors(m, valid, cross, ks)
	if err != nil {
		t.Fatal(err)
	}
	p := pr[0]
	if !slices.Equal(p.Ks, ks) || !slices.Equal(p.CrossKs, []int{0, 1, 3}) {
		t.Fatalf("prior sizes %v, cross %v", p.Ks, p.CrossKs)
	}
	for i, g := range p.Gamma {
		if g > 0.1 {
			t.Errorf("clustered users, K = %d: gamma %g (want at most 0.1)", p.Ks[i], g)
		}
	}
	if p.CrossSource[0] == 0 {
		t.Errorf("the source history names the cluster, and its weight is 0")
	}
	if len(pr[1].CrossKs) != 0 {
		t.Errorf("domain b has no cross-domain episode, and a cross prior %+v", pr[1])
	}

	// Where the source history is noise (another cluster than the query's),
	// its weight is 0 and a cross-domain user is scored as the in-domain one.
	noise := clusterEpisodes(n, 60, 3, 0, deg, false)
	for i := range noise {
		for j := range noise[i].Source {
			noise[i].Source[j].Item = (noise[i].Source[j].Item + 1) % n
		}
	}
	pr, err = TunePriors(m, valid, noise, ks)
	if err != nil {
		t.Fatal(err)
	}
	if p := pr[0]; p.CrossSource[0] != 0 || !slices.Equal(p.CrossGamma[1:], p.Gamma) {
		t.Errorf("a noise source history: weight %v, cross gamma %v against gamma %v", p.CrossSource, p.CrossGamma, p.Gamma)
	}
	cands := []int32{0, 1, 2, 3, 4, 5, 6, 7}
	m.Config.Priors = pr
	a, err := m.Score(0, noise[0].Support, cands)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.ScoreCross(1, noise[0].Source, 0, noise[0].Support, cands)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Errorf("source weight 0: scores %v with the source, %v without", b, a)
	}
	m.Config.Priors = nil

	valid = clusterEpisodes(n, 60, 3, 0, deg, true)
	pr, err = TunePriors(m, valid, nil, ks)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range pr[0].Gamma {
		if g < 1 {
			t.Errorf("popular queries, K = %d: gamma %g (want at least 1)", pr[0].Ks[i], g)
		}
	}
}
