// Package synth makes small synthetic catalogues and tasks for the model
// and meta-learning tests and benchmarks: a few domains whose items have
// genre, creator and dense features, and users whose ratings follow a
// latent taste over the universal genres, so adaptation has signal to find.
package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/crossrec/crossrec/lib/tasks"
)

// Items returns a catalogue of len(sizes) domains with sizes[d] items.
func Items(seed uint64, sizes ...int) *tasks.ItemTable {
	r := rand.New(rand.NewPCG(seed, 1))
	t := &tasks.ItemTable{Genres: 3, Creators: 2, MultiHot: 4, Numeric: 2, Universal: 5}
	for d, n := range sizes {
		D := tasks.ItemDomain{Name: fmt.Sprintf("dom%d", d)}
		for i := range n {
			D.IDs = append(D.IDs, fmt.Sprintf("d%di%d", d, i))
			// 1 or 2 genres out of 6 (0 pads), one creator out of 4.
			g := []int32{int32(1 + r.IntN(6)), 0, 0}
			if r.IntN(2) == 0 {
				g[1] = int32(1 + r.IntN(6))
			}
			D.GenreIdx = append(D.GenreIdx, g...)
			D.CreatorIdx = append(D.CreatorIdx, int32(1+r.IntN(4)), 0)
			for range t.MultiHot {
				D.MultiHot = append(D.MultiHot, float32(r.IntN(2)))
			}
			D.Numeric = append(D.Numeric, float32(r.NormFloat64()), 1)
			for range t.Universal {
				D.Universal = append(D.Universal, float32(r.IntN(2)))
			}
		}
		t.Domains = append(t.Domains, D)
	}
	return t
}

// Episodes returns n tasks per domain with k support and q query ratings,
// in group "train".
func Episodes(seed uint64, items *tasks.ItemTable, n, k, q int) []tasks.Episode {
	r := rand.New(rand.NewPCG(seed, 2))
	var out []tasks.Episode
	for d, D := range items.Domains {
		for u := range n {
			taste := make([]float64, items.Universal)
			for i := range taste {
				taste[i] = r.NormFloat64() * 0.2
			}
			e := tasks.Episode{Domain: D.Name, DomainIndex: int32(d), User: fmt.Sprintf("u%d", u), Group: "train"}
			perm := r.Perm(len(D.IDs))
			for j := range k + q {
				it := perm[j%len(perm)]
				v := 0.5
				for g := range taste {
					v += taste[g] * float64(D.Universal[it*items.Universal+g])
				}
				v += 0.05 * r.NormFloat64()
				x := tasks.Rated{Item: int32(it), Norm: float32(v), Raw: float32(v)}
				if j < k {
					e.Support = append(e.Support, x)
				} else {
					e.Query = append(e.Query, x)
				}
			}
			out = append(out, e)
		}
	}
	return out
}
