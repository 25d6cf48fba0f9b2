package meta

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/synth"
	"github.com/crossrec/crossrec/lib/tasks"
)

// TestCooccurrenceWeightIsTuned: items form two groups that users never
// mix, the second group five times as popular. Validation users of the
// first group find their items only through co-occurrence, so the tuned
// weight is positive and its NDCG far above popularity's (weight 0); the
// rows of items no training user had stay zero.
func TestCooccurrenceWeightIsTuned(t *testing.T) {
	items := synth.Items(1, 24)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 0))
	user := func(group int) tasks.Episode {
		var picks []int32
		for len(picks) < 8 {
			i := int32(group*10 + rng.IntN(10)) // items 20-23: nobody's
			if !slices.Contains(picks, i) {
				picks = append(picks, i)
			}
		}
		e := tasks.Episode{Domain: cat.Domains[0]}
		for j, i := range picks {
			x := tasks.Rated{Item: i, Norm: float32(rng.Float64())}
			if j < 4 {
				e.Support = append(e.Support, x)
			} else {
				e.Query = append(e.Query, x)
			}
		}
		return e
	}
	var train, valid []tasks.Episode
	for u := range 60 {
		train = append(train, user(min(u%6, 1))) // groups 0:1 in 1:5
	}
	for range 20 {
		valid = append(valid, user(0))
	}
	o := trainOpts(MAML, 0)
	o.Model.Shape = cat.Shape()
	w := o.Model.Init(1)
	setDataInit(w, cat, train)
	grid := []float64{0, 1, 4, 16, 64}
	chosen := setRankItems(w, cat, train, valid, 4, grid)
	if chosen[0] <= 0 {
		t.Fatalf("chosen weight %g: co-occurrence not used", chosen[0])
	}
	r := w.Specs[w.Index("rank_item")].Dims[1]
	f := mat.NewDense(cat.NItems, r, nil)
	for i := range cat.NItems {
		for k := range r {
			f.Set(i, k, float64(w.Values[w.Index("rank_item")][i*r+k]))
		}
	}
	for i := 20; i < 24; i++ {
		if mat.Norm(f.Slice(i, i+1, 0, r), 2) != 0 {
			t.Errorf("item %d has no training user but a co-occurrence row", i)
		}
	}
	base := make([]float64, cat.NItems)
	for i := range base {
		base[i] = float64(w.Values[w.Index("pop_bias")][i] + w.Values[w.Index("item_bias")][i])
	}
	// f already carries sqrt(chosen): weight 1 scores at the chosen weight.
	popOnly, tuned := cooccurNDCG(f, base, valid, 4, 0), cooccurNDCG(f, base, valid, 4, 1)
	if tuned < popOnly+0.3 {
		t.Errorf("NDCG@10 with co-occurrence %.3f, popularity alone %.3f", tuned, popOnly)
	}
}
