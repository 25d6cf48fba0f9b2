package baselines

import (
	"fmt"
	"math"

	"github.com/crossrec/crossrec/lib/tasks"
)

// UserBiasName names the user-bias baseline in every output.
const UserBiasName = "user-bias"

// UserBias is the classic baseline predictor mu + b_i + b_u (Koren, 2010).
// Item biases are fitted jointly with the meta-train users' biases by
// alternating ridge steps, so b_i is not confounded by who rated the item;
// a new user's b_u is the ridge estimate from the support set,
// sum(r - mu - b_i) / (lambda_u + |support|). With an empty support it is
// the item-bias model. It ranks like its item biases (b_u is one constant
// per user) and is the error baseline.
type UserBias struct {
	Mu      []float64
	LambdaI []float64
	LambdaU []float64
	Bi      [][]float64
}

// Name implements recommend.Scorer.
func (m *UserBias) Name() string { return UserBiasName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *UserBias) Concurrent() bool { return true }

// residual sums r - mu - b_i over a set of one domain.
func (m *UserBias) residual(domain int32, set []tasks.Rated) (float64, error) {
	var s float64
	for _, x := range set {
		if x.Item < 0 || int(x.Item) >= len(m.Bi[domain]) {
			return 0, fmt.Errorf("%s: support item %d outside domain %d", UserBiasName, x.Item, domain)
		}
		s += float64(x.Norm) - m.Mu[domain] - m.Bi[domain][x.Item]
	}
	return s, nil
}

func (m *UserBias) predict(domain int32, bu float64, cands []int32) ([]float32, error) {
	out := make([]float32, len(cands))
	bi := m.Bi[domain]
	for j, c := range cands {
		if c < 0 || int(c) >= len(bi) {
			return nil, fmt.Errorf("%s: candidate item %d outside domain %d", UserBiasName, c, domain)
		}
		out[j] = float32(m.Mu[domain] + bi[c] + bu)
	}
	return out, nil
}

// Score implements recommend.Scorer.
func (m *UserBias) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(UserBiasName, domain, len(m.Mu)); err != nil {
		return nil, err
	}
	s, err := m.residual(domain, support)
	if err != nil {
		return nil, err
	}
	return m.predict(domain, s/(m.LambdaU[domain]+float64(len(support))), cands)
}

// ScoreCross implements recommend.CrossScorer: the user's bias is
// estimated from the source-domain history and the target support
// together, each residual taken against its own domain's mu and b_i. A
// generous rater of books is assumed a generous rater of music: the
// simplest transfer, and the one every cross-domain model must beat.
func (m *UserBias) ScoreCross(srcDomain int32, source []tasks.Rated, domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(UserBiasName, domain, len(m.Mu)); err != nil {
		return nil, err
	}
	if err := checkDomain(UserBiasName, srcDomain, len(m.Mu)); err != nil {
		return nil, err
	}
	s, err := m.residual(domain, support)
	if err != nil {
		return nil, err
	}
	ss, err := m.residual(srcDomain, source)
	if err != nil {
		return nil, err
	}
	return m.predict(domain, (s+ss)/(m.LambdaU[domain]+float64(len(support)+len(source))), cands)
}

// The alternating ridge steps stop when no item bias moves by more than
// biasTol (the problem is convex; this takes 5 to 15 sweeps on the real
// data) or after maxSweeps.
const (
	biasTol   = 1e-7
	maxSweeps = 50
)

// FitUserBias fits mu + b_i (+ b_u at scoring) per domain.
func FitUserBias(t *Train, mu, lambdaI, lambdaU []float64) *UserBias {
	m := &UserBias{Mu: mu, LambdaI: lambdaI, LambdaU: lambdaU, Bi: make([][]float64, len(t.Items))}
	for d := range t.Items {
		m.Bi[d] = FitBiases(t, d, mu[d], lambdaI[d], lambdaU[d])
	}
	return m
}

// FitBiases runs the alternating ridge steps for one domain and returns b_i.
func FitBiases(t *Train, d int, mu, lambdaI, lambdaU float64) []float64 {
	bi := make([]float64, t.Items[d])
	bu := make([]float64, t.NUsers[d])
	ni := make([]float64, t.Items[d])
	nu := make([]float64, t.NUsers[d])
	for r, it := range t.ItemOf[d] {
		ni[it]++
		nu[t.Users[d][r]]++
	}
	si := make([]float64, len(bi))
	su := make([]float64, len(bu))
	for range maxSweeps {
		clear(si)
		for r, it := range t.ItemOf[d] {
			si[it] += t.Norm[d][r] - mu - bu[t.Users[d][r]]
		}
		moved := 0.0
		for i := range bi {
			if ni[i] > 0 {
				v := si[i] / (lambdaI + ni[i])
				moved = max(moved, math.Abs(v-bi[i]))
				bi[i] = v
			}
		}
		if moved < biasTol {
			break
		}
		clear(su)
		for r, u := range t.Users[d] {
			su[u] += t.Norm[d][r] - mu - bi[t.ItemOf[d][r]]
		}
		for u := range bu {
			if nu[u] > 0 {
				bu[u] = su[u] / (lambdaU + nu[u])
			}
		}
	}
	return bi
}
