package baselines

import (
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/tasks"
)

// RP3betaName names the RP3beta peer in every output.
const RP3betaName = "rp3beta"

// RP3beta is the three-step random walk item -> user -> item of Paudel et
// al. (ACM TiiS 2017) with its popularity penalty, in the form Dacrema et
// al. (RecSys 2019) tune: W_ij = sum_{u in U_i and U_j} (1/|U_i|)^alpha
// (1/|I_u|)^alpha, divided by |U_j|^beta, each item i keeping its K
// heaviest W_ij; a new user scores item j as sum_{i in S} W_ij. The walk's
// first step, from the new user to their items, is the same for every
// candidate and drops out.
type RP3beta struct {
	Alpha, Beta []float64
	K           []int
	dom         []*itemGraph
}

// NewRP3beta returns an RP3beta with no domain fitted.
func NewRP3beta(domains int) *RP3beta {
	return &RP3beta{Alpha: make([]float64, domains), Beta: make([]float64, domains), K: make([]int, domains), dom: make([]*itemGraph, domains)}
}

// Name implements recommend.Scorer.
func (m *RP3beta) Name() string { return RP3betaName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *RP3beta) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (m *RP3beta) RankingOnly() bool { return true }

// rp3Rows returns each source item's kmax heaviest out-links.
func rp3Rows(users [][]int32, n int, alpha, beta float64, kmax int) [][]edge {
	iu := itemUsers(users, n)
	uw := make([]float64, len(users))
	for u, items := range users {
		if len(items) > 0 {
			uw[u] = math.Pow(float64(len(items)), -alpha)
		}
	}
	pen := make([]float64, n)
	for j, us := range iu {
		if len(us) > 0 {
			pen[j] = math.Pow(float64(len(us)), -beta)
		}
	}
	rows := make([][]edge, n)
	// cooccurRows visits item i's row of co-occurrence sums weighted by
	// the users' (1/|I_u|)^alpha; W is not symmetric, and row i is
	// exactly W_i. (by symmetry of the user sum).
	cooccurRows(users, iu, n, uw, func(i int32, row []edge, acc []float64) {
		ri := math.Pow(float64(len(iu[i])), -alpha)
		for k := range row {
			j := row[k].to
			row[k].w = float32(ri * acc[j] * pen[j])
		}
		rows[i] = slices.Clone(topK(row, kmax))
	})
	return rows
}

// setDomain installs domain d's out-links at k per item.
func (m *RP3beta) setDomain(d int, rows [][]edge, alpha, beta float64, k int) {
	m.Alpha[d], m.Beta[d], m.K[d] = alpha, beta, k
	g := &itemGraph{n: len(rows), out: make([][]edge, len(rows))}
	for i, row := range rows {
		g.out[i] = row[:min(k, len(row))]
	}
	m.dom[d] = g
}

// FitRP3beta fits one domain.
func (m *RP3beta) FitRP3beta(t *Train, d int, alpha, beta float64, k int) {
	m.setDomain(d, rp3Rows(t.UserItems(d), t.Items[d], alpha, beta, k), alpha, beta, k)
}

// Score implements recommend.Scorer.
func (m *RP3beta) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	g, err := fitted(RP3betaName, m.dom, domain)
	if err != nil {
		return nil, err
	}
	s := supportItems(support)
	if err := checkRequest(RP3betaName, domain, g.n, s, cands); err != nil {
		return nil, err
	}
	return g.score(s, cands), nil
}
