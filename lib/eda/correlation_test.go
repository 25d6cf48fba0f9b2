package eda

import (
	"math"
	"slices"
	"testing"
)

func TestRanks(t *testing.T) {
	for _, c := range []struct{ x, want []float64 }{
		{[]float64{10, 20, 20, 30}, []float64{1, 2.5, 2.5, 4}},
		{[]float64{3, 1, 3, 3}, []float64{3, 1, 3, 3}}, // ranks 2,3,4 share 3
		{[]float64{5, 4, 3}, []float64{3, 2, 1}},
		{[]float64{2, 2}, []float64{1.5, 1.5}},
		{nil, []float64{}},
	} {
		if got := ranks(c.x); !slices.Equal(got, c.want) {
			t.Errorf("ranks(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestPearsonSpearman(t *testing.T) {
	// x = [1,2,3], y = [1,3,2]: centred dx = [-1,0,1], dy = [-1,1,0]; r = 1/sqrt(2*2).
	if got := pearson([]float64{1, 2, 3}, []float64{1, 3, 2}); !near(float64(got), 0.5) {
		t.Errorf("pearson = %v, want 0.5", got)
	}
	if got := pearson([]float64{1, 2, 3}, []float64{3, 5, 7}); !near(float64(got), 1) {
		t.Errorf("pearson linear = %v, want 1", got)
	}
	if got := pearson([]float64{1, 2, 3}, []float64{3, 2, 1}); !near(float64(got), -1) {
		t.Errorf("pearson reversed = %v, want -1", got)
	}
	// Spearman with ties: ranks x = [1, 2.5, 2.5, 4], ranks y = [1, 3, 2, 4];
	// centred: [-1.5,0,0,1.5] and [-1.5,.5,-.5,1.5]; r = 4.5/sqrt(4.5*5) = sqrt(0.9).
	if got := spearman([]float64{1, 2, 2, 3}, []float64{10, 30, 20, 40}); !near(float64(got), math.Sqrt(0.9)) {
		t.Errorf("spearman ties = %v, want %v", got, math.Sqrt(0.9))
	}
	// Spearman sees only order: a monotone but non-linear relation is 1.
	if got := spearman([]float64{1, 2, 3, 4}, []float64{1, 8, 27, 1000}); !near(float64(got), 1) {
		t.Errorf("spearman monotone = %v, want 1", got)
	}
	for _, c := range [][2][]float64{
		{{1}, {2}},             // n < 2
		{{1, 2, 3}, {4, 4, 4}}, // constant y
		{nil, nil},
	} {
		if got := correlate(c[0], c[1]); got.Pearson.Valid() || got.Spearman.Valid() {
			t.Errorf("correlate(%v, %v) = %+v, want NaN", c[0], c[1], got)
		}
	}
}
