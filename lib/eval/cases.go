package eval

import (
	"math"

	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/recommend"
)

// Case is one meta-test user as the cold-start protocol scores them at
// one seed and support size, for tools outside the harness (the
// cross-check against another library in bench/peers): what the scorer
// adapts on, what is never ranked, the query and its relevance.
type Case struct {
	User     string
	Domain   int32
	Support  []int32
	Exclude  []int32
	Query    []int32
	Relevant []bool
	uc       userCase
}

// HeldOutCases are the meta-test users of domain (all when "") at seed
// and support size k, drawn exactly as the evaluation draws them.
func HeldOutCases(d *Data, cfg Config, seed uint64, domain string, k int) []Case {
	r := newRunner(d, cfg)
	var out []Case
	for _, c := range r.coldCases(d.Test, seed, domain, []int{k}, false, false) {
		x := Case{User: c.user, Domain: c.domain, Relevant: c.rel, uc: c}
		for _, s := range c.support {
			x.Support = append(x.Support, s.Item)
		}
		for _, s := range c.exclude {
			x.Exclude = append(x.Exclude, s.Item)
		}
		for _, s := range c.query {
			x.Query = append(x.Query, s.Item)
		}
		out = append(out, x)
	}
	return out
}

// NDCGPerUser ranks each case's whole candidate set with sc through the
// evaluation's engine and returns NDCG@10 per case (NaN for a user with
// no relevant query item, whom the metrics leave out).
func NDCGPerUser(d *Data, cfg Config, sc recommend.Scorer, cases []Case) ([]float64, error) {
	r := newRunner(d, cfg)
	ucs := make([]userCase, len(cases))
	for i := range cases {
		ucs[i] = cases[i].uc
	}
	res, err := r.eng.runAll(sc, true, ucs)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(cases))
	for i := range ucs {
		v := &res[i].views[0]
		out[i] = math.NaN()
		if v.relevant > 0 {
			out[i] = metrics.NDCGAt(hitFlags(&ucs[i], v.top, viewAll), HeadK, v.relevant)
		}
	}
	return out, nil
}
