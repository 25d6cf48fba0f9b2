package eda

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func hist(values ...float64) []ValueCount {
	h := histogram{}
	for _, v := range values {
		h[v]++
	}
	return h.sorted()
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		values []float64
		p      float64
		want   float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},                           // median, odd n
		{[]float64{4, 1, 3, 2}, 0.5, 2.5},                      // median, even n: mean of the middle two
		{[]float64{1, 3, 3, 10}, 0.5, 3},                       // even n, equal middle values
		{[]float64{7}, 0.5, 7},                                 // single value
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.1, 1.9},   // h = 0.9
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.99, 9.91}, // h = 8.91 (numpy: 9.91)
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.25, 3.25}, // h = 2.25
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 1, 10},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0, 1},
	} {
		vc := hist(c.values...)
		if got := quantile(vc, count(vc), c.p); !near(float64(got), c.want) {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.values, c.p, got, c.want)
		}
	}
	if got := quantile(nil, 0, 0.5); got.Valid() {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

func TestMoments(t *testing.T) {
	vc := hist(2, 4, 4, 4, 5, 5, 7, 9)
	mean, pop, sample := moments(vc, count(vc))
	if mean != 5 || pop != 4 || !near(float64(sample), 32.0/7) {
		t.Errorf("moments = %v %v %v, want 5 4 %v", mean, pop, sample, 32.0/7)
	}
	mean, pop, sample = moments(hist(3), 1)
	if mean != 3 || pop != 0 || sample.Valid() {
		t.Errorf("one value: %v %v %v, want 3 0 NaN", mean, pop, sample)
	}
	// Large offset: the two-pass form keeps the variance of 1e9+{1,2,3}.
	_, pop, _ = moments(hist(1e9+1, 1e9+2, 1e9+3), 3)
	if !near(float64(pop), 2.0/3) {
		t.Errorf("offset variance %v, want 2/3", pop)
	}
}

func TestLogBins(t *testing.T) {
	for v, want := range map[float64]int{0: -1, 0.5: -1, 1: 0, 1.5: 0, 2: 1, 3: 1, 4: 2, 7.999: 2, 8: 3, 1023: 9, 1024: 10} {
		if got := binIndex(v); got != want {
			t.Errorf("binIndex(%v) = %d, want %d", v, got, want)
		}
	}
	got := logBins(hist(0, 1, 1, 3, 9))
	want := []Bin{{0, 1, 1}, {1, 2, 2}, {2, 4, 1}, {4, 8, 0}, {8, 16, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("logBins = %v, want %v", got, want)
	}
	if got := logBins(hist(5, 6)); !slices.Equal(got, []Bin{{4, 8, 2}}) {
		t.Errorf("logBins(5, 6) = %v", got)
	}
	if got := logBins(nil); got == nil || len(got) != 0 {
		t.Errorf("logBins(nil) = %#v, want empty non-nil", got)
	}
}

func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal([]Float{1.5, NaN(), Float(math.Inf(1)), 0, 1e-7})
	if err != nil || string(b) != "[1.5,null,null,0,1e-7]" {
		t.Errorf("marshal = %s, %v", b, err)
	}
	var back []Float
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0] != 1.5 || back[1].Valid() || back[4] != 1e-7 {
		t.Errorf("unmarshal = %v", back)
	}
}
