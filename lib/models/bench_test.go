package models

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/synth"
)

// BenchmarkScore times one new user's request: adapt to K=10 support
// ratings, then score the whole 10,000-item catalogue, for two head sizes.
func BenchmarkScore(b *testing.B) {
	items := synth.Items(1, 10000)
	eps := synth.Episodes(2, items, 64, 10, 10)
	all := make([]int32, 10000)
	for i := range all {
		all[i] = int32(i)
	}
	for _, hidden := range [][2]int{{64, 32}, {32, 16}} {
		b.Run(fmt.Sprintf("hidden=%dx%d", hidden[0], hidden[1]), func(b *testing.B) {
			cat, err := NewCatalog(items, nil)
			if err != nil {
				b.Fatal(err)
			}
			cfg := Config{Arch: NCF, ItemDim: 32, UserDim: 32, Hidden: hidden, Encoder: true, Adapt: []string{GroupLast},
				InnerSteps: 3, InnerLR: 0.1, LearnInnerLR: true, Shape: cat.Shape()}
			be, err := backends.NewWithConfig("go:parallelism=-1")
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewModel("bench", be, cfg, cfg.Init(1), items)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 3 {
				if _, err := m.Score(0, eps[i].Support, all); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := m.Score(0, eps[i%len(eps)].Support, all); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAdaptOnly(b *testing.B) {
	items := synth.Items(1, 10000)
	eps := synth.Episodes(2, items, 64, 10, 10)
	cat, _ := NewCatalog(items, nil)
	cfg := Config{Arch: NCF, ItemDim: 32, UserDim: 32, Hidden: [2]int{32, 16}, Encoder: true, Adapt: []string{GroupLast},
		InnerSteps: 3, InnerLR: 0.1, LearnInnerLR: true, Shape: cat.Shape()}
	be, _ := backends.NewWithConfig("go:parallelism=-1")
	m, _ := NewModel("bench", be, cfg, cfg.Init(1), items)
	few := []int32{1, 2, 3}
	for i := range 3 {
		m.Score(0, eps[i].Support, few)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Score(0, eps[i%len(eps)].Support, few); err != nil {
			b.Fatal(err)
		}
	}
}
