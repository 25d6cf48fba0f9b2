package baselines

import (
	"github.com/crossrec/crossrec/lib/tasks"
)

// Names of the reference predictors, as they appear in every output.
const (
	GlobalMeanName = "global-mean"
	ItemMeanName   = "item-mean"
	PopularityName = "popularity"
)

// GlobalMean predicts the domain's mean training value for every item. Its
// ranking is all ties, so catalogue order: it is the floor any model must
// clear on error, and it shows what tie-breaking alone scores on ranking.
type GlobalMean struct{ Mu []float64 }

// Name implements recommend.Scorer.
func (g *GlobalMean) Name() string { return GlobalMeanName }

// Concurrent tells the harness Score may run on several goroutines.
func (g *GlobalMean) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (g *GlobalMean) Score(domain int32, _ []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(GlobalMeanName, domain, len(g.Mu)); err != nil {
		return nil, err
	}
	return constant(float32(g.Mu[domain]), len(cands)), nil
}

// ItemMean predicts each item's training mean shrunk toward the domain
// mean, mu + sum(r - mu) / (n_i + lambda): an item rated once by an
// enthusiast does not top the ranking, and a cold item gets mu. It ranks
// by the same value: the "best rated" list, tuned for ranking.
type ItemMean struct {
	Lambda []float64   // shrinkage per domain
	Pred   [][]float32 // per domain, per item
}

// Name implements recommend.Scorer.
func (m *ItemMean) Name() string { return ItemMeanName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *ItemMean) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (m *ItemMean) Score(domain int32, _ []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(ItemMeanName, domain, len(m.Pred)); err != nil {
		return nil, err
	}
	return lookup(ItemMeanName, m.Pred[domain], domain, cands)
}

// FitItemMean fits the shrunk item means, lambda per domain.
func FitItemMean(t *Train, mu []float64, lambda []float64) *ItemMean {
	m := &ItemMean{Lambda: lambda, Pred: make([][]float32, len(t.Items))}
	for d := range t.Items {
		sum := make([]float64, t.Items[d])
		cnt := make([]float64, t.Items[d])
		for r, it := range t.ItemOf[d] {
			sum[it] += t.Norm[d][r] - mu[d]
			cnt[it]++
		}
		p := make([]float32, t.Items[d])
		for i := range p {
			p[i] = float32(mu[d])
			if cnt[i] > 0 {
				p[i] = float32(mu[d] + sum[i]/(cnt[i]+lambda[d]))
			}
		}
		m.Pred[d] = p
	}
	return m
}

// Popularity ranks items by how many meta-train users interacted with them.
// Its scores are counts, not predicted values, so it reports ranking and
// beyond-accuracy metrics only (RankingOnly).
type Popularity struct{ Count [][]float32 }

// Name implements recommend.Scorer.
func (p *Popularity) Name() string { return PopularityName }

// RankingOnly tells the harness the scores are not predicted values.
func (p *Popularity) RankingOnly() bool { return true }

// Concurrent tells the harness Score may run on several goroutines.
func (p *Popularity) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (p *Popularity) Score(domain int32, _ []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(PopularityName, domain, len(p.Count)); err != nil {
		return nil, err
	}
	return lookup(PopularityName, p.Count[domain], domain, cands)
}

// FitPopularity counts each item's training users.
func FitPopularity(t *Train) *Popularity {
	p := &Popularity{Count: make([][]float32, len(t.Items))}
	for d := range t.Items {
		c := make([]float32, t.Items[d])
		for _, it := range t.ItemOf[d] {
			c[it]++ // a user rates an item once within a task file
		}
		p.Count[d] = c
	}
	return p
}
