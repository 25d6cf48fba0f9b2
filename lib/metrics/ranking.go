package metrics

import (
	"cmp"
	"math"
	"slices"
)

// Better reports whether candidate a (score sa, item index ia) ranks before
// candidate b: a higher score first, then the lower item index. It is the
// only ordering of every ranking in the evaluation; equal scores never fall
// back to input order, which would depend on how a caller built the list.
func Better(sa float32, ia int32, sb float32, ib int32) bool {
	return sa > sb || (sa == sb && ia < ib)
}

// TopN returns the positions (indices into scores and items) of the n best
// candidates by Better, best first; fewer when there are fewer candidates.
// It keeps a sorted buffer of n and rejects most candidates with one
// comparison against the buffer's worst, so ranking a whole catalogue for a
// small n costs about one pass, not a sort. dst is reused when large enough.
func TopN(scores []float32, items []int32, n int, dst []int) []int {
	top := dst[:0]
	if n <= 0 {
		return top
	}
	for j := range scores {
		if len(top) == n {
			w := top[n-1]
			if !Better(scores[j], items[j], scores[w], items[w]) {
				continue
			}
			top = top[:n-1]
		}
		// Binary search for the first position j beats.
		lo, hi := 0, len(top)
		for lo < hi {
			m := (lo + hi) / 2
			if Better(scores[j], items[j], scores[top[m]], items[top[m]]) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		top = slices.Insert(top, lo, j)
	}
	return top
}

// Ranks returns the 1-based rank, among all candidates, of each candidate
// position in query: one plus the number of candidates that are Better.
//
// It never sorts the catalogue. The query items' keys (rankKey) are sorted
// and bucketed over their own range; each candidate finds its bucket by
// one subtraction and shift and compares against the few query keys in
// it, so a whole catalogue costs about one pass whatever the scores look
// like (ties, one outlier, scores spanning many orders of magnitude).
func Ranks(scores []float32, items []int32, query []int) []int32 {
	q := len(query)
	ranks := make([]int32, q)
	if q == 0 {
		return ranks
	}
	// Query keys ascending, remembering which query position each is.
	type qkey struct {
		k   uint64
		pos int
	}
	keys := make([]qkey, q)
	for i, c := range query {
		keys[i] = qkey{rankKey(scores[c], items[c]), i}
	}
	slices.SortFunc(keys, func(a, b qkey) int { return cmp.Compare(a.k, b.k) })
	asc := make([]uint64, q)
	for i := range keys {
		asc[i] = keys[i].k
	}
	lo, hi := asc[0], asc[q-1]
	// Buckets: (k - lo) >> shift over [lo, hi], at most maxBuckets of them.
	const maxBuckets = 1024
	shift := uint(0)
	for (hi-lo)>>shift >= maxBuckets {
		shift++
	}
	nb := int((hi-lo)>>shift) + 1
	start := make([]int32, nb+1) // start[b]: first query key in bucket >= b
	for _, k := range asc {
		start[int((k-lo)>>shift)+1]++
	}
	for b := 1; b <= nb; b++ {
		start[b] += start[b-1]
	}
	// below[n] counts candidates that beat exactly the n lowest query keys.
	below := make([]int32, q+1)
	for c, s := range scores {
		k := rankKey(s, items[c])
		var n int
		switch {
		case k <= lo:
			continue // beats no query item
		case k > hi:
			n = q
		default:
			b := int((k - lo) >> shift)
			n = int(start[b])
			for end := int(start[b+1]); n < end && asc[n] < k; n++ {
			}
		}
		below[n]++
	}
	// The query key at ascending index i is beaten by every candidate that
	// beats more than i query keys.
	var beaten int32
	for i := q - 1; i >= 0; i-- {
		beaten += below[i+1]
		ranks[keys[i].pos] = beaten + 1
	}
	return ranks
}

// rankKey maps (score, item index) to an integer that is larger exactly
// when Better holds: the float's bits made monotone in the high half
// (-0 folded into +0, which Better treats as equal), the complemented index
// in the low half so a lower index is larger. Scores must not be NaN.
func rankKey(s float32, item int32) uint64 {
	b := math.Float32bits(s + 0) // -0 + 0 is +0: Better treats them as equal
	// Negative: flip every bit; positive: set the sign bit. Branch-free,
	// since candidate signs are unpredictable.
	b ^= uint32(int32(b)>>31) | 1<<31
	return uint64(b)<<32 | uint64(^uint32(item))
}

// discount is the log2 position discount of rank r (1-based).
func discount(r int) float64 { return 1 / math.Log2(float64(r)+1) }

// hitsAt counts the hits among the first min(k, len(hits)) ranks.
func hitsAt(hits []bool, k int) int {
	n := 0
	for _, h := range hits[:min(k, len(hits))] {
		if h {
			n++
		}
	}
	return n
}

// PrecisionAt is the share of the first k ranks that are relevant: hits/k,
// where ranks past the end of a shorter list count as misses. NaN for k < 1.
func PrecisionAt(hits []bool, k int) float64 {
	if k < 1 {
		return math.NaN()
	}
	return float64(hitsAt(hits, k)) / float64(k)
}

// RecallAt is the share of the user's relevant items found in the first k
// ranks: hits/relevant. NaN when the user has no relevant item or k < 1.
func RecallAt(hits []bool, k, relevant int) float64 {
	if relevant <= 0 || k < 1 {
		return math.NaN()
	}
	return float64(hitsAt(hits, k)) / float64(relevant)
}

// F1At is the harmonic mean of PrecisionAt and RecallAt for one user, 0
// when both are 0, NaN when recall is undefined. Averaged over users it is
// the mean of per-user F1, not the F1 of mean precision and recall.
func F1At(hits []bool, k, relevant int) float64 {
	p, r := PrecisionAt(hits, k), RecallAt(hits, k, relevant)
	if math.IsNaN(r) || math.IsNaN(p) {
		return math.NaN()
	}
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// NDCGAt is the normalised discounted cumulative gain with binary
// relevance: DCG = sum over the first min(k, len) ranks r of
// hit(r)/log2(r+1), divided by the ideal DCG, the DCG of
// min(k, relevant) hits at the top. NaN when relevant is 0 or k < 1.
//
// relevant counts every relevant item of the user, ranked or not, so a
// list that misses relevant items is not normalised up.
func NDCGAt(hits []bool, k, relevant int) float64 {
	if relevant <= 0 || k < 1 {
		return math.NaN()
	}
	var dcg float64
	for i, h := range hits[:min(k, len(hits))] {
		if h {
			dcg += discount(i + 1)
		}
	}
	return dcg / IdealDCG(k, relevant)
}

// IdealDCG is the DCG of min(k, relevant) hits at ranks 1, 2, ...
func IdealDCG(k, relevant int) float64 {
	var idcg float64
	for r := 1; r <= min(k, relevant); r++ {
		idcg += discount(r)
	}
	return idcg
}

// RandomNDCGAt is the expected NDCG@k of a ranking drawn uniformly at random
// from candidates items of which relevant are relevant: every rank holds a
// relevant item with probability relevant/candidates, so the expected DCG is
// that share times the discounts of the first min(k, candidates) ranks.
// It is the chance level that a model with no information scores.
func RandomNDCGAt(k, relevant, candidates int) float64 {
	if relevant <= 0 || k < 1 || candidates < relevant {
		return math.NaN()
	}
	var d float64
	for r := 1; r <= min(k, candidates); r++ {
		d += discount(r)
	}
	return float64(relevant) / float64(candidates) * d / IdealDCG(k, relevant)
}

// Ranking accumulates per-user ranking metrics at several cut-offs as
// macro averages over the users that have at least one relevant item.
type Ranking struct {
	Ks       []int
	Users    int // users with at least one relevant item (the averages' base)
	Excluded int // users with no relevant item: left out, counted here
	sumP     []float64
	sumR     []float64
	sumF     []float64
	sumN     []float64
}

// NewRanking starts an accumulator for the cut-offs ks.
func NewRanking(ks []int) *Ranking {
	n := len(ks)
	return &Ranking{Ks: slices.Clone(ks), sumP: make([]float64, n), sumR: make([]float64, n), sumF: make([]float64, n), sumN: make([]float64, n)}
}

// Add records one user's ranked hit flags and number of relevant items. It
// reports whether the user counted (had a relevant item).
func (a *Ranking) Add(hits []bool, relevant int) bool {
	if relevant <= 0 {
		a.Excluded++
		return false
	}
	a.Users++
	for i, k := range a.Ks {
		a.sumP[i] += PrecisionAt(hits, k)
		a.sumR[i] += RecallAt(hits, k, relevant)
		a.sumF[i] += F1At(hits, k, relevant)
		a.sumN[i] += NDCGAt(hits, k, relevant)
	}
	return true
}

func (a *Ranking) mean(sums []float64, i int) float64 {
	if a.Users == 0 {
		return math.NaN()
	}
	return sums[i] / float64(a.Users)
}

// Precision, Recall, F1 and NDCG return the macro average at Ks[i]; NaN
// when no user counted.
func (a *Ranking) Precision(i int) float64 { return a.mean(a.sumP, i) }

// Recall is the macro-averaged recall at Ks[i].
func (a *Ranking) Recall(i int) float64 { return a.mean(a.sumR, i) }

// F1 is the macro-averaged per-user F1 at Ks[i].
func (a *Ranking) F1(i int) float64 { return a.mean(a.sumF, i) }

// NDCG is the macro-averaged NDCG at Ks[i].
func (a *Ranking) NDCG(i int) float64 { return a.mean(a.sumN, i) }
