package eval

import (
	"slices"
	"strings"
	"testing"

	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
)

func rated(raws ...float32) []tasks.Rated {
	out := make([]tasks.Rated, len(raws))
	for i, r := range raws {
		out[i] = tasks.Rated{Item: int32(i), Raw: r}
	}
	return out
}

func TestRelevanceRules(t *testing.T) {
	c := Config{RatingMin: 4, PlaycountTopShare: 0.2}
	got := c.relevant(schema.KindRating, rated(3.5, 4, 5, 0.5, 4.5))
	if want := []bool{false, true, true, false, true}; !slices.Equal(got, want) {
		t.Errorf("ratings: %v, want %v", got, want)
	}
	// 10 query items, top 20% = 2: plays 100 and 50, and the other 50 tied at the cut.
	got = c.relevant(schema.KindPlaycount, rated(10, 50, 50, 3, 7, 100, 1, 2, 4, 5))
	if want := []bool{false, true, true, false, false, true, false, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("plays: %v, want %v", got, want)
	}
	// 3 items: ceil(0.6) = 1, at least one relevant.
	got = c.relevant(schema.KindPlaycount, rated(2, 9, 4))
	if want := []bool{false, true, false}; !slices.Equal(got, want) {
		t.Errorf("plays, short query: %v, want %v", got, want)
	}
	// 5 items, share 0.2: exactly one (0.2*5 is 1, not 2 by rounding error).
	got = c.relevant(schema.KindPlaycount, rated(1, 2, 3, 4, 5))
	if want := []bool{false, false, false, false, true}; !slices.Equal(got, want) {
		t.Errorf("plays, 5 items: %v, want %v", got, want)
	}
}

func TestDrawRedrawsPoolAndQuery(t *testing.T) {
	e := tasks.Episode{Domain: "d", User: "u", Support: rated(1, 2, 3, 4, 5), Query: rated(1, 2, 3, 4, 5, 1, 2, 3, 4, 5)}
	for i := range e.Query {
		e.Query[i].Item += 100
	}
	all := func(a, b []tasks.Rated) []int32 {
		var ids []int32
		for _, x := range append(slices.Clone(a), b...) {
			ids = append(ids, x.Item)
		}
		slices.Sort(ids)
		return ids
	}
	want := all(e.Support, e.Query)
	p1, q1 := draw(&e, 1, false)
	p1b, q1b := draw(&e, 1, false)
	p2, q2 := draw(&e, 2, false)
	if len(p1) != 5 || len(q1) != 10 || !slices.Equal(all(p1, q1), want) || !slices.Equal(all(p2, q2), want) {
		t.Fatalf("a draw must keep the sizes and the items: pool %v query %v", p1, q1)
	}
	if !slices.Equal(p1, p1b) || !slices.Equal(q1, q1b) {
		t.Error("the same seed drew differently")
	}
	if slices.Equal(p1, p2) {
		t.Error("seeds 1 and 2 drew the same support pool")
	}
	if slices.Equal(p1, e.Support) {
		t.Error("seed 1 kept the stored split")
	}
	pt, qt := draw(&e, 1, true)
	if !slices.Equal(pt, e.Support) || !slices.Equal(qt, e.Query) {
		t.Error("temporal splits must keep the stored order")
	}
	// The episode itself is untouched.
	if e.Support[0].Item != 0 || e.Query[0].Item != 100 {
		t.Error("draw modified the episode")
	}
}

func TestColdCasesShareQueryAndCandidatesAcrossK(t *testing.T) {
	w := newWorld(200)
	d := w.data(t, 60, 5)
	r := newRunner(d, w.cfg)
	cases := r.coldCases(d.Test, 1, "", w.cfg.CurveKs, true, false)
	if len(cases) != 5*len(w.cfg.CurveKs) {
		t.Fatalf("%d cases", len(cases))
	}
	for i := 0; i < len(cases); i += len(w.cfg.CurveKs) {
		first := cases[i]
		for j, k := range w.cfg.CurveKs {
			c := cases[i+j]
			if c.k != k || len(c.support) != k || !slices.Equal(c.support, first.exclude[:k]) {
				t.Errorf("user %s K=%d: support is not the first K of the pool", c.user, k)
			}
			if !slices.Equal(c.query, first.query) || !slices.Equal(c.exclude, first.exclude) || !slices.Equal(c.rel, first.rel) {
				t.Errorf("user %s K=%d: query, relevance or excluded pool differ across K", c.user, k)
			}
			if (k == w.cfg.SupportK) != (len(c.views) == 3) {
				t.Errorf("K=%d: %d views", k, len(c.views))
			}
		}
	}
}

