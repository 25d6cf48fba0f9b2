package baselines

import (
	"cmp"
	"math"
	"slices"
)

// edge is one weighted item-item link.
type edge struct {
	to int32
	w  float32
}

// itemGraph is a sparse item-item weight matrix W stored by source item:
// out[i] lists the (j, W_ij) a support item i adds to candidates j. The
// item-based peers (ItemKNN, RP3beta) score a new user with support S as
// x_S W: sum_{i in S} W_ij.
type itemGraph struct {
	n   int
	out [][]edge
}

// score returns sum_{i in support} W_ij for each candidate.
func (g *itemGraph) score(support, cands []int32) []float32 {
	acc := make([]float32, g.n)
	for _, i := range support {
		for _, e := range g.out[i] {
			acc[e.to] += e.w
		}
	}
	out := make([]float32, len(cands))
	for k, j := range cands {
		out[k] = acc[j]
	}
	return out
}

// topK keeps the k heaviest entries of a row (ties to the smaller item
// index), sorted heaviest first; it reorders row.
func topK(row []edge, k int) []edge {
	slices.SortFunc(row, func(a, b edge) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		return cmp.Compare(a.to, b.to)
	})
	return row[:min(k, len(row))]
}

// cooccurRows walks, for every item j, the items that share a training
// user with it and their co-occurrence weight sum_{u in U_i and U_j}
// userWeight[u] (1 for plain counts), calling visit(j, row) with the
// row's entries (i != j) in item order. The row slice is reused.
func cooccurRows(users, iu [][]int32, n int, userWeight []float64, visit func(j int32, row []edge, acc []float64)) {
	acc := make([]float64, n)
	seen := make([]bool, n)
	var touched []int32
	var row []edge
	for j := range n {
		touched = touched[:0]
		for _, u := range iu[j] {
			w := 1.0
			if userWeight != nil {
				w = userWeight[u]
			}
			for _, i := range users[u] {
				if int(i) == j {
					continue
				}
				if !seen[i] {
					seen[i] = true
					touched = append(touched, i)
				}
				acc[i] += w
			}
		}
		slices.Sort(touched)
		row = row[:0]
		for _, i := range touched {
			row = append(row, edge{to: i, w: float32(acc[i])})
		}
		visit(int32(j), row, acc)
		for _, i := range touched {
			acc[i], seen[i] = 0, false
		}
	}
}

// sqrtCounts returns sqrt(|U_i|) per item.
func sqrtCounts(iu [][]int32) []float64 {
	out := make([]float64, len(iu))
	for i, us := range iu {
		out[i] = math.Sqrt(float64(len(us)))
	}
	return out
}
