//go:build goexperiment.simd && amd64

package adapt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crossrec/crossrec/lib/models"
)

// TestSIMDKernel holds the vector kernel (score_simd.go) to the scalar
// loop and to lib/models' graph, on heads whose widths are multiples of 8,
// for every architecture and adapt setting: the kernel must serve exactly
// the heads it covers (no adapted item-side tensor) and the scalar loop
// the others. Run with GOEXPERIMENT=simd (.ci/run does).
func TestSIMDKernel(t *testing.T) {
	if !useSIMD {
		t.Fatal("built with GOEXPERIMENT=simd, but the CPU lacks AVX2 or FMA: the kernel cannot be tested here")
	}
	b := testBackend(t)
	n := uint64(100)
	for _, arch := range []string{models.FCNN, models.NCF} {
		for _, ad := range [][]string{nil, {models.GroupLast}, {models.GroupHead}} {
			for _, rank := range []bool{false, true} {
				n++
				f := newFixtureWidths(t, arch, true, ad, rank, true, n, 8, 16, [2]int{16, 8})
				t.Run(f.name, func(t *testing.T) {
					s, err := New(f.name, f.cfg, f.w, f.items)
					if err != nil {
						t.Fatal(err)
					}
					r := rand.New(rand.NewPCG(n, 3))
					cands := make([]int32, s.Catalog().Items[0])
					for i := range cands {
						cands[i] = int32(i)
					}
					for _, k := range []int{0, 1, 10} {
						sup := support(r, len(cands), k)
						di, err := s.check(0, cands)
						if err != nil {
							t.Fatal(err)
						}
						sc := s.scratch()
						h, err := s.prepare(0, nil, 0, di, sup, sc)
						if err != nil {
							t.Fatal(err)
						}
						if want := len(ad) == 0 || ad[0] != models.GroupHead; h.simd != want {
							t.Fatalf("adapt %v: vector kernel used %v, want %v", ad, h.simd, want)
						}
						s.pool.Put(sc)
						vp, vr, err := s.ScoreRank(0, sup, cands)
						if err != nil {
							t.Fatal(err)
						}
						useSIMD = false
						sp, sr, err := s.ScoreRank(0, sup, cands)
						useSIMD = true
						if err != nil {
							t.Fatal(err)
						}
						at := fmt.Sprintf("K=%d", k)
						sameVec(t, at+" pred", vp, sp)
						sameVec(t, at+" rank", vr, sr)
					}
					m, err := models.NewModel(f.name, b, f.cfg, f.w, f.items)
					if err != nil {
						t.Fatal(err)
					}
					compareScorers(t, m, s, 2)
				})
			}
		}
	}
}
