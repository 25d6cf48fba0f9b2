package models

import (
	"fmt"

	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Ablations of a trained model, scored by the evaluation beside it so a
// reader sees what each learned part adds (params evaluate.ablate):
//
//   - <name>-rank-term: the ranking score's fitted term alone, popularity
//     logit plus the co-occurrence match of the support's taste vector,
//     with no network and no predicted rating in it: what the model ranks
//     by before anything trained enters.
//   - <name>-no-inner: the same weights with the inner loop switched off
//     (zero gradient steps: the user starts from the meta-learned
//     initialisation and the support encoder and is never adapted): what
//     the per-user adaptation adds.
func Ablations(sc recommend.Scorer) ([]recommend.Scorer, error) {
	m, ok := sc.(*Model)
	if !ok {
		return nil, fmt.Errorf("ablations: %T is not a lib/models model", sc)
	}
	var out []recommend.Scorer
	if m.cfg.Rank {
		out = append(out, &RankTerm{m: m})
	}
	cfg := m.cfg
	cfg.InnerSteps = 0
	w := &Weights{Specs: m.specs}
	for _, s := range m.specs {
		w.Values = append(w.Values, m.host[s.Name])
	}
	noInner, err := NewModel(m.name+"-no-inner", m.backend, cfg, w, m.table)
	if err != nil {
		return nil, fmt.Errorf("ablations of %s: %w", m.name, err)
	}
	return append(out, noInner), nil
}

// RankTerm is a model's fitted ranking term alone (see Ablations). Its
// scores are not ratings.
type RankTerm struct{ m *Model }

// Name implements recommend.Scorer.
func (r *RankTerm) Name() string { return r.m.name + "-rank-term" }

// Concurrent tells the harness Score may run on several goroutines.
func (r *RankTerm) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (r *RankTerm) RankingOnly() bool { return true }

// Score implements recommend.Scorer: pop_i + <z_i, taste>.
func (r *RankTerm) Score(domain int32, support []tasks.Rated, candidates []int32) ([]float32, error) {
	m := r.m
	di, err := m.domain(domain)
	if err != nil {
		return nil, err
	}
	for _, c := range candidates {
		if c < 0 || int(c) >= di.n {
			return nil, fmt.Errorf("%s: candidate item %d out of range for domain %s (%d items)", r.Name(), c, m.cat.Domains[domain], di.n)
		}
	}
	a, err := m.adapt(domain, di, support, nil)
	if err != nil {
		return nil, err
	}
	d := m.cfg.ItemDim
	out := make([]float32, len(candidates))
	for k, c := range candidates {
		i := int(c)
		out[k] = di.pop[i] + dot(di.z[i*d:(i+1)*d], a.taste)
	}
	return out, nil
}
