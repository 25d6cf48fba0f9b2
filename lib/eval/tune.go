package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/schema"
	"github.com/crossrec/crossrec/lib/tasks"
)

// TuneChoice is the shrinkage chosen for one domain's baselines and the
// validation score that chose it.
type TuneChoice struct {
	ValidUsers        int     `json:"valid_users"`
	ItemMeanShrinkage float64 `json:"item_mean_shrinkage"`
	ItemMeanValidRMSE float64 `json:"item_mean_valid_rmse_normalised"`
	ItemBiasShrinkage float64 `json:"user_bias_item_shrinkage"`
	UserBiasShrinkage float64 `json:"user_bias_user_shrinkage"`
	UserBiasValidRMSE float64 `json:"user_bias_valid_rmse_normalised"`
	DefaultedNoUsers  bool    `json:"defaulted_no_valid_users,omitempty"`
	AtGridEdge        bool    `json:"at_grid_edge,omitempty"`
}

// validCases are the meta-validation users at the default support size,
// in their stored order: tuning never touches a test user, and uses the
// same candidates (whole catalogue minus the support pool) and relevance
// rule as the evaluation.
func validCases(d *Data, cfg *Config) []userCase {
	var cases []userCase
	for i := range d.Valid {
		e := &d.Valid[i]
		k := min(cfg.SupportK, len(e.Support))
		cases = append(cases, userCase{ep: i, user: e.User, domain: e.DomainIndex, k: k, support: e.Support[:k], exclude: e.Support, query: e.Query,
			rel: cfg.relevant(d.Domains[e.DomainIndex].Kind, e.Query), views: []view{viewAll}})
	}
	return cases
}

