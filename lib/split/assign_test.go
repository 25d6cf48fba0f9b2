package split

import (
	"fmt"
	"math"
	"testing"
)

func TestAssignerFractionsAndStability(t *testing.T) {
	a := Assigner{Seed: 42, Train: 0.7, Valid: 0.1}
	counts := map[string]int{}
	const n = 100_000
	for i := 0; i < n; i++ {
		counts[a.Group(fmt.Sprintf("movielens:%d", i))]++
	}
	for g, want := range map[string]float64{Train: 0.7, Valid: 0.1, Test: 0.2} {
		got := float64(counts[g]) / n
		// Binomial sd at n=1e5 is at most 0.0016; 5 sd.
		if math.Abs(got-want) > 0.008 {
			t.Errorf("group %s got share %.4f, want %.2f", g, got, want)
		}
	}
	if a.Group("douban:7") != a.Group("douban:7") {
		t.Fatal("assignment is not deterministic")
	}
	b := Assigner{Seed: 43, Train: 0.7, Valid: 0.1}
	moved := 0
	for i := 0; i < 1000; i++ {
		u := fmt.Sprintf("u%d", i)
		if a.Group(u) != b.Group(u) {
			moved++
		}
	}
	if moved < 200 {
		t.Fatalf("changing the seed moved only %d of 1000 users", moved)
	}
}