// recorder is a scorer that prefers the user's support items above all and
// records every candidate list it was given.
type recorder struct {
	seen [][]int32
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Score(_ int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	r.seen = append(r.seen, slices.Clone(cands))
	out := make([]float32, len(cands))
	for j, c := range cands {
		out[j] = float32(c%7) / 7
		for _, x := range support {
			if x.Item == c {
				out[j] = 1e9 // would top every list if it were a candidate
			}
		}
	}
	return out, nil
}

func TestSupportIsNeverRankedNorAHit(t *testing.T) {
	w := newWorld(150)
	d := w.data(t, 60, 20)
	r := newRunner(d, w.cfg)
	cases := r.coldCases(d.Test, 3, "", w.cfg.CurveKs, true, false)
	rec := &recorder{}
	res, err := r.eng.runAll(rec, false, cases)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) != len(cases) {
		t.Fatalf("%d scorer calls for %d cases", len(rec.seen), len(cases))
	}
	for i, c := range cases {
		pool := map[int32]bool{}
		for _, x := range c.exclude {
			pool[x.Item] = true
		}
		if len(rec.seen[i]) != w.items-len(c.exclude) {
			t.Fatalf("user %s K=%d: %d candidates, want the whole catalogue minus the pool (%d)", c.user, c.k, len(rec.seen[i]), w.items-len(c.exclude))
		}
		for _, it := range rec.seen[i] {
			if pool[it] {
				t.Fatalf("user %s K=%d: support-pool item %d was a candidate", c.user, c.k, it)
			}
		}
		for vi := range c.views {
			for _, it := range res[i].views[vi].top {
				if pool[it] {
					t.Fatalf("user %s: support-pool item %d was recommended", c.user, it)
				}
			}
		}
		// A hit can only be a query item.
		q := map[int32]bool{}
		for _, x := range c.query {
			q[x.Item] = true
		}
		for t2, h := range hitFlags(&c, res[i].views[0].top, viewAll) {
			if h && !q[res[i].views[0].top[t2]] {
				t.Fatalf("user %s: a non-query item counted as a hit", c.user)
			}
		}
	}
	// A support item planted in the query is refused before anything is scored.
	bad := slices.Clone(d.Test)
	bad[0].Query = append(slices.Clone(bad[0].Query), bad[0].Support[0])
	if _, err := NewData(d.Items, d.Train, d.Valid, bad, d.Warm, nil, ratingScaler); err == nil || !strings.Contains(err.Error(), "both support and query") {
		t.Errorf("support item in the query: err %v", err)
	}
}

func TestNewDataRefusesBrokenSplits(t *testing.T) {
	w := newWorld(100)
	d := w.data(t, 30, 5)
	leak := slices.Clone(d.Test)
	leak[1].User = d.Train[4].User
	if _, err := NewData(d.Items, d.Train, d.Valid, leak, d.Warm, nil, ratingScaler); err == nil || !strings.Contains(err.Error(), "held-out user") {
		t.Errorf("test user in train.arrow: err %v", err)
	}
	leakV := slices.Clone(d.Valid)
	leakV[0].User = d.Train[0].User
	if _, err := NewData(d.Items, d.Train, leakV, d.Test, d.Warm, nil, ratingScaler); err == nil || !strings.Contains(err.Error(), "validation user") {
		t.Errorf("valid user in train.arrow: err %v", err)
	}
	flag := slices.Clone(d.Test)
	flag[0].Query = slices.Clone(flag[0].Query)
	flag[0].Query[0].Cold = !flag[0].Query[0].Cold
	if _, err := NewData(d.Items, d.Train, d.Valid, flag, d.Warm, nil, ratingScaler); err == nil || !strings.Contains(err.Error(), "cold") {
		t.Errorf("wrong cold flag: err %v", err)
	}
	out := slices.Clone(d.Test)
	out[0].Query = slices.Clone(out[0].Query)
	out[0].Query[0].Item = int32(w.items)
	if _, err := NewData(d.Items, d.Train, d.Valid, out, d.Warm, nil, ratingScaler); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("item out of range: err %v", err)
	}
	if _, err := NewData(d.Items, d.Train, d.Valid, d.Test, d.Warm, nil, nil); err == nil || !strings.Contains(err.Error(), "no rating or playcount scaler") {
		t.Errorf("no scaler: err %v", err)
	}
}

func TestReportValuesInvertToStars(t *testing.T) {
	dom := Domain{Kind: schema.KindRating, Scaler: schema.Scaler{Method: "minmax", Min: 0.5, Max: 5}}
	p, obs := dom.reportValues(0.5, tasks.Rated{Raw: 4, Norm: 0.7777})
	if p != 2.75 || obs != 4 {
		t.Errorf("rating: %v %v, want 2.75 stars against the raw 4", p, obs)
	}
	play := Domain{Kind: schema.KindPlaycount}
	p, obs = play.reportValues(0.25, tasks.Rated{Raw: 300, Norm: 0.5})
	if p != 0.25 || obs != 0.5 {
		t.Errorf("plays: %v %v, want the normalised scale", p, obs)
	}
}
