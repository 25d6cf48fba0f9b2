package eda

import (
	"maps"
	"math"
	"slices"
)

// QuantileLevels are the levels every quantile list reports, in order.
var QuantileLevels = []float64{0.10, 0.25, 0.50, 0.75, 0.90, 0.99}

// ValueCount is one distinct value and how often it occurs.
type ValueCount struct {
	Value float64 `json:"value"`
	Count int64   `json:"count"`
}

// Quantile is the value at level P (type 7, see the package doc).
type Quantile struct {
	P     float64 `json:"p"`
	Value Float   `json:"value"`
}

// Bin is one log (power-of-two) histogram bin: Count values in [Lo, Hi).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// histogram counts distinct values. Ratings have a handful of values and
// play counts a few thousand, so exact statistics cost little memory.
type histogram map[float64]int64

// sorted returns the histogram in ascending value order.
func (h histogram) sorted() []ValueCount {
	keys := slices.Sorted(maps.Keys(h))
	out := make([]ValueCount, len(keys))
	for i, k := range keys {
		out[i] = ValueCount{Value: k, Count: h[k]}
	}
	return out
}

func count(vc []ValueCount) int64 {
	var n int64
	for _, c := range vc {
		n += c.Count
	}
	return n
}

// valueAt returns the value of 0-based rank r in the sorted multiset.
func valueAt(vc []ValueCount, r int64) float64 {
	for _, c := range vc {
		if r < c.Count {
			return c.Value
		}
		r -= c.Count
	}
	return vc[len(vc)-1].Value
}

// quantile is the type 7 quantile at level p of n = count(vc) values.
func quantile(vc []ValueCount, n int64, p float64) Float {
	if n == 0 {
		return NaN()
	}
	h := float64(n-1) * p
	lo := math.Floor(h)
	x0 := valueAt(vc, int64(lo))
	if frac := h - lo; frac > 0 {
		x1 := valueAt(vc, int64(lo)+1)
		return Float(x0 + frac*(x1-x0))
	}
	return Float(x0)
}

func quantiles(vc []ValueCount, n int64) []Quantile {
	out := make([]Quantile, len(QuantileLevels))
	for i, p := range QuantileLevels {
		out[i] = Quantile{P: p, Value: quantile(vc, n, p)}
	}
	return out
}

// moments returns the mean and the population and sample variances, in two
// passes over the sorted histogram (see the package doc for why not Welford).
func moments(vc []ValueCount, n int64) (mean, pop, sample Float) {
	if n == 0 {
		return NaN(), NaN(), NaN()
	}
	var sum float64
	for _, c := range vc {
		sum += c.Value * float64(c.Count)
	}
	m := sum / float64(n)
	var ss float64
	for _, c := range vc {
		d := c.Value - m
		ss += float64(c.Count) * d * d
	}
	sample = NaN()
	if n > 1 {
		sample = Float(ss / float64(n-1))
	}
	return Float(m), Float(ss / float64(n)), sample
}

// binIndex is floor(log2 v) for v >= 1, exactly (from the float's exponent,
// not a rounded logarithm), and -1 for values below 1.
func binIndex(v float64) int {
	if v < 1 {
		return -1
	}
	_, exp := math.Frexp(v) // v = frac * 2^exp, frac in [0.5, 1)
	return exp - 1
}

func binEdges(k int) (lo, hi float64) {
	if k < 0 {
		return 0, 1
	}
	return math.Ldexp(1, k), math.Ldexp(1, k+1)
}

// logBins returns contiguous power-of-two bins from the smallest to the
// largest value of the sorted histogram, empty bins included.
func logBins(vc []ValueCount) []Bin {
	if len(vc) == 0 {
		return []Bin{}
	}
	first, last := binIndex(vc[0].Value), binIndex(vc[len(vc)-1].Value)
	bins := make([]Bin, last-first+1)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = binEdges(first + i)
	}
	for _, c := range vc {
		bins[binIndex(c.Value)-first].Count += c.Count
	}
	return bins
}
