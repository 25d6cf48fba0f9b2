package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/metrics"
)

// cell accumulates one table cell for one seed: one model on one domain's
// users at one support size, in one view.
type cell struct {
	cfg         *Config
	dom         *Domain
	v           view
	rankingOnly bool
	errs        metrics.Errors
	rank        *metrics.Ranking
	exposure    []*metrics.Exposure // per cfg.Ks, over the view's catalogue
	viewIndex   []int32             // item -> index in the view's catalogue
	novelty     float64
	lists       int
	tied        int // lists whose top-HeadK cut fell inside a run of equal scores
	// chance levels: expected metrics of a uniformly random ranking of the
	// same candidates, summed over the users that count
	chanceNDCG, chanceP, chanceR []float64
	// per user (by episode index), for the paired tests
	userNDCG map[int]float64
	userAE   map[int]float64
	userSE   map[int]float64 // mean squared error: the paired test beside RMSE
}

func newCell(cfg *Config, dom *Domain, v view, rankingOnly bool) *cell {
	c := &cell{cfg: cfg, dom: dom, v: v, rankingOnly: rankingOnly, rank: metrics.NewRanking(cfg.Ks),
		chanceNDCG: make([]float64, len(cfg.Ks)), chanceP: make([]float64, len(cfg.Ks)), chanceR: make([]float64, len(cfg.Ks)),
		userNDCG: map[int]float64{}, userAE: map[int]float64{}, userSE: map[int]float64{}}
	c.viewIndex = make([]int32, dom.Items)
	n := 0
	for i := range dom.Items {
		c.viewIndex[i] = -1
		if v.keeps(dom.Cold[i]) {
			c.viewIndex[i] = int32(n)
			n++
		}
	}
	for range cfg.Ks {
		c.exposure = append(c.exposure, metrics.NewExposure(n))
	}
	return c
}

// add records one case's ranking in this cell's view.
func (c *cell) add(uc *userCase, qScore []float32, r *viewResult) error {
	// A top item is a hit when it is a relevant query item of the view.
	// Support items were never candidates, so they can never be hits.
	hits := hitFlags(uc, r.top, c.v)
	if c.rank.Add(hits, r.relevant) {
		c.userNDCG[uc.ep] = metrics.NDCGAt(hits, HeadK, r.relevant)
		for i, k := range c.cfg.Ks {
			c.chanceNDCG[i] += metrics.RandomNDCGAt(k, r.relevant, r.candidates)
			shown := float64(min(k, r.candidates))
			c.chanceP[i] += shown * float64(r.relevant) / float64(r.candidates) / float64(k)
			c.chanceR[i] += shown / float64(r.candidates)
		}
	}
	if !c.rankingOnly && r.inView > 0 {
		var e metrics.Errors
		for i, x := range uc.query {
			if c.v.keeps(x.Cold) {
				e.Add(c.dom.reportValues(qScore[i], x))
			}
		}
		c.errs.Merge(e)
		c.userAE[uc.ep] = e.MAE()
		c.userSE[uc.ep] = e.MSE()
	}
	for i, k := range c.cfg.Ks {
		top := r.top[:min(k, len(r.top))]
		idx := make([]int32, len(top))
		for t, it := range top {
			idx[t] = c.viewIndex[it]
			if idx[t] < 0 {
				return fmt.Errorf("user %q of %s: recommended item %d lies outside the ranked view", uc.user, c.dom.Name, it)
			}
		}
		c.exposure[i].Add(idx)
	}
	if head := r.top[:min(HeadK, len(r.top))]; len(head) > 0 {
		c.novelty += metrics.Novelty(head, c.dom.Pop)
		c.lists++
		if len(r.top) > HeadK && r.topScore[HeadK-1] == r.topScore[HeadK] {
			c.tied++
		}
	}
	return nil
}

// summary is one seed's metrics of a cell, by output name. Undefined
// values (no user with a relevant item, no query item) are left out.
func (c *cell) summary() map[string]float64 {
	m := map[string]float64{}
	put := func(k string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	if !c.rankingOnly {
		put("mae", c.errs.MAE())
		put("mse", c.errs.MSE())
		put("rmse", c.errs.RMSE())
	}
	for i, k := range c.cfg.Ks {
		put(fmt.Sprintf("precision@%d", k), c.rank.Precision(i))
		put(fmt.Sprintf("recall@%d", k), c.rank.Recall(i))
		put(fmt.Sprintf("f1@%d", k), c.rank.F1(i))
		put(fmt.Sprintf("ndcg@%d", k), c.rank.NDCG(i))
		put(fmt.Sprintf("coverage@%d", k), c.exposure[i].Coverage())
		if k == HeadK {
			put(fmt.Sprintf("gini@%d", k), c.exposure[i].Gini())
		}
	}
	if c.lists > 0 {
		put(fmt.Sprintf("novelty@%d", HeadK), c.novelty/float64(c.lists))
		// The share of users whose top-10 membership was decided by the
		// item-index tie-break rather than by the scores: 1 for a
		// constant scorer. Catalogue order is not neutral (goodbooks and
		// MovieLens number items roughly by popularity or age), so a high
		// value means the ranking metrics credit the catalogue, not the
		// model.
		if c.cfg.topN() > HeadK {
			put(fmt.Sprintf("tied@%d", HeadK), float64(c.tied)/float64(c.lists))
		}
	}
	m["users"] = float64(c.rank.Users)
	m["users_without_relevant"] = float64(c.rank.Excluded)
	if !c.rankingOnly {
		m["query_items"] = float64(c.errs.N)
	}
	return m
}

// chance is the expected ranking metrics of a random ranking of the same
// candidates for the same users: the level a model with no information
// reaches, for reading every other row against.
func (c *cell) chance() map[string]float64 {
	m := map[string]float64{}
	if c.rank.Users == 0 {
		return m
	}
	n := float64(c.rank.Users)
	for i, k := range c.cfg.Ks {
		m[fmt.Sprintf("ndcg@%d", k)] = c.chanceNDCG[i] / n
		m[fmt.Sprintf("precision@%d", k)] = c.chanceP[i] / n
		m[fmt.Sprintf("recall@%d", k)] = c.chanceR[i] / n
	}
	m["users"] = n
	return m
}

// countKeys are counts, averaged over seeds without a spread.
var countKeys = map[string]bool{"users": true, "users_without_relevant": true, "query_items": true}

// headline metrics also get a 95% t-interval half-width.
func headline(key string) bool {
	return key == fmt.Sprintf("ndcg@%d", HeadK) || key == fmt.Sprintf("recall@%d", HeadK) || key == "mae" || key == "rmse"
}

// combineSeeds turns per-seed summaries into the reported values: the mean
// over seeds of each metric defined in every seed, with "<metric>_std",
// the sample standard deviation over seeds, and for headline metrics
// "<metric>_ci95", the half-width of the 95% t-interval of the mean. With
// one seed there is no spread to report and those keys are left out.
func combineSeeds(seeds []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	if len(seeds) == 0 {
		return out
	}
	keys := make([]string, 0, len(seeds[0]))
	for k := range seeds[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		xs := make([]float64, 0, len(seeds))
		for _, s := range seeds {
			if v, ok := s[k]; ok {
				xs = append(xs, v)
			}
		}
		if len(xs) != len(seeds) {
			continue
		}
		sp := Spread(xs)
		out[k] = sp.Mean
		if countKeys[k] || len(xs) < 2 {
			continue
		}
		out[k+"_std"] = sp.Std
		if headline(k) {
			out[k+"_ci95"] = sp.CI95
		}
	}
	return out
}
