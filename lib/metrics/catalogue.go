package metrics

import (
	"math"
	"slices"
)

// Exposure counts, per catalogue item, how many users' top-K lists hold it:
// the basis of coverage and Gini, which look at what a model recommends
// across users rather than whether each list is right.
type Exposure struct {
	Counts []int64 // by item index
	Lists  int     // lists added
}

// NewExposure starts counting over a catalogue of n items.
func NewExposure(n int) *Exposure { return &Exposure{Counts: make([]int64, n)} }

// Add records one user's top-K list (item indices).
func (e *Exposure) Add(top []int32) {
	e.Lists++
	for _, it := range top {
		e.Counts[it]++
	}
}

// Coverage is the share of the catalogue that appears in at least one
// user's list: catalogue coverage@K when the lists are top-K lists. NaN for
// an empty catalogue.
func (e *Exposure) Coverage() float64 {
	if len(e.Counts) == 0 {
		return math.NaN()
	}
	n := 0
	for _, c := range e.Counts {
		if c > 0 {
			n++
		}
	}
	return float64(n) / float64(len(e.Counts))
}

// Gini is the Gini coefficient of the exposure counts over the whole
// catalogue, items never recommended included: 0 when every item is
// recommended equally often, approaching 1 when a few items take all the
// exposure. With x sorted ascending and i = 1..n,
// G = sum_i (2i - n - 1) x_i / (n sum_i x_i). 0 when nothing was
// recommended (no concentration to measure), NaN for an empty catalogue.
func (e *Exposure) Gini() float64 { return Gini(e.Counts) }

// Gini of non-negative counts; see Exposure.Gini.
func Gini(counts []int64) float64 {
	n := len(counts)
	if n == 0 {
		return math.NaN()
	}
	x := slices.Clone(counts)
	slices.Sort(x)
	var num, total float64
	for i, v := range x {
		num += float64(2*(i+1)-n-1) * float64(v)
		total += float64(v)
	}
	if total == 0 {
		return 0
	}
	return num / (float64(n) * total)
}

// Popularity turns training interaction counts into the probabilities
// novelty uses: p(i) = (count_i + 1) / (users + 1), the Laplace-smoothed
// share of training users who interacted with item i, so an item no
// training user touched has a finite, maximal novelty log2(users + 1).
func Popularity(counts []int64, users int) []float64 {
	p := make([]float64, len(counts))
	for i, c := range counts {
		p[i] = float64(c+1) / float64(users+1)
	}
	return p
}

// Novelty is the mean self-information -log2 p(i) of the items in one list
// (Zhou et al., PNAS 2010): recommending what few training users knew is
// novel, recommending the blockbusters is not. NaN for an empty list.
func Novelty(top []int32, p []float64) float64 {
	if len(top) == 0 {
		return math.NaN()
	}
	var s float64
	for _, it := range top {
		s -= math.Log2(p[it])
	}
	return s / float64(len(top))
}
