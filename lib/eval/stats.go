package eval

import (
	"encoding/json"
	"math"
	"slices"
)

// SpreadStats summarises one metric over seeds.
type SpreadStats struct {
	N    int
	Mean float64
	Std  float64 // sample standard deviation (n-1); 0 for one value
	CI95 float64 // half-width of the 95% Student-t interval of the mean; 0 for one value
}

// Spread computes mean, sample std and 95% t-interval half-width. The
// t-interval, not mean ± 2 std, because with three seeds the t quantile is
// 4.30: an interval that honestly says how little three runs pin down.
func Spread(xs []float64) SpreadStats {
	s := SpreadStats{N: len(xs)}
	if s.N == 0 {
		s.Mean = math.NaN()
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	s.Std = math.Sqrt(ss / float64(s.N-1))
	s.CI95 = TQuantile(0.975, float64(s.N-1)) * s.Std / math.Sqrt(float64(s.N))
	return s
}

// PairedTest is the comparison of two models on the same users.
type PairedTest struct {
	N        int     `json:"n"`         // users with a value for both models
	MeanDiff float64 `json:"mean_diff"` // mean of a - b
	T        float64 `json:"t"`         // paired t statistic
	TP       float64 `json:"t_p"`       // two-sided p-value of the t-test
	// Wilcoxon signed-rank test on the same differences: zero differences
	// are dropped (Wilcoxon's convention), tied magnitudes get mid-ranks.
	WilcoxonN    int     `json:"wilcoxon_n"`     // non-zero differences
	WilcoxonW    float64 `json:"wilcoxon_w"`     // sum of the ranks of positive differences
	WilcoxonZ    float64 `json:"wilcoxon_z"`     // normal approximation (tie-corrected); 0 when exact
	WilcoxonP    float64 `json:"wilcoxon_p"`     // two-sided p-value
	WilcoxonExct bool    `json:"wilcoxon_exact"` // p from the exact null distribution
}

// Paired compares per-user values a and b (same users, same order) with a
// paired t-test and a Wilcoxon signed-rank test. Per-user metrics are
// bounded and skewed (NDCG has a mass at 0), so the rank test is the one
// to trust when they disagree. p-values are NaN when undefined (fewer than
// two users, or all differences equal).
func Paired(a, b []float64) PairedTest {
	d := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			d = append(d, a[i]-b[i])
		}
	}
	r := PairedTest{N: len(d), MeanDiff: math.NaN(), T: math.NaN(), TP: math.NaN(), WilcoxonZ: math.NaN(), WilcoxonP: math.NaN()}
	if r.N == 0 {
		return r
	}
	s := Spread(d)
	r.MeanDiff = s.Mean
	if r.N >= 2 && s.Std > 0 {
		r.T = s.Mean / (s.Std / math.Sqrt(float64(r.N)))
		// P(|T| > t) = I_{df/(df+t^2)}(df/2, 1/2), taken directly rather
		// than as 1 - CDF, which rounds to 0 for large t.
		df := float64(r.N - 1)
		r.TP = RegIncBeta(df/2, 0.5, df/(df+r.T*r.T))
	}
	wilcoxon(d, &r)
	return r
}

// exactWilcoxonMax is the largest number of non-zero differences whose
// null distribution is enumerated exactly (without ties); beyond it the
// normal approximation is within 1e-3 of it.
const exactWilcoxonMax = 50

