package baselines

import (
	"slices"

	"github.com/crossrec/crossrec/lib/tasks"
)

// ItemKNNName names the ItemKNN peer in every output.
const ItemKNNName = "itemknn"

// ItemKNN is item-based collaborative filtering on the binary user-item
// matrix (Sarwar et al. 2001; Deshpande and Karypis 2004, the form Dacrema
// et al. 2019 tune): the similarity of items i and j is the cosine of their
// sets of training users with a shrinkage term, c_ij / (sqrt(n_i n_j) +
// shrink); each item keeps its K most similar items as neighbours; a new
// user's score for item j is the sum of the similarities of their support
// items among j's neighbours. No training, no user row: the user is the
// support vector.
//
// As a recommend.CrossScorer it works in the joint item space of two
// domains that share users (the Douban pair): similarities between a
// source-domain item and a target-domain item come from the training
// users seen in both, so a user's source history counts toward target
// items exactly as target support items do.
type ItemKNN struct {
	K      []int     // neighbours per item, per domain
	Shrink []float64 // per domain
	dom    []*itemGraph
	// cross[src][tgt]: source item -> target items of the joint model
	// (the target items' neighbour lists in the joint space, inverted),
	// and the target part of the same joint model.
	cross map[[2]int32]*crossGraph
}

type crossGraph struct {
	src, tgt *itemGraph
}

// NewItemKNN returns an ItemKNN with no domain fitted.
func NewItemKNN(domains int) *ItemKNN {
	return &ItemKNN{K: make([]int, domains), Shrink: make([]float64, domains), dom: make([]*itemGraph, domains), cross: map[[2]int32]*crossGraph{}}
}

// Name implements recommend.Scorer.
func (m *ItemKNN) Name() string { return ItemKNNName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *ItemKNN) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (m *ItemKNN) RankingOnly() bool { return true }

// knnRows computes every item's neighbour list (the kmax most similar
// items, heaviest first) at one shrinkage: rows[j] are j's neighbours.
func knnRows(users [][]int32, n int, shrink float64, kmax int) [][]edge {
	iu := itemUsers(users, n)
	sq := sqrtCounts(iu)
	rows := make([][]edge, n)
	cooccurRows(users, iu, n, nil, func(j int32, row []edge, acc []float64) {
		for k := range row {
			i := row[k].to
			row[k].w = float32(acc[i] / (sq[i]*sq[j] + shrink))
		}
		rows[j] = slices.Clone(topK(row, kmax))
	})
	return rows
}

// invert turns candidate neighbour lists (rows[j] = j's neighbours i,
// first k of each) into the support-item lists the scorer walks.
func invert(rows [][]edge, nSrc, k int) *itemGraph {
	g := &itemGraph{n: len(rows), out: make([][]edge, nSrc)}
	for j, row := range rows {
		for _, e := range row[:min(k, len(row))] {
			g.out[e.to] = append(g.out[e.to], edge{to: int32(j), w: e.w})
		}
	}
	return g
}

// setDomain installs domain d's neighbour lists at k neighbours.
func (m *ItemKNN) setDomain(d int, rows [][]edge, k int, shrink float64) {
	m.K[d], m.Shrink[d] = k, shrink
	m.dom[d] = invert(rows, len(rows), k)
}

// FitItemKNN fits one domain.
func (m *ItemKNN) FitItemKNN(t *Train, d, k int, shrink float64) {
	m.setDomain(d, knnRows(t.UserItems(d), t.Items[d], shrink, k), k, shrink)
}

// FitCross fits the joint model of every ordered pair of domains with
// training users in common (matched by user id), at the target domain's
// K and shrinkage. Call it after the domains are fitted.
func (m *ItemKNN) FitCross(t *Train) {
	for src := range t.Items {
		for tgt := range t.Items {
			if src == tgt || m.dom[tgt] == nil {
				continue
			}
			if g := jointKNN(t, src, tgt, m.K[tgt], m.Shrink[tgt]); g != nil {
				m.cross[[2]int32{int32(src), int32(tgt)}] = g
			}
		}
	}
}

// jointKNN builds the joint item space of src and tgt (source items
// first, then target items offset by the source catalogue): each training
// person contributes the union of their items in both domains. Nil when
// no person has rows in both.
func jointKNN(t *Train, src, tgt, k int, shrink float64) *crossGraph {
	ns, nt := t.Items[src], t.Items[tgt]
	byID := map[string]int{}
	var users [][]int32
	for u, items := range t.UserItems(src) {
		byID[t.UserID[src][u]] = len(users)
		users = append(users, slices.Clone(items))
	}
	shared := 0
	for u, items := range t.UserItems(tgt) {
		x, ok := byID[t.UserID[tgt][u]]
		if ok {
			shared++
		} else {
			x = len(users)
			users = append(users, nil)
		}
		for _, i := range items {
			users[x] = append(users[x], i+int32(ns))
		}
	}
	if shared == 0 {
		return nil
	}
	rows := knnRows(users, ns+nt, shrink, k)
	// Only target items are candidates: their neighbour lists, split by
	// where the neighbour lives.
	srcG := &itemGraph{n: nt, out: make([][]edge, ns)}
	tgtG := &itemGraph{n: nt, out: make([][]edge, nt)}
	for j := range nt {
		for _, e := range rows[ns+j] {
			if int(e.to) < ns {
				srcG.out[e.to] = append(srcG.out[e.to], edge{to: int32(j), w: e.w})
			} else {
				tgtG.out[int(e.to)-ns] = append(tgtG.out[int(e.to)-ns], edge{to: int32(j), w: e.w})
			}
		}
	}
	return &crossGraph{src: srcG, tgt: tgtG}
}

func (m *ItemKNN) graph(domain int32) (*itemGraph, error) {
	return fitted(ItemKNNName, m.dom, domain)
}

// Score implements recommend.Scorer.
func (m *ItemKNN) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	g, err := m.graph(domain)
	if err != nil {
		return nil, err
	}
	s := supportItems(support)
	if err := checkRequest(ItemKNNName, domain, g.n, s, cands); err != nil {
		return nil, err
	}
	return g.score(s, cands), nil
}

// ScoreCross implements recommend.CrossScorer: target support and source
// history both count, through the joint model of the pair. Without a
// joint model (no shared training users) it is Score.
func (m *ItemKNN) ScoreCross(srcDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	g, err := m.graph(domain)
	if err != nil {
		return nil, err
	}
	cg := m.cross[[2]int32{srcDomain, domain}]
	if cg == nil {
		return m.Score(domain, support, cands)
	}
	s, src := supportItems(support), supportItems(source)
	if err := checkItems(ItemKNNName, "support", domain, g.n, s); err != nil {
		return nil, err
	}
	if err := checkItems(ItemKNNName, "source", srcDomain, len(cg.src.out), src); err != nil {
		return nil, err
	}
	if err := checkItems(ItemKNNName, "candidate", domain, g.n, cands); err != nil {
		return nil, err
	}
	a, b := cg.tgt.score(s, cands), cg.src.score(src, cands)
	for k := range a {
		a[k] += b[k]
	}
	return a, nil
}
