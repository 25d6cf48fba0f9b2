package metrics

import (
	"math"
	"slices"
	"testing"
)

const eps = 1e-12

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", name, got)
		}
		return
	}
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12f, want %.12f", name, got, want)
	}
}

var log2of3 = math.Log2(3)

// hits: relevant at ranks 1 and 3 of a 5-item list; the user has 3 relevant items.
var handHits = []bool{true, false, true, false, false}

func TestRankingMetricsByHand(t *testing.T) {
	// k = 3: 2 hits in 3 ranks; DCG = 1/log2(2) + 1/log2(4) = 1.5;
	// ideal: 3 hits, 1 + 1/log2(3) + 1/2.
	near(t, "P@3", PrecisionAt(handHits, 3), 2.0/3)
	near(t, "R@3", RecallAt(handHits, 3, 3), 2.0/3)
	near(t, "F1@3", F1At(handHits, 3, 3), 2.0/3)
	near(t, "NDCG@3", NDCGAt(handHits, 3, 3), 1.5/(1+1/log2of3+0.5))
	// k = 1.
	near(t, "P@1", PrecisionAt(handHits, 1), 1)
	near(t, "R@1", RecallAt(handHits, 1, 3), 1.0/3)
	near(t, "F1@1", F1At(handHits, 1, 3), 2*1*(1.0/3)/(1+1.0/3))
	near(t, "NDCG@1", NDCGAt(handHits, 1, 3), 1)
	// k = 2: one hit; the ideal has two.
	near(t, "NDCG@2", NDCGAt(handHits, 2, 3), 1/(1+1/log2of3))
}

func TestKLargerThanList(t *testing.T) {
	// k = 10 over a 5-item list: missing ranks are misses, precision divides by k.
	near(t, "P@10", PrecisionAt(handHits, 10), 0.2)
	near(t, "R@10", RecallAt(handHits, 10, 3), 2.0/3)
	near(t, "F1@10", F1At(handHits, 10, 3), 4.0/13)
	// Ideal DCG over min(10, 3) = 3 ranks.
	near(t, "NDCG@10", NDCGAt(handHits, 10, 3), 1.5/(1+1/log2of3+0.5))
	// An empty list: zero, not NaN, when the user has relevant items.
	near(t, "NDCG@5 empty", NDCGAt(nil, 5, 2), 0)
	near(t, "P@5 empty", PrecisionAt(nil, 5), 0)
	// A relevant item that was never ranked lowers NDCG: 1 hit of 2.
	near(t, "NDCG partial", NDCGAt([]bool{true}, 5, 2), 1/(1+1/log2of3))
}

func TestEmptyRelevantSet(t *testing.T) {
	near(t, "R", RecallAt(handHits, 3, 0), math.NaN())
	near(t, "F1", F1At(handHits, 3, 0), math.NaN())
	near(t, "NDCG", NDCGAt(handHits, 3, 0), math.NaN())
	near(t, "k=0", PrecisionAt(handHits, 0), math.NaN())
	r := NewRanking([]int{1, 3})
	if r.Add([]bool{true, false, true, false, false}, 3) != true {
		t.Fatal("user with relevant items not counted")
	}
	if r.Add([]bool{false, false, false}, 0) != false {
		t.Fatal("user without relevant items counted")
	}
	r.Add([]bool{false, true}, 1)
	if r.Users != 2 || r.Excluded != 1 {
		t.Fatalf("users %d excluded %d, want 2 and 1", r.Users, r.Excluded)
	}
	// k = 3: user A (P 2/3, R 2/3, NDCG 1.5/ideal3), user C (P 1/3, R 1, NDCG 1/log2(3)).
	near(t, "mean P@3", r.Precision(1), (2.0/3+1.0/3)/2)
	near(t, "mean R@3", r.Recall(1), (2.0/3+1)/2)
	near(t, "mean F1@3", r.F1(1), (2.0/3+2*(1.0/3)/(1.0/3+1))/2)
	near(t, "mean NDCG@3", r.NDCG(1), (1.5/(1+1/log2of3+0.5)+1/log2of3)/2)
	near(t, "mean NDCG@1", r.NDCG(0), 0.5)
	if v := NewRanking([]int{5}).NDCG(0); !math.IsNaN(v) {
		t.Errorf("NDCG of no users = %v, want NaN", v)
	}
}

func TestTopNAndRanksBreakTiesByItemIndex(t *testing.T) {
	scores := []float32{0.5, 0.9, 0.5, 0.9, 0.1}
	items := []int32{4, 7, 2, 3, 0}
	// 0.9: items 3 (pos 3) then 7 (pos 1); 0.5: items 2 (pos 2) then 4 (pos 0); then pos 4.
	if got := TopN(scores, items, 3, nil); !slices.Equal(got, []int{3, 1, 2}) {
		t.Errorf("TopN 3 = %v, want [3 1 2]", got)
	}
	if got := TopN(scores, items, 10, make([]int, 0, 2)); !slices.Equal(got, []int{3, 1, 2, 0, 4}) {
		t.Errorf("TopN 10 (n > list) = %v, want [3 1 2 0 4]", got)
	}
	if got := TopN(scores, items, 0, nil); len(got) != 0 {
		t.Errorf("TopN 0 = %v", got)
	}
	if got := Ranks(scores, items, []int{0, 4, 1, 3}); !slices.Equal(got, []int32{4, 5, 2, 1}) {
		t.Errorf("Ranks = %v, want [4 5 2 1]", got)
	}
	// Input order must not matter: the same candidates reversed.
	rs, ri := slices.Clone(scores), slices.Clone(items)
	slices.Reverse(rs)
	slices.Reverse(ri)
	top := TopN(rs, ri, 5, nil)
	var order []int32
	for _, p := range top {
		order = append(order, ri[p])
	}
	if !slices.Equal(order, []int32{3, 7, 2, 4, 0}) {
		t.Errorf("reversed input ranks items %v, want [3 7 2 4 0]", order)
	}
}