func wilcoxon(d []float64, r *PairedTest) {
	nz := make([]float64, 0, len(d))
	for _, x := range d {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	n := len(nz)
	r.WilcoxonN = n
	if n == 0 {
		return
	}
	slices.SortFunc(nz, func(x, y float64) int { return cmpFloat(math.Abs(x), math.Abs(y)) })
	ranks := make([]float64, n)
	ties := false
	var tieTerm float64
	for i := 0; i < n; {
		j := i + 1
		for j < n && math.Abs(nz[j]) == math.Abs(nz[i]) {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			ranks[k] = mid
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	var w float64
	for i, x := range nz {
		if x > 0 {
			w += ranks[i]
		}
	}
	r.WilcoxonW = w
	nf := float64(n)
	mean := nf * (nf + 1) / 4
	if !ties && n <= exactWilcoxonMax {
		r.WilcoxonExct = true
		r.WilcoxonZ = 0
		r.WilcoxonP = exactWilcoxonP(n, w)
		return
	}
	v := nf*(nf+1)*(2*nf+1)/24 - tieTerm/48
	if v <= 0 {
		return
	}
	r.WilcoxonZ = (w - mean) / math.Sqrt(v)
	r.WilcoxonP = math.Erfc(math.Abs(r.WilcoxonZ) / math.Sqrt2)
}

// exactWilcoxonP is the two-sided p-value of W+ = w for n differences with
// distinct magnitudes: the null counts of every rank sum, by dynamic
// programming over the 2^n sign patterns, doubled smaller tail, capped at 1.
func exactWilcoxonP(n int, w float64) float64 {
	maxSum := n * (n + 1) / 2
	counts := make([]float64, maxSum+1)
	counts[0] = 1
	for r := 1; r <= n; r++ {
		for s := maxSum; s >= r; s-- {
			counts[s] += counts[s-r]
		}
	}
	total := math.Pow(2, float64(n))
	wi := int(math.Round(w))
	var lower, upper float64
	for s, c := range counts {
		if s <= wi {
			lower += c
		}
		if s >= wi {
			upper += c
		}
	}
	return math.Min(1, 2*math.Min(lower, upper)/total)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// StudentTCDF is P(T <= t) for Student's t with df degrees of freedom,
// through the regularised incomplete beta function.
func StudentTCDF(t, df float64) float64 {
	x := df / (df + t*t)
	p := 0.5 * RegIncBeta(df/2, 0.5, x)
	if t > 0 {
		return 1 - p
	}
	return p
}

// TQuantile is the p-quantile of Student's t with df degrees of freedom,
// found by bisection on StudentTCDF (monotone, so 200 halvings of a wide
// bracket reach float64 precision).
func TQuantile(p, df float64) float64 {
	if p == 0.5 {
		return 0
	}
	lo, hi := -1e6, 1e6
	for range 200 {
		mid := (lo + hi) / 2
		if StudentTCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// RegIncBeta is the regularised incomplete beta function I_x(a, b),
// evaluated by its continued fraction (Lentz's method) on the side where
// it converges fast.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	for m := 1; m <= 300; m++ {
		mf := float64(m)
		for _, num := range []float64{
			mf * (b - mf) * x / ((a + 2*mf - 1) * (a + 2*mf)),
			-(a + mf) * (a + b + mf) * x / ((a + 2*mf) * (a + 2*mf + 1)),
		} {
			d = 1 + num*d
			if math.Abs(d) < tiny {
				d = tiny
			}
			c = 1 + num/c
			if math.Abs(c) < tiny {
				c = tiny
			}
			d = 1 / d
			f *= c * d
		}
		if math.Abs(c*d-1) < 1e-15 {
			break
		}
	}
	return f
}

// MarshalJSON writes undefined statistics (NaN) as null, which JSON can
// carry and encoding/json refuses to write for a NaN float.
func (p PairedTest) MarshalJSON() ([]byte, error) {
	f := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	return json.Marshal(struct {
		N            int      `json:"n"`
		MeanDiff     *float64 `json:"mean_diff"`
		T            *float64 `json:"t"`
		TP           *float64 `json:"t_p"`
		WilcoxonN    int      `json:"wilcoxon_n"`
		WilcoxonW    float64  `json:"wilcoxon_w"`
		WilcoxonZ    *float64 `json:"wilcoxon_z"`
		WilcoxonP    *float64 `json:"wilcoxon_p"`
		WilcoxonExct bool     `json:"wilcoxon_exact"`
	}{p.N, f(p.MeanDiff), f(p.T), f(p.TP), p.WilcoxonN, p.WilcoxonW, f(p.WilcoxonZ), f(p.WilcoxonP), p.WilcoxonExct})
}
