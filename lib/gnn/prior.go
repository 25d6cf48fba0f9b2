package gnn

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Prior is one domain's fold-in weights, tuned on meta-validation users
// once training has chosen its epoch. A new user's score for an item is
//
//	u · item_final + gamma(k) · log(1 + degree)
//
// where k is the number of the user's edges in the domain. LightGCN's
// fold-in embeds a user with one or three edges from those few items
// alone, and on the exported seed-1 model of the run before this term
// that ranked below item degree on validation users: douban_book at
// K = 1, NDCG@10 0.084 by the dot product against 0.136 by degree, and
// 0.138 with gamma = 1; douban_music at K = 3, 0.059 against 0.063, and
// 0.082 with gamma = 0.3. The degree is what the graph knows about an item
// without the user; gamma says how much of it a user of k edges keeps.
//
// On a joint graph (Douban), a user's source-domain edges are weighted by
// CrossSource(k) and the term by CrossGamma(k), tuned on the cross-domain
// validation files: the source edges alone (K = 0, weight 1, no term) ranked
// douban_book at 0.108 against degree's 0.135, and ten target edges were
// worth more without the source (douban_music 0.111 against 0.102).
type Prior struct {
	// Ks are the support sizes tuned, ascending; Gamma the weight at each.
	// A user with k edges takes the entry of the largest Ks[i] <= k.
	Ks    []int     `json:"ks"`
	Gamma []float64 `json:"gamma"`
	// CrossKs (0 first) are the target support sizes tuned with a source
	// history, CrossSource and CrossGamma the weights at each; empty where
	// no cross-domain validation file targets the domain.
	CrossKs     []int     `json:"cross_ks,omitempty"`
	CrossSource []float64 `json:"cross_source,omitempty"`
	CrossGamma  []float64 `json:"cross_gamma,omitempty"`
}

// Grids searched by TunePriors. Gamma 0 is the fold-in as the paper has it;
// the largest values rank by degree alone up to the user's strongest items.
var (
	GammaGrid  = []float64{0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30}
	SourceGrid = []float64{0, 0.1, 0.3, 1}
)

func (p *Prior) validate(domain string) error {
	ok := len(p.Ks) == len(p.Gamma) && len(p.CrossKs) == len(p.CrossSource) && len(p.CrossKs) == len(p.CrossGamma) &&
		slices.IsSorted(p.Ks) && slices.IsSorted(p.CrossKs)
	for _, v := range slices.Concat(p.Gamma, p.CrossSource, p.CrossGamma) {
		ok = ok && v >= 0 && !math.IsInf(v, 0)
	}
	if !ok {
		return fmt.Errorf("lightgcn: %s prior %+v: the sizes must be ascending, one finite non-negative weight each", domain, *p)
	}
	return nil
}

// at is the index of the largest ks[i] <= k, or -1.
func at(ks []int, k int) int {
	i := -1
	for j, v := range ks {
		if v <= k {
			i = j
		}
	}
	return i
}

// weights are the source weight and the degree weight for a user with k
// target edges, with a source history or not. Without a prior (an export
// from before it, or the ablation) they are 1 and 0: the paper's fold-in.
func (p *Prior) weights(k int, cross bool) (source, gamma float64) {
	if p == nil {
		return 1, 0
	}
	if cross && len(p.CrossKs) > 0 {
		if i := at(p.CrossKs, k); i >= 0 {
			return p.CrossSource[i], p.CrossGamma[i]
		}
		return 1, 0
	}
	if i := at(p.Ks, k); i >= 0 {
		return 1, p.Gamma[i]
	}
	return 1, 0
}

// TunePriors chooses every domain's prior on meta-validation users: at
// each support size of ks, the gamma of GammaGrid with the best NDCG@10
// (the query items the user valued at least at their median relevant, the
// support left out of the ranking); on each domain a cross-domain episode
// of cross targets, also one source weight of SourceGrid (the best summed
// over K = 0 and ks) and the gamma at each K that goes with it.
func TunePriors(m *Model, valid, cross []tasks.Episode, ks []int) ([]Prior, error) {
	ks = slices.Sorted(slices.Values(ks))
	out := make([]Prior, len(m.Config.Domains))
	for d := range m.Config.Domains {
		p := &out[d]
		eps := ofDomain(valid, d)
		for _, k := range ks {
			if k <= 0 {
				return nil, fmt.Errorf("lightgcn: prior support size %d must be positive", k)
			}
			t, err := m.tune(eps, int32(d), k, false, []float64{1})
			if err != nil {
				return nil, err
			}
			p.Ks, p.Gamma = append(p.Ks, k), append(p.Gamma, GammaGrid[argmax(t[0])])
		}
		xeps := ofDomain(cross, d)
		if len(xeps) == 0 {
			continue
		}
		// One source weight for every K (the validation files are small:
		// chosen per K it jumped between 0 and 1), then gamma per K. A
		// weight of 0 makes the cross-domain user the in-domain one.
		xks := append([]int{0}, ks...)
		tables := make([][][]float64, len(xks))
		for i, k := range xks {
			var err error
			if tables[i], err = m.tune(xeps, int32(d), k, true, SourceGrid); err != nil {
				return nil, err
			}
		}
		bestS, bestV := 0, math.Inf(-1)
		for s := range SourceGrid {
			v := 0.0
			for _, t := range tables {
				v += slices.Max(t[s])
			}
			if v > bestV {
				bestS, bestV = s, v
			}
		}
		for i, k := range xks {
			p.CrossKs = append(p.CrossKs, k)
			p.CrossSource = append(p.CrossSource, SourceGrid[bestS])
			g := GammaGrid[argmax(tables[i][bestS])]
			if SourceGrid[bestS] == 0 && i > 0 {
				// The source left out: the user is the in-domain user, and
				// gamma re-tuned on the cross-domain users alone would be
				// the same choice made on fewer users (measured: it moved
				// douban_book's K = 1 row by -0.003 against no source).
				g = p.Gamma[i-1]
			}
			p.CrossGamma = append(p.CrossGamma, g)
		}
	}
	return out, nil
}