func TestTopNAndRanksAgreeWithAFullSort(t *testing.T) {
	// Scores with many ties (a few distinct values) over shuffled item ids.
	n := 500
	scores := make([]float32, n)
	items := make([]int32, n)
	for i := range n {
		scores[i] = float32((i * 7919) % 13)
		items[i] = int32((i * 104729) % n)
	}
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i
	}
	slices.SortFunc(pos, func(a, b int) int {
		if Better(scores[a], items[a], scores[b], items[b]) {
			return -1
		}
		return 1
	})
	if got := TopN(scores, items, 37, nil); !slices.Equal(got, pos[:37]) {
		t.Errorf("TopN disagrees with a full sort")
	}
	query := []int{5, 17, 250, 499, 0, 123}
	ranks := Ranks(scores, items, query)
	for i, q := range query {
		if want := slices.Index(pos, q) + 1; int(ranks[i]) != want {
			t.Errorf("rank of position %d = %d, want %d", q, ranks[i], want)
		}
	}
}

func TestRandomNDCGMatchesEnumeration(t *testing.T) {
	// 1 relevant of 4 candidates, k = 2: rank 1 w.p. 1/4 (gain 1), rank 2 w.p. 1/4 (gain 1/log2(3)).
	near(t, "random 1/4 @2", RandomNDCGAt(2, 1, 4), 0.25+0.25/log2of3)
	// Every placement of 2 relevant items among 5 candidates, k = 3.
	var sum float64
	var count int
	for a := 0; a < 5; a++ {
		for b := a + 1; b < 5; b++ {
			hits := make([]bool, 5)
			hits[a], hits[b] = true, true
			sum += NDCGAt(hits, 3, 2)
			count++
		}
	}
	near(t, "random 2/5 @3", RandomNDCGAt(3, 2, 5), sum/float64(count))
	near(t, "random no relevant", RandomNDCGAt(3, 0, 5), math.NaN())
}

func TestErrorsByHand(t *testing.T) {
	pred, obs := []float64{3, 4, 5}, []float64{4, 4, 2}
	near(t, "MAE", MAE(pred, obs), 4.0/3)
	near(t, "MSE", MSE(pred, obs), 10.0/3)
	near(t, "RMSE", RMSE(pred, obs), math.Sqrt(10.0/3))
	near(t, "MAE empty", MAE(nil, nil), math.NaN())
	near(t, "MAE mismatched", MAE(pred, obs[:2]), math.NaN())
	var a, b Errors
	a.Add(3, 4)
	b.Add(4, 4)
	b.Add(5, 2)
	a.Merge(b)
	near(t, "merged RMSE", a.RMSE(), math.Sqrt(10.0/3))
}

func TestCatalogueMetricsByHand(t *testing.T) {
	e := NewExposure(4)
	e.Add([]int32{3, 2})
	e.Add([]int32{3})
	e.Add([]int32{3})
	// counts [0 0 1 3]: 2 of 4 items exposed; Gini = (1*1 + 3*3)/(4*4).
	near(t, "coverage", e.Coverage(), 0.5)
	near(t, "gini", e.Gini(), 10.0/16)
	near(t, "gini equal", Gini([]int64{2, 2, 2}), 0)
	near(t, "gini one item", Gini([]int64{0, 5, 0, 0}), 0.75)
	near(t, "gini nothing", Gini([]int64{0, 0}), 0)
	near(t, "gini empty", Gini(nil), math.NaN())
	near(t, "coverage empty", NewExposure(0).Coverage(), math.NaN())
	// counts [3 0 1] over 3 users: p = [1, 1/4, 1/2].
	p := Popularity([]int64{3, 0, 1}, 3)
	near(t, "novelty", Novelty([]int32{1, 2}, p), 1.5)
	near(t, "novelty of the most popular", Novelty([]int32{0}, p), 0)
	near(t, "novelty empty", Novelty(nil, p), math.NaN())
}

func TestRankKeyOrdersLikeBetter(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -3.5, -1, float32(math.Copysign(0, -1)), 0, 1e-30, 0.5, 2, float32(math.Inf(1))}
	idx := []int32{0, 1, 7, 1 << 30}
	for _, a := range vals {
		for _, ia := range idx {
			for _, b := range vals {
				for _, ib := range idx {
					if got, want := rankKey(a, ia) > rankKey(b, ib), Better(a, ia, b, ib); got != want {
						t.Errorf("(%v,%d) vs (%v,%d): key says %v, Better %v", a, ia, b, ib, got, want)
					}
				}
			}
		}
	}
}

func TestRanksOnAwkwardScores(t *testing.T) {
	// Scores spanning many orders of magnitude and both signs, one far
	// outlier, a block of exact ties, and -0 next to +0.
	scores := []float32{1e-30, -1e30, 3, 3, 3, 0, float32(math.Copysign(0, -1)), 2.5e-7, -4, 1e20, 3, 0.5, 0.5000001, -0.5}
	items := make([]int32, len(scores))
	for i := range items {
		items[i] = int32((i * 5) % len(scores))
	}
	for _, query := range [][]int{{0, 1, 2, 3, 4}, {9}, {1}, {5, 6}, {11, 12, 13, 7}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}} {
		got := Ranks(scores, items, query)
		for i, qpos := range query {
			want := int32(1)
			for c := range scores {
				if Better(scores[c], items[c], scores[qpos], items[qpos]) {
					want++
				}
			}
			if got[i] != want {
				t.Errorf("query %v: rank of position %d = %d, want %d", query, qpos, got[i], want)
			}
		}
	}
}
