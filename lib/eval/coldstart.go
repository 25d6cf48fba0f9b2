package eval

import (
	"math"

	"github.com/crossrec/crossrec/lib/recommend"
)

// ColdStartScores is one scorer's cold-start evaluation at one support size
// and seed: the evaluate stage's headline protocol, for notebooks and
// tests that want one number without running the stage.
type ColdStartScores struct {
	// Metrics and Chance map domain -> metric -> value, as in
	// metrics/evaluate.json (one seed, so no spread).
	Metrics map[string]map[string]float64
	Chance  map[string]map[string]float64
	// Per meta-test user, indexed like Data.Test: NDCG@10 and the mean
	// absolute error in the reporting unit; NaN where undefined (no
	// relevant item; a ranking-only scorer).
	UserNDCG []float64
	UserAE   []float64
}

// ColdStart scores sc on the meta-test users of d exactly as the evaluate
// stage does (same candidates, relevance, tie-breaking and metrics) at
// support size k for one seed.
func ColdStart(d *Data, cfg Config, sc recommend.Scorer, seed uint64, k int) (*ColdStartScores, error) {
	r := newRunner(d, cfg)
	r.cfg.Seeds = []uint64{seed}
	ro := false
	if x, ok := sc.(RankingOnly); ok {
		ro = x.RankingOnly()
	}
	m := &entry{name: "model", rankingOnly: ro}
	cases := r.coldCases(d.Test, seed, "", []int{k}, false, false)
	res, err := r.eng.runAll(sc, false, cases)
	if err != nil {
		return nil, err
	}
	if err := r.consume(m, m.name, 0, tableCold, "", cases, res, func(*userCase) []string { return []string{tableCold} }); err != nil {
		return nil, err
	}
	out := &ColdStartScores{Metrics: map[string]map[string]float64{}, Chance: map[string]map[string]float64{},
		UserNDCG: make([]float64, len(d.Test)), UserAE: make([]float64, len(d.Test))}
	for i := range out.UserNDCG {
		out.UserNDCG[i], out.UserAE[i] = math.NaN(), math.NaN()
	}
	for _, dom := range d.Domains {
		cs := r.cells[cellKey{tableCold, dom.Name, m.name, k}]
		if cs == nil || cs[0] == nil {
			continue
		}
		c := cs[0]
		out.Metrics[dom.Name] = c.summary()
		out.Chance[dom.Name] = c.chance()
		for ep, v := range c.userNDCG {
			out.UserNDCG[ep] = v
		}
		for ep, v := range c.userAE {
			out.UserAE[ep] = v
		}
	}
	return out, nil
}