// tune picks, per domain, the item-mean shrinkage and the user-bias pair
// (lambda_i, lambda_u) with the lowest validation RMSE: both are rating
// predictors, judged by what they predict. Ties keep the earlier grid value; a choice at the edge
// of the grid is flagged in the report, as the grid should then be wider. A domain without
// validation users keeps the middle of the grid. Tuning makes the
// baselines as strong as the data allows without looking at test users:
// a baseline left at an arbitrary setting would flatter every model.
func tune(d *Data, cfg *Config) (Shrinkage, []TuneChoice, error) {
	nd := len(d.Domains)
	catalogue := make([]int, nd)
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	t, err := newTrainData(d.Train, catalogue)
	if err != nil {
		return Shrinkage{}, nil, err
	}
	mu := t.means()
	cases := validCases(d, cfg)
	grid := cfg.ShrinkageGrid
	mid := grid[len(grid)/2]
	choice := make([]TuneChoice, nd)
	s := Shrinkage{ItemMean: make([]float64, nd), ItemBias: make([]float64, nd), UserBias: make([]float64, nd)}
	for i := range choice {
		choice[i] = TuneChoice{ItemMeanShrinkage: mid, ItemBiasShrinkage: mid, UserBiasShrinkage: mid, ItemMeanValidRMSE: math.Inf(1), UserBiasValidRMSE: math.Inf(1)}
	}
	for _, c := range cases {
		choice[c.domain].ValidUsers++
	}
	// Item mean: RMSE on the validation queries at every lambda. The item
	// mean is a rating predictor (the item effect alone); popularity is
	// the ranking baseline. Tuned for ranking instead, lambda runs off to
	// the top of any grid and the "mean" degenerates into a popularity
	// order with the global mean's errors.
	for _, l := range grid {
		lam := make([]float64, nd)
		for i := range lam {
			lam[i] = l
		}
		im := fitItemMean(t, mu, lam)
		errs := make([]metrics.Errors, nd)
		for i := range cases {
			c := &cases[i]
			for _, x := range c.query {
				errs[c.domain].Add(float64(im.Pred[c.domain][x.Item]), float64(x.Norm))
			}
		}
		for dd := range nd {
			if v := errs[dd].RMSE(); v < choice[dd].ItemMeanValidRMSE {
				choice[dd].ItemMeanValidRMSE, choice[dd].ItemMeanShrinkage = v, l
			}
		}
	}
	// User bias: RMSE on the validation queries, by coordinate search over
	// the grid (lambda_i with lambda_u at the middle, then lambda_u, twice):
	// the validation RMSE is smooth in both, and a full grid would refit
	// the biases len(grid)^2 times per domain.
	for dd := range nd {
		rmse := map[[2]float64]float64{}
		eval := func(li, lu float64) float64 {
			if v, ok := rmse[[2]float64{li, lu}]; ok {
				return v
			}
			bi := fitBiases(t, dd, mu[dd], li, lu)
			var e metrics.Errors
			for i := range cases {
				c := &cases[i]
				if int(c.domain) != dd {
					continue
				}
				var res float64
				for _, x := range c.support {
					res += float64(x.Norm) - mu[dd] - bi[x.Item]
				}
				bu := res / (lu + float64(len(c.support)))
				for _, x := range c.query {
					e.Add(mu[dd]+bi[x.Item]+bu, float64(x.Norm))
				}
			}
			v := e.RMSE()
			rmse[[2]float64{li, lu}] = v
			return v
		}
		if choice[dd].ValidUsers == 0 {
			continue
		}
		ch := &choice[dd]
		for range 2 {
			for _, l := range grid {
				if v := eval(l, ch.UserBiasShrinkage); v < ch.UserBiasValidRMSE {
					ch.UserBiasValidRMSE, ch.ItemBiasShrinkage = v, l
				}
			}
			for _, l := range grid {
				if v := eval(ch.ItemBiasShrinkage, l); v < ch.UserBiasValidRMSE {
					ch.UserBiasValidRMSE, ch.UserBiasShrinkage = v, l
				}
			}
		}
	}
	for dd := range nd {
		c := &choice[dd]
		if c.ValidUsers == 0 {
			c.DefaultedNoUsers = true
			c.ItemMeanShrinkage, c.ItemBiasShrinkage, c.UserBiasShrinkage = mid, mid, mid
			c.ItemMeanValidRMSE, c.UserBiasValidRMSE = 0, 0
		}
		lo, hi := slices.Min(grid), slices.Max(grid)
		for _, l := range []float64{c.ItemMeanShrinkage, c.ItemBiasShrinkage, c.UserBiasShrinkage} {
			c.AtGridEdge = c.AtGridEdge || (l == hi && hi > 0) || (l == lo && lo > 0)
		}
		s.ItemMean[dd], s.ItemBias[dd], s.UserBias[dd] = c.ItemMeanShrinkage, c.ItemBiasShrinkage, c.UserBiasShrinkage
	}
	return s, choice, nil
}

// hitFlags marks the ranked items that are relevant query items of the
// case within view v.
func hitFlags(c *userCase, top []int32, v view) []bool {
	hits := make([]bool, len(top))
	for t, it := range top {
		for i, x := range c.query {
			if x.Item == it && c.rel[i] && v.keeps(x.Cold) {
				hits[t] = true
				break
			}
		}
	}
	return hits
}

// TuneUserBias fits the user-bias baseline exactly as the evaluation does
// (alternating ridge biases on train, the shrinkage pair of each domain
// picked over grid by RMSE on the valid users at support size supportK),
// for models that start from it. catalogue gives each domain's item count.
func TuneUserBias(train, valid []tasks.Episode, catalogue []int, grid []float64, supportK int) (*UserBias, []TuneChoice, error) {
	if len(grid) == 0 {
		return nil, nil, fmt.Errorf("tune user bias: empty shrinkage grid")
	}
	d := &Data{Train: train, Valid: valid}
	for i, n := range catalogue {
		// Kind only picks the relevance rule, which tuning for RMSE never reads.
		d.Domains = append(d.Domains, Domain{Index: int32(i), Items: n, Kind: schema.KindRating})
	}
	cfg := &Config{ShrinkageGrid: grid, SupportK: supportK, RatingMin: 1}
	s, choice, err := tune(d, cfg)
	if err != nil {
		return nil, nil, err
	}
	b, err := FitBaselines(train, catalogue, s)
	if err != nil {
		return nil, nil, err
	}
	return b.UserBias, choice, nil
}
