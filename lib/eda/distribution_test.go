package eda

import (
	"encoding/json"
	"strings"
	"testing"
)

func counts(values ...float64) histogram {
	h := histogram{}
	for _, v := range values {
		h[v]++
	}
	return h
}

func TestGini(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []float64
		want   float64
	}{
		{"equal", []float64{5, 5, 5, 5}, 0},
		{"one takes all, n=4", []float64{0, 0, 0, 10}, 3.0 / 4},
		{"one takes all, n=10", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 9.0 / 10},
		{"1..4", []float64{4, 1, 3, 2}, 0.25}, // (-3*1 - 1*2 + 1*3 + 3*4) / (4*10)
		{"single", []float64{7}, 0},
	} {
		if got := gini(hist(c.values...)); !near(float64(got), c.want) {
			t.Errorf("%s: gini = %v, want %v", c.name, got, c.want)
		}
	}
	if got := gini(hist(0, 0)); got.Valid() {
		t.Errorf("gini of zeros = %v, want NaN", got)
	}
}

func TestDistributionShares(t *testing.T) {
	// 10 items: eight with 1 interaction, one with 2, one with 10; total 20.
	d := distribution(counts(1, 1, 1, 1, 1, 1, 1, 1, 2, 10), 0.2, 0.8)
	if d.N != 10 || d.Total != 20 || d.Min != 1 || d.Max != 10 || d.Mean != 2 {
		t.Errorf("basic %+v", d)
	}
	// top 20% = 2 items carry 10+2 of 20.
	if d.TopCount != 2 || d.TopInteractionShare != 0.6 {
		t.Errorf("top: %d items, share %v, want 2, 0.6", d.TopCount, d.TopInteractionShare)
	}
	// 80% = 16 interactions needs 10, 2 and four 1s: 6 items of 10.
	if d.CoverCount != 6 || d.CoverFraction != 0.6 {
		t.Errorf("cover: %d items (%v), want 6 (0.6)", d.CoverCount, d.CoverFraction)
	}
	if q := d.Quantiles[2]; q.P != 0.5 || q.Value != 1 {
		t.Errorf("median %+v, want 1", q)
	}
	if len(d.LogBins) != 4 || d.LogBins[0].Count != 8 || d.LogBins[1].Count != 1 || d.LogBins[3].Count != 1 {
		t.Errorf("log bins %v", d.LogBins)
	}
	// ceil: 20% of 7 entities is 1.4, so the top 2; and 80% of 10 is exactly 8.
	d = distribution(counts(1, 1, 1, 1, 1, 1, 4), 0.2, 0.8)
	if d.TopCount != 2 || d.TopInteractionShare != 0.5 {
		t.Errorf("top of 7: %d, %v, want 2, 0.5", d.TopCount, d.TopInteractionShare)
	}
	if d.CoverCount != 5 { // 4+1+1+1+1 = 8 = 0.8 * 10 exactly
		t.Errorf("cover of 7: %d, want 5", d.CoverCount)
	}
	// Equal counts: the top 20% carry exactly 20%, and 80% need 80%.
	d = distribution(counts(3, 3, 3, 3, 3), 0.2, 0.8)
	if d.TopCount != 1 || d.TopInteractionShare != 0.2 || d.CoverCount != 4 || d.Gini != 0 {
		t.Errorf("equal: %+v", d)
	}
}

func TestDistributionEmptyJSON(t *testing.T) {
	d := distribution(histogram{}, 0.2, 0.8)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"n":0`, `"mean":null`, `"gini":null`, `"top_interaction_share":null`, `"log_bins":[]`, `"value":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "NaN") {
		t.Errorf("NaN in JSON: %s", b)
	}
}