func ofDomain(eps []tasks.Episode, d int) []tasks.Episode {
	var out []tasks.Episode
	for _, e := range eps {
		if int(e.DomainIndex) == d {
			out = append(out, e)
		}
	}
	return out
}

// tune returns the mean NDCG@10 over eps at support size k of every
// (source weight, gamma) pair of sources x GammaGrid (zeros where no
// episode has k support items and a relevant query item).
func (m *Model) tune(eps []tasks.Episode, d int32, k int, cross bool, sources []float64) ([][]float64, error) {
	n, dim := m.Config.Items[d], m.Config.Dim
	di := &m.dom[d]
	logDeg := make([]float64, n)
	for i, v := range di.degree {
		logDeg[i] = math.Log1p(float64(v))
	}
	sums := make([][]float64, len(sources))
	for s := range sums {
		sums[s] = make([]float64, len(GammaGrid))
	}
	dot := make([]float64, n)
	score := make([]float64, n)
	users := 0
	for _, e := range eps {
		relevant := positiveItems(e.Query)
		support := e.Support[:min(k, len(e.Support))]
		if len(relevant) == 0 || len(support) < k || (!cross && k == 0) {
			continue
		}
		target, err := m.edges(nil, d, support)
		if err != nil {
			return nil, err
		}
		var source []edge
		if cross && m.dom[e.SourceDomainIndex].group == di.group && e.SourceDomainIndex != d {
			if source, err = m.edges(nil, e.SourceDomainIndex, e.Source); err != nil {
				return nil, err
			}
		}
		users++
		for s, a := range sources {
			u := m.userVector(target, source, a)
			for i := range n {
				var x float32
				if u != nil {
					for j, v := range di.final[i*dim:][:dim] {
						x += u[j] * v
					}
				}
				dot[i] = float64(x)
			}
			for g, gamma := range GammaGrid {
				for i := range n {
					score[i] = dot[i] + gamma*logDeg[i]
				}
				if u == nil {
					copy(score, logDeg)
				}
				for _, x := range support {
					score[x.Item] = math.Inf(-1)
				}
				sums[s][g] += ndcgAt10(score, relevant)
			}
		}
	}
	if users > 0 {
		for s := range sums {
			for g := range sums[s] {
				sums[s][g] /= float64(users)
			}
		}
	}
	return sums, nil
}

// argmax is the first index of the largest value: ties go to the earlier
// grid value, so a term that changes nothing stays off.
func argmax(xs []float64) int {
	best := 0
	for i, v := range xs {
		if v > xs[best] {
			best = i
		}
	}
	return best
}

// positiveItems are the query items rated at least at the query's median
// (normalised rating), the relevance lib/meta's validation uses.
func positiveItems(query []tasks.Rated) map[int32]bool {
	if len(query) == 0 {
		return nil
	}
	vals := make([]float32, len(query))
	for j, x := range query {
		vals[j] = x.Norm
	}
	slices.Sort(vals)
	med := vals[(len(vals)-1)/2]
	out := map[int32]bool{}
	for _, x := range query {
		if x.Norm >= med {
			out[x.Item] = true
		}
	}
	return out
}

// ndcgAt10 is the NDCG@10 of ranking score (ties to the smaller index).
func ndcgAt10(score []float64, relevant map[int32]bool) float64 {
	const cut = 10
	top := make([]int, 0, cut+1)
	for i, v := range score {
		if len(top) == cut && v <= score[top[cut-1]] {
			continue
		}
		p := len(top)
		for p > 0 && v > score[top[p-1]] {
			p--
		}
		top = slices.Insert(top, p, i)
		if len(top) > cut {
			top = top[:cut]
		}
	}
	dcg, idcg := 0.0, 0.0
	for r, i := range top {
		if relevant[int32(i)] {
			dcg += 1 / math.Log2(float64(r)+2)
		}
	}
	for r := range min(cut, len(relevant)) {
		idcg += 1 / math.Log2(float64(r)+2)
	}
	return dcg / idcg
}
