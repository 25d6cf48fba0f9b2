package eda

import (
	"cmp"
	"math"
	"slices"
)

// Correlation is Pearson's r and Spearman's rho over N paired values (see
// the package doc); null when undefined.
type Correlation struct {
	N        int64 `json:"n"`
	Pearson  Float `json:"pearson"`
	Spearman Float `json:"spearman"`
}

// DeviationCorrelation correlates the users' rating deviations from each
// domain's mean, and gives the mean deviation of the paired users in each
// domain (positive: they rate above that domain's average).
type DeviationCorrelation struct {
	Correlation
	MeanA Float `json:"mean_a"`
	MeanB Float `json:"mean_b"`
}

func correlate(x, y []float64) Correlation {
	return Correlation{N: int64(len(x)), Pearson: pearson(x, y), Spearman: spearman(x, y)}
}

// pearson computes r in two passes (means first, then centred sums), which
// avoids the cancellation of the one-pass sum-of-products formula.
func pearson(x, y []float64) Float {
	n := len(x)
	if n < 2 || len(y) != n {
		return NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return NaN()
	}
	return Float(sxy / math.Sqrt(sxx*syy))
}

func spearman(x, y []float64) Float {
	if len(x) < 2 || len(y) != len(x) {
		return NaN()
	}
	return pearson(ranks(x), ranks(y))
}

// ranks returns 1-based ranks of x, ties sharing the average of the ranks
// they span: ranks([10, 20, 20, 30]) = [1, 2.5, 2.5, 4].
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}
