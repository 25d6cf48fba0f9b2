package baselines

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Shrinkage holds the reference predictors' per-domain shrinkage strengths.
type Shrinkage struct {
	ItemMean []float64 // lambda of ItemMean
	ItemBias []float64 // lambda_i of UserBias
	UserBias []float64 // lambda_u of UserBias
}

// TuneChoice is the shrinkage chosen for one domain's reference predictors
// and the validation score that chose it.
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

// TuneShrinkage picks, per domain, the item-mean shrinkage and the
// user-bias pair (lambda_i, lambda_u) with the lowest RMSE on the
// meta-validation users' queries, each user adapting on the first supportK
// items of their support: both are rating predictors, judged by what they
// predict. Ties keep the earlier grid value; a choice at the edge of the
// grid is flagged, as the grid should then be wider. A domain without
// validation users keeps the middle of the grid. Tuning makes the
// baselines as strong as the data allows without looking at test users:
// a baseline left at an arbitrary setting would flatter every model.
func TuneShrinkage(t *Train, valid []tasks.Episode, grid []float64, supportK int) (Shrinkage, []TuneChoice, error) {
	if len(grid) == 0 {
		return Shrinkage{}, nil, fmt.Errorf("tune shrinkage: empty grid")
	}
	nd := len(t.Items)
	mu := t.Means()
	mid := grid[len(grid)/2]
	choice := make([]TuneChoice, nd)
	s := Shrinkage{ItemMean: make([]float64, nd), ItemBias: make([]float64, nd), UserBias: make([]float64, nd)}
	for i := range choice {
		choice[i] = TuneChoice{ItemMeanShrinkage: mid, ItemBiasShrinkage: mid, UserBiasShrinkage: mid, ItemMeanValidRMSE: math.Inf(1), UserBiasValidRMSE: math.Inf(1)}
	}
	for _, e := range valid {
		if e.DomainIndex < 0 || int(e.DomainIndex) >= nd {
			return Shrinkage{}, nil, fmt.Errorf("tune shrinkage: user %q: domain index %d out of range", e.User, e.DomainIndex)
		}
		choice[e.DomainIndex].ValidUsers++
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
		im := FitItemMean(t, mu, lam)
		errs := make([]metrics.Errors, nd)
		for _, e := range valid {
			for _, x := range e.Query {
				errs[e.DomainIndex].Add(float64(im.Pred[e.DomainIndex][x.Item]), float64(x.Norm))
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
			bi := FitBiases(t, dd, mu[dd], li, lu)
			var e metrics.Errors
			for _, ep := range valid {
				if int(ep.DomainIndex) != dd {
					continue
				}
				var res float64
				support := ep.Support[:min(supportK, len(ep.Support))]
				for _, x := range support {
					res += float64(x.Norm) - mu[dd] - bi[x.Item]
				}
				bu := res / (lu + float64(len(support)))
				for _, x := range ep.Query {
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

// TuneUserBias fits the user-bias baseline exactly as the evaluation does
// (alternating ridge biases on train, the shrinkage pair of each domain
// picked over grid by RMSE on the valid users at support size supportK),
// for models that start from it. catalogue gives each domain's item count.
func TuneUserBias(train, valid []tasks.Episode, catalogue []int, grid []float64, supportK int) (*UserBias, []TuneChoice, error) {
	t, err := NewTrain(train, catalogue)
	if err != nil {
		return nil, nil, err
	}
	s, choice, err := TuneShrinkage(t, valid, grid, supportK)
	if err != nil {
		return nil, nil, err
	}
	return FitUserBias(t, t.Means(), s.ItemBias, s.UserBias), choice, nil
}
