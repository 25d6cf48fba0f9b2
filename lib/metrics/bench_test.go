package metrics

import (
	"math/rand/v2"
	"testing"
)

func benchData(n, q int) ([]float32, []int32, []int) {
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float32, n)
	items := make([]int32, n)
	for i := range scores {
		scores[i] = float32(r.NormFloat64())
		items[i] = int32(i)
	}
	query := r.Perm(n)[:q]
	return scores, items, query
}

func BenchmarkRanks(b *testing.B) {
	scores, items, query := benchData(10000, 60)
	for b.Loop() {
		Ranks(scores, items, query)
	}
}

func BenchmarkTopN(b *testing.B) {
	scores, items, _ := benchData(10000, 60)
	dst := make([]int, 0, 20)
	for b.Loop() {
		dst = TopN(scores, items, 20, dst)
	}
}

var sink float32

func BenchmarkCalibrate(b *testing.B) {
	scores, _, _ := benchData(10000, 60)
	for b.Loop() {
		var s float32
		for _, v := range scores {
			s += v
		}
		sink = s
	}
}
