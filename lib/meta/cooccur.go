package meta

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// setRankItems fills rank_item, each item's co-occurrence vector, from the
// training tasks: per domain, the leading right singular vectors of the
// binary user-item matrix whose columns are scaled by 1/sqrt(count), times
// their singular values. Dot products of two rows then approximate the
// cosine similarity of the two items' sets of training users (rank r =
// ItemDim), so the taste term of the ranking score starts as a low-rank
// item-kNN: the mean similarity of a candidate to the support. Items no
// training user had keep zero rows.
//
// How much that similarity weighs against the popularity logit is tuned
// per domain, as the bias shrinkage is: each weight of grid is tried on
// the domain's validation tasks (the first k support items adapt, the
// query's positives are the targets) and the best NDCG@10 wins; the rows
// are scaled by its square root. It returns the chosen weight per domain
// (0 for a domain without training tasks).
//
// Free per-item ranking rows trained from a random start fit noise (a
// softmax over a catalogue most of whose items have a handful of
// interactions); fitted in closed form like the biases and kept, they
// carry the one signal popularity lacks, which items go together.
func setRankItems(w *models.Weights, cat *models.Catalog, train, valid []tasks.Episode, k int, grid []float64) []float64 {
	ri, pi, bi := w.Index("rank_item"), w.Index("pop_bias"), w.Index("item_bias")
	chosen := make([]float64, len(cat.Domains))
	if ri < 0 || pi < 0 || len(grid) == 0 {
		return chosen
	}
	r := w.Specs[ri].Dims[1]
	vals := w.Values[ri]
	clear(vals)
	for d := range cat.Domains {
		var users [][]int32
		for _, e := range train {
			if int(e.DomainIndex) != d {
				continue
			}
			items := make([]int32, 0, len(e.Support)+len(e.Query))
			for _, set := range [][]tasks.Rated{e.Support, e.Query} {
				for _, x := range set {
					items = append(items, x.Item)
				}
			}
			slices.Sort(items)
			users = append(users, slices.Compact(items))
		}
		f := baselines.CooccurFactors(users, cat.Items[d], r)
		if f == nil {
			continue
		}
		off := int(cat.ItemOff[d])
		// The untrained ranking score besides the taste: popularity
		// logit plus the predicted rating's item part (the fitted score
		// adds the prediction at weight 1; the user's own bias shifts
		// every item alike).
		base := make([]float64, cat.Items[d])
		for i := range base {
			base[i] = float64(w.Values[pi][off+i])
			if bi >= 0 {
				base[i] += float64(w.Values[bi][off+i])
			}
		}
		var domValid []tasks.Episode
		for _, e := range valid {
			if int(e.DomainIndex) == d {
				domValid = append(domValid, e)
			}
		}
		best := math.Inf(-1)
		for _, c := range grid {
			if v := cooccurNDCG(f, base, domValid, k, c); v > best {
				best, chosen[d] = v, c
			}
		}
		scale := math.Sqrt(chosen[d])
		for i := range cat.Items[d] {
			for j := range r {
				vals[(off+i)*r+j] = float32(scale * f.At(i, j))
			}
		}
	}
	return chosen
}

// cooccurNDCG is the mean NDCG@10 over tasks of the score base_i + c *
// F_i . mean(F over the first k support items) (RankNDCG).
func cooccurNDCG(f *mat.Dense, base []float64, eps []tasks.Episode, k int, c float64) float64 {
	n, r := f.Dims()
	fd := f.RawMatrix()
	taste := make([]float64, r)
	return RankNDCG(eps, k, n, func(support []tasks.Rated, score []float64) {
		clear(taste)
		for _, x := range support {
			for j, v := range fd.Data[int(x.Item)*fd.Stride:][:r] {
				taste[j] += v / float64(len(support))
			}
		}
		for i := range n {
			dot := 0.0
			for j, v := range fd.Data[i*fd.Stride:][:r] {
				dot += v * taste[j]
			}
			score[i] = base[i] + c*dot
		}
	})
}

// RankNDCG is the trainers' model-selection score on meta-validation
// users: the mean NDCG@10 over tasks of score, which fills the scores of
// a domain's n items for a user known by the first k support items,
// ranking every item outside the task's support, with the query's
// positives (see positives) relevant. Tasks without a positive or a
// support are skipped. It needs nothing the evaluation decides, so a
// train stage does not depend on the evaluation's settings.
func RankNDCG(eps []tasks.Episode, k, n int, score func(support []tasks.Rated, score []float64)) float64 {
	const cut = 10
	pos := positives(eps)
	scores := make([]float64, n)
	sum, users := 0.0, 0
	for t, e := range eps {
		relevant := map[int32]bool{}
		for j, x := range e.Query {
			if pos[t][j] {
				relevant[x.Item] = true
			}
		}
		support := e.Support[:min(k, len(e.Support))]
		if len(relevant) == 0 || len(support) == 0 {
			continue
		}
		score(support, scores)
		for _, x := range e.Support {
			scores[x.Item] = math.Inf(-1)
		}
		// The top cut items, best first, ties to the smaller index.
		top := make([]int, 0, cut+1)
		for i := range n {
			if len(top) == cut && scores[i] <= scores[top[cut-1]] {
				continue
			}
			at := len(top)
			for at > 0 && scores[i] > scores[top[at-1]] {
				at--
			}
			top = slices.Insert(top, at, i)
			if len(top) > cut {
				top = top[:cut]
			}
		}
		dcg, idcg := 0.0, 0.0
		for rank, i := range top {
			if relevant[int32(i)] {
				dcg += 1 / math.Log2(float64(rank)+2)
			}
		}
		for rank := range min(cut, len(relevant)) {
			idcg += 1 / math.Log2(float64(rank)+2)
		}
		sum += dcg / idcg
		users++
	}
	if users == 0 {
		return 0
	}
	return sum / float64(users)
}
