package eval

import (
	"github.com/crossrec/crossrec/lib/baselines"
)

// TuneChoice is the shrinkage chosen for one domain's baselines and the
// validation score that chose it.
type TuneChoice = baselines.TuneChoice

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

// tune picks the baselines' shrinkage on the meta-validation users
// (baselines.TuneShrinkage: validation RMSE, never a test user).
func tune(d *Data, cfg *Config) (Shrinkage, []TuneChoice, error) {
	catalogue := make([]int, len(d.Domains))
	for i, dom := range d.Domains {
		catalogue[i] = dom.Items
	}
	t, err := baselines.NewTrain(d.Train, catalogue)
	if err != nil {
		return Shrinkage{}, nil, err
	}
	return baselines.TuneShrinkage(t, d.Valid, cfg.ShrinkageGrid, cfg.SupportK)
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
