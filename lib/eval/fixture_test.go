package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// world is a synthetic single-domain dataset with a known structure: item
// quality and user generosity decide the star ratings, so the baselines
// have something to find and the tests know what chance looks like.
type world struct {
	items   int
	quality []float64
	cfg     Config
}

func newWorld(items int) *world {
	r := rand.New(rand.NewPCG(7, 11))
	w := &world{items: items, quality: make([]float64, items)}
	for i := range w.quality {
		w.quality[i] = r.NormFloat64()
	}
	w.cfg = Config{Seeds: []uint64{1, 2}, Ks: []int{5, 10, 20}, CurveKs: []int{1, 3, 5}, SupportK: 3, PoolK: 5,
		RatingMin: 4, PlaycountTopShare: 0.2, ShrinkageGrid: []float64{0, 5, 25}, CrossKs: []int{0, 3}}
	return w
}

// user draws one person's n ratings (item, stars) from the world.
func (w *world) user(r *rand.Rand, n int) []tasks.Rated {
	bias := r.NormFloat64() * 0.5
	out := make([]tasks.Rated, 0, n)
	// Popular items are rated more often: a Zipf-like pick.
	picked := map[int32]bool{}
	for len(out) < n {
		it := int32(math.Floor(float64(w.items) * math.Pow(r.Float64(), 2)))
		if picked[it] {
			continue
		}
		picked[it] = true
		stars := math.Round(3 + w.quality[it] + bias + r.NormFloat64()*0.5)
		stars = min(5, max(1, stars))
		out = append(out, tasks.Rated{Item: it, Raw: float32(stars), Norm: float32((stars - 1) / 4)})
	}
	return out
}

// episodes builds n users of group g: train users get a support of
// SupportK, held-out users a pool of PoolK; queries of 12.
func (w *world) episodes(r *rand.Rand, g string, n int, prefix string) []tasks.Episode {
	var out []tasks.Episode
	for u := range n {
		rated := w.user(r, 17)
		sup := w.cfg.PoolK
		if g == split.Train {
			sup = w.cfg.SupportK
		}
		out = append(out, tasks.Episode{Domain: "d", User: fmt.Sprintf("%s%03d", prefix, u), Group: g, Support: rated[:sup], Query: rated[sup:]})
	}
	return out
}

// markCold sets every Rated.Cold by the rule of the tasks stage.
func markCold(train []tasks.Episode, sets ...[]tasks.Episode) {
	seen := map[int32]bool{}
	for _, e := range train {
		for _, x := range append(slices.Clone(e.Support), e.Query...) {
			seen[x.Item] = true
		}
	}
	for _, eps := range append([][]tasks.Episode{train}, sets...) {
		for i := range eps {
			for j := range eps[i].Support {
				eps[i].Support[j].Cold = !seen[eps[i].Support[j].Item]
			}
			for j := range eps[i].Query {
				eps[i].Query[j].Cold = !seen[eps[i].Query[j].Item]
			}
		}
	}
}

func (w *world) itemTable() *tasks.ItemTable {
	ids := make([]string, w.items)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	return &tasks.ItemTable{Domains: []tasks.ItemDomain{{Name: "d", IDs: ids}}}
}

var ratingScaler = []schema.Scaler{{Domain: "d", Feature: schema.KindRating, Method: "minmax", Min: 1, Max: 5}}

// data builds a clean split: train, valid and test users are different
// people; warm episodes hold out the tail of the train users' histories.
func (w *world) data(t testing.TB, trainN, testN int) *Data {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 5))
	train := w.episodes(r, split.Train, trainN, "tr")
	valid := w.episodes(r, split.Valid, 20, "va")
	test := w.episodes(r, split.Test, testN, "te")
	var warm []tasks.Episode
	for _, e := range train[:10] {
		more := w.user(r, 4)
		warm = append(warm, tasks.Episode{Domain: "d", User: e.User, Group: tasks.Warm, Support: append(slices.Clone(e.Support), e.Query...), Query: more})
	}
	// Warm queries must not repeat the user's known items.
	for i := range warm {
		known := map[int32]bool{}
		for _, x := range warm[i].Support {
			known[x.Item] = true
		}
		warm[i].Query = slices.DeleteFunc(warm[i].Query, func(x tasks.Rated) bool { return known[x.Item] })
		if len(warm[i].Query) == 0 {
			warm[i].Query = []tasks.Rated{{Item: int32(w.items - 1 - i), Raw: 4, Norm: 0.75}}
		}
	}
	markCold(train, valid, test, warm)
	d, err := NewData(w.itemTable(), train, valid, test, warm, nil, ratingScaler)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
