package eval

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Baseline names, as they appear in every output.
const (
	GlobalMeanName = baselines.GlobalMeanName
	ItemMeanName   = baselines.ItemMeanName
	PopularityName = baselines.PopularityName
	UserBiasName   = baselines.UserBiasName
)

// RankingOnly is implemented by scorers whose scores order items but are
// not predicted values (popularity counts): the harness reports no error
// metrics for them rather than an MAE of counts against stars.
type RankingOnly interface {
	RankingOnly() bool
}

// Concurrent is implemented by scorers that may be called from several
// goroutines at once; the harness calls any other scorer from one.
type Concurrent interface {
	Concurrent() bool
}

// Baselines are the four reference scorers, fitted on one training set.
type Baselines struct {
	GlobalMean *baselines.GlobalMean
	ItemMean   *baselines.ItemMean
	Popularity *baselines.Popularity
	UserBias   *baselines.UserBias
}

// Shrinkage holds the baselines' per-domain shrinkage strengths.
type Shrinkage = baselines.Shrinkage

// FitBaselines fits every baseline on meta-train episodes (train.arrow)
// and nothing else; catalogue gives each domain's number of items.
func FitBaselines(train []tasks.Episode, catalogue []int, s Shrinkage) (*Baselines, error) {
	t, err := baselines.NewTrain(train, catalogue)
	if err != nil {
		return nil, err
	}
	for _, l := range [][]float64{s.ItemMean, s.ItemBias, s.UserBias} {
		if len(l) != len(catalogue) {
			return nil, fmt.Errorf("baselines: %d shrinkage values for %d domains", len(l), len(catalogue))
		}
	}
	mu := t.Means()
	return &Baselines{
		GlobalMean: &baselines.GlobalMean{Mu: mu},
		ItemMean:   baselines.FitItemMean(t, mu, s.ItemMean),
		Popularity: baselines.FitPopularity(t),
		UserBias:   baselines.FitUserBias(t, mu, s.ItemBias, s.UserBias),
	}, nil
}

// Scorers lists the baselines in report order.
func (b *Baselines) Scorers() []recommend.Scorer {
	return []recommend.Scorer{b.GlobalMean, b.ItemMean, b.Popularity, b.UserBias}
}
