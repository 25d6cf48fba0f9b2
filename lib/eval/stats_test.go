package eval

import (
	"math"
	"testing"
)

func approx(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", name, got, want, tol)
	}
}

func TestDistributions(t *testing.T) {
	// Reference values: Student-t tables (df 1, 2, 29) and the closed forms
	// I_x(a,1) = x^a and I_x(1,b) = 1-(1-x)^b.
	approx(t, "t.975 df2", TQuantile(0.975, 2), 4.302652729749462, 1e-9)
	approx(t, "t.975 df1", TQuantile(0.975, 1), 12.706204736174694, 1e-8)
	approx(t, "t.975 df29", TQuantile(0.975, 29), 2.045229642132703, 1e-9)
	// df 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi.
	approx(t, "cauchy cdf", StudentTCDF(1.3, 1), 0.5+math.Atan(1.3)/math.Pi, 1e-12)
	approx(t, "t cdf df4", StudentTCDF(1.3, 4), 0.868274201764388, 1e-10)
	approx(t, "t cdf df7 negative", StudentTCDF(-2.5, 7), 0.020496109292876444, 1e-10)
	approx(t, "I_x(a,1)", RegIncBeta(2.5, 1, 0.3), math.Pow(0.3, 2.5), 1e-13)
	approx(t, "I_x(1,b)", RegIncBeta(1, 3, 0.4), 1-math.Pow(0.6, 3), 1e-13)
	approx(t, "I_0.9(10,3)", RegIncBeta(10, 3, 0.9), 0.889130022255, 1e-9)
}

func TestSpreadByHand(t *testing.T) {
	// 0.31, 0.35, 0.33: mean 0.33, deviations -0.02, 0.02, 0: std sqrt(0.0008/2) = 0.02.
	s := Spread([]float64{0.31, 0.35, 0.33})
	approx(t, "mean", s.Mean, 0.33, 1e-12)
	approx(t, "std", s.Std, 0.02, 1e-12)
	approx(t, "ci95", s.CI95, 4.302652729749462*0.02/math.Sqrt(3), 1e-9)
	one := Spread([]float64{0.5})
	if one.Mean != 0.5 || one.Std != 0 || one.CI95 != 0 {
		t.Errorf("one seed: %+v, want mean 0.5 and no spread", one)
	}
}

func TestPairedTestsByHand(t *testing.T) {
	// Differences 0.4 -0.05 0.1 0.2 0.6 0.07 0.02 -0.25: distinct magnitudes,
	// ranks by |d|: 0.02(1+) 0.05(2-) 0.07(3+) 0.1(4+) 0.2(5+) 0.25(6-) 0.4(7+) 0.6(8+).
	// W+ = 28, W- = 8; subsets of 1..8 summing to <= 8: 25 of 256, p = 2*25/256.
	b := []float64{0.5, 0.45, 0.6, 0.1, 0.2, 0.5, 0.6, 0.35}
	d := []float64{0.4, -0.05, 0.1, 0.2, 0.6, 0.07, 0.02, -0.25}
	a := make([]float64, len(b))
	for i := range b {
		a[i] = b[i] + d[i]
	}
	r := Paired(a, b)
	if r.N != 8 || r.WilcoxonN != 8 || !r.WilcoxonExct {
		t.Fatalf("n %d, wilcoxon n %d exact %v", r.N, r.WilcoxonN, r.WilcoxonExct)
	}
	approx(t, "mean diff", r.MeanDiff, 1.09/8, 1e-12)
	// t = mean / (sd/sqrt(8)), sd = 0.2650572714393196; df 7.
	approx(t, "t", r.T, 1.453924254384748, 1e-9)
	approx(t, "t p", r.TP, 0.18928665410630147, 1e-9)
	approx(t, "W+", r.WilcoxonW, 28, 0)
	approx(t, "wilcoxon p", r.WilcoxonP, 50.0/256, 1e-12)
	// Swapping the models flips the signs, not the p-values.
	s := Paired(b, a)
	approx(t, "swapped W+", s.WilcoxonW, 8, 0)
	approx(t, "swapped p", s.WilcoxonP, r.WilcoxonP, 1e-12)
	approx(t, "swapped t", s.T, -r.T, 1e-12)
}

func TestWilcoxonTiesAndZeros(t *testing.T) {
	// Differences 1 0 2 2 2 -1 2 3 0 2 -1 2: two zeros dropped, n = 10.
	// |1| x3 (one +) mid-rank 2; |2| x6 (all +) mid-rank 6.5; |3| rank 10.
	// W+ = 2 + 6*6.5 + 10 = 51; mean 27.5; var = 10*11*21/24 - (24+210)/48 = 91.375.
	a := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	b := []float64{0, 2, 1, 2, 3, 7, 5, 5, 9, 8, 12, 10}
	r := Paired(a, b)
	if r.WilcoxonN != 10 || r.WilcoxonExct {
		t.Fatalf("wilcoxon n %d exact %v, want 10 and the normal approximation", r.WilcoxonN, r.WilcoxonExct)
	}
	approx(t, "W+", r.WilcoxonW, 51, 0)
	approx(t, "z", r.WilcoxonZ, 23.5/math.Sqrt(91.375), 1e-12)
	approx(t, "p", r.WilcoxonP, 0.013955407283824443, 1e-9)
	approx(t, "t", r.T, 3.0225143871186098, 1e-9)
	approx(t, "t p", r.TP, 0.011603466668357074, 1e-9)
	// NaN values (a user undefined for a model) are skipped pairwise.
	r2 := Paired([]float64{1, math.NaN(), 3}, []float64{0, 5, math.NaN()})
	if r2.N != 1 || !math.IsNaN(r2.TP) {
		t.Errorf("NaN pairs: %+v, want n 1 and no t p-value", r2)
	}
	// Identical models: no non-zero difference, no test.
	r3 := Paired([]float64{1, 2}, []float64{1, 2})
	if r3.WilcoxonN != 0 || !math.IsNaN(r3.WilcoxonP) || !math.IsNaN(r3.TP) {
		t.Errorf("identical: %+v", r3)
	}
}

func TestTinyPValuesDoNotRoundToZero(t *testing.T) {
	// 200 users, a large consistent effect: t ~ 80, p far below 1e-16 but
	// still a positive number, as a paired test on real data can give.
	a, b := make([]float64, 200), make([]float64, 200)
	for i := range a {
		b[i] = float64(i%7) / 10
		a[i] = b[i] + 0.5 + float64(i%3)/50
	}
	r := Paired(a, b)
	if !(r.TP > 0 && r.TP < 1e-100) {
		t.Errorf("t %.1f: p = %g, want a tiny positive number", r.T, r.TP)
	}
}
