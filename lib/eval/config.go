package eval

import (
	"fmt"
	"slices"

	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/split"
)

// HeadK is the cut-off of the headline metrics: ndcg@10 (the paired tests,
// the generalisation score), gini@10 and novelty@10.
const HeadK = 10

// Config is everything the evaluation takes from params.yaml: the split
// section fixes the support sizes the tasks were cut with, the evaluate
// section the protocol's own knobs.
type Config struct {
	Seeds    []uint64
	Ks       []int // metric cut-offs, ascending; include HeadK
	CurveKs  []int // support sizes of the cold-start curves, ascending
	SupportK int   // the default support size: the headline tables
	PoolK    int   // support pool of a held-out episode (split.MaxK)
	Temporal bool  // split.temporal: keep the episodes' order at every seed
	// Relevance rules (see params.EvaluateRelevance).
	RatingMin         float64
	PlaycountTopShare float64
	ShrinkageGrid     []float64
	LODODomains       []string
	CrossKs           []int
	CrossPairs        []params.CrossPair
	// Peers are the strong peers' grids (none when empty); Ablate the
	// trained models also scored without their parts.
	Peers  params.EvaluatePeers
	Ablate []string
	// Contrasts are the pairs compared per user at every curve support size.
	Contrasts [][2]string
}

// ConfigFrom reads and checks the evaluation's settings.
func ConfigFrom(p *params.Params) (Config, error) {
	e := p.Evaluate
	c := Config{
		Seeds: slices.Clone(e.Seeds), Ks: sortedSet(e.Ks), CurveKs: sortedSet(p.Split.CurveKs),
		SupportK: p.Split.SupportK, PoolK: split.MaxK(p.Split), Temporal: p.Split.Temporal,
		RatingMin: e.Relevance.RatingMin, PlaycountTopShare: e.Relevance.PlaycountTopShare,
		ShrinkageGrid: slices.Clone(e.ShrinkageGrid), LODODomains: slices.Clone(e.LODODomains),
		CrossKs: sortedSet(e.CrossKs), CrossPairs: slices.Clone(p.Tasks.CrossDomain),
		Peers: e.Peers, Ablate: slices.Clone(e.Ablate),
	}
	for i, pair := range e.Contrasts {
		if len(pair) != 2 || pair[0] == "" || pair[1] == "" || pair[0] == pair[1] {
			return c, fmt.Errorf("params evaluate: contrasts[%d]: want two different scorer names [a, b], got %q", i, pair)
		}
		c.Contrasts = append(c.Contrasts, [2]string{pair[0], pair[1]})
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("params evaluate: %w", err)
	}
	return c, nil
}

func sortedSet(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func (c Config) validate() error {
	if len(c.Seeds) == 0 {
		return fmt.Errorf("seeds: none given")
	}
	seen := map[uint64]bool{}
	for _, s := range c.Seeds {
		if seen[s] {
			return fmt.Errorf("seeds: %d given twice", s)
		}
		seen[s] = true
	}
	if len(c.Ks) == 0 || c.Ks[0] < 1 {
		return fmt.Errorf("ks: need cut-offs of at least 1, got %v", c.Ks)
	}
	if !slices.Contains(c.Ks, HeadK) {
		return fmt.Errorf("ks: %v must include the headline cut-off %d", c.Ks, HeadK)
	}
	for _, k := range append(slices.Clone(c.CurveKs), c.SupportK) {
		if k < 1 || k > c.PoolK {
			return fmt.Errorf("support size %d is outside 1..%d (split.curve_ks, split.support_k)", k, c.PoolK)
		}
	}
	for _, k := range c.CrossKs {
		if k < 0 || k > c.PoolK {
			return fmt.Errorf("cross_ks: %d is outside 0..%d", k, c.PoolK)
		}
	}
	if !(c.RatingMin > 0) {
		return fmt.Errorf("relevance.rating_min: must be positive, got %g", c.RatingMin)
	}
	if !(c.PlaycountTopShare > 0 && c.PlaycountTopShare <= 1) {
		return fmt.Errorf("relevance.playcount_top_share: must be in (0, 1], got %g", c.PlaycountTopShare)
	}
	if len(c.ShrinkageGrid) == 0 {
		return fmt.Errorf("shrinkage_grid: none given")
	}
	for _, l := range c.ShrinkageGrid {
		if !(l >= 0) {
			return fmt.Errorf("shrinkage_grid: %g is negative", l)
		}
	}
	return nil
}

// evalKs are the support sizes the cold-start protocol scores: the curve's
// and the default.
func (c Config) evalKs() []int { return sortedSet(append(slices.Clone(c.CurveKs), c.SupportK)) }

// topN is how many items of each ranking are kept: the largest cut-off.
func (c Config) topN() int { return c.Ks[len(c.Ks)-1] }
