package eval

import (
	"fmt"
	"math"

	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Baseline names, as they appear in every output.
const (
	GlobalMeanName = "global-mean"
	ItemMeanName   = "item-mean"
	PopularityName = "popularity"
	UserBiasName   = "user-bias"
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

// trainData is train.arrow reduced to what the baselines fit: per domain,
// every (user, item, normalised value) row of every meta-train task,
// support and query alike.
type trainData struct {
	items  []int // catalogue size per domain
	users  [][]int32
	itemOf [][]int32
	norm   [][]float64
	nUsers []int
}

// newTrainData collects the rows. It refuses any episode that is not a
// meta-train task: the baselines must never see a held-out user, and this
// is where that is enforced rather than assumed.
func newTrainData(train []tasks.Episode, catalogue []int) (*trainData, error) {
	t := &trainData{items: catalogue, users: make([][]int32, len(catalogue)), itemOf: make([][]int32, len(catalogue)), norm: make([][]float64, len(catalogue)), nUsers: make([]int, len(catalogue))}
	for _, e := range train {
		if e.Group != split.Train {
			return nil, fmt.Errorf("baselines: user %q of %s is a %q episode; baselines fit on meta-train episodes only", e.User, e.Domain, e.Group)
		}
		d := int(e.DomainIndex)
		if d < 0 || d >= len(catalogue) {
			return nil, fmt.Errorf("baselines: user %q: domain index %d out of range", e.User, d)
		}
		u := int32(t.nUsers[d])
		t.nUsers[d]++
		for _, set := range [][]tasks.Rated{e.Support, e.Query} {
			for _, x := range set {
				if int(x.Item) >= catalogue[d] || x.Item < 0 {
					return nil, fmt.Errorf("baselines: user %q of %s: item %d outside the catalogue", e.User, e.Domain, x.Item)
				}
				t.users[d] = append(t.users[d], u)
				t.itemOf[d] = append(t.itemOf[d], x.Item)
				t.norm[d] = append(t.norm[d], float64(x.Norm))
			}
		}
	}
	return t, nil
}

// means returns each domain's mean normalised value. A domain without
// training rows (the held-out domain of a leave-one-domain-out fit) gets
// the pooled mean of all rows: the best constant a model that has never
// seen the domain can know.
func (t *trainData) means() []float64 {
	mu := make([]float64, len(t.items))
	var sum float64
	var n int
	for d := range t.norm {
		for _, v := range t.norm[d] {
			sum += v
		}
		n += len(t.norm[d])
	}
	pooled := 0.5 // the middle of the normalised scale when there is no data at all
	if n > 0 {
		pooled = sum / float64(n)
	}
	for d := range t.norm {
		if len(t.norm[d]) == 0 {
			mu[d] = pooled
			continue
		}
		var s float64
		for _, v := range t.norm[d] {
			s += v
		}
		mu[d] = s / float64(len(t.norm[d]))
	}
	return mu
}

// constant fills a score vector with one value.
func constant(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// lookup gathers per-item values for the candidates; an index outside the
// table is an error, never a silent zero.
func lookup(name string, table []float32, domain int32, cands []int32) ([]float32, error) {
	out := make([]float32, len(cands))
	for j, c := range cands {
		if c < 0 || int(c) >= len(table) {
			return nil, fmt.Errorf("%s: candidate item %d outside the %d items of domain %d", name, c, len(table), domain)
		}
		out[j] = table[c]
	}
	return out, nil
}

func checkDomain(name string, domain int32, n int) error {
	if domain < 0 || int(domain) >= n {
		return fmt.Errorf("%s: domain index %d out of range", name, domain)
	}
	return nil
}

// GlobalMean predicts the domain's mean training value for every item. Its
// ranking is all ties, so catalogue order: it is the floor any model must
// clear on error, and it shows what tie-breaking alone scores on ranking.
type GlobalMean struct{ Mu []float64 }

// Name implements recommend.Scorer.
func (g *GlobalMean) Name() string { return GlobalMeanName }

// Concurrent implements Concurrent.
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

// Concurrent implements Concurrent.
func (m *ItemMean) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (m *ItemMean) Score(domain int32, _ []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(ItemMeanName, domain, len(m.Pred)); err != nil {
		return nil, err
	}
	return lookup(ItemMeanName, m.Pred[domain], domain, cands)
}

func fitItemMean(t *trainData, mu []float64, lambda []float64) *ItemMean {
	m := &ItemMean{Lambda: lambda, Pred: make([][]float32, len(t.items))}
	for d := range t.items {
		sum := make([]float64, t.items[d])
		cnt := make([]float64, t.items[d])
		for r, it := range t.itemOf[d] {
			sum[it] += t.norm[d][r] - mu[d]
			cnt[it]++
		}
		p := make([]float32, t.items[d])
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

// RankingOnly implements RankingOnly.
func (p *Popularity) RankingOnly() bool { return true }

// Concurrent implements Concurrent.
func (p *Popularity) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (p *Popularity) Score(domain int32, _ []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(PopularityName, domain, len(p.Count)); err != nil {
		return nil, err
	}
	return lookup(PopularityName, p.Count[domain], domain, cands)
}

func fitPopularity(t *trainData) *Popularity {
	p := &Popularity{Count: make([][]float32, len(t.items))}
	for d := range t.items {
		c := make([]float32, t.items[d])
		for _, it := range t.itemOf[d] {
			c[it]++ // a user rates an item once within a task file
		}
		p.Count[d] = c
	}
	return p
}

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

// Concurrent implements Concurrent.
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

func fitUserBias(t *trainData, mu, lambdaI, lambdaU []float64) *UserBias {
	m := &UserBias{Mu: mu, LambdaI: lambdaI, LambdaU: lambdaU, Bi: make([][]float64, len(t.items))}
	for d := range t.items {
		m.Bi[d] = fitBiases(t, d, mu[d], lambdaI[d], lambdaU[d])
	}
	return m
}

// fitBiases runs the alternating ridge steps for one domain and returns b_i.
func fitBiases(t *trainData, d int, mu, lambdaI, lambdaU float64) []float64 {
	bi := make([]float64, t.items[d])
	bu := make([]float64, t.nUsers[d])
	ni := make([]float64, t.items[d])
	nu := make([]float64, t.nUsers[d])
	for r, it := range t.itemOf[d] {
		ni[it]++
		nu[t.users[d][r]]++
	}
	si := make([]float64, len(bi))
	su := make([]float64, len(bu))
	for range maxSweeps {
		clear(si)
		for r, it := range t.itemOf[d] {
			si[it] += t.norm[d][r] - mu - bu[t.users[d][r]]
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
		for r, u := range t.users[d] {
			su[u] += t.norm[d][r] - mu - bi[t.itemOf[d][r]]
		}
		for u := range bu {
			if nu[u] > 0 {
				bu[u] = su[u] / (lambdaU + nu[u])
			}
		}
	}
	return bi
}

// Baselines are the four reference scorers, fitted on one training set.
type Baselines struct {
	GlobalMean *GlobalMean
	ItemMean   *ItemMean
	Popularity *Popularity
	UserBias   *UserBias
}

// Shrinkage holds the baselines' per-domain shrinkage strengths.
type Shrinkage struct {
	ItemMean []float64 // lambda of ItemMean
	ItemBias []float64 // lambda_i of UserBias
	UserBias []float64 // lambda_u of UserBias
}

// FitBaselines fits every baseline on meta-train episodes (train.arrow)
// and nothing else; catalogue gives each domain's number of items.
func FitBaselines(train []tasks.Episode, catalogue []int, s Shrinkage) (*Baselines, error) {
	t, err := newTrainData(train, catalogue)
	if err != nil {
		return nil, err
	}
	for _, l := range [][]float64{s.ItemMean, s.ItemBias, s.UserBias} {
		if len(l) != len(catalogue) {
			return nil, fmt.Errorf("baselines: %d shrinkage values for %d domains", len(l), len(catalogue))
		}
	}
	mu := t.means()
	return &Baselines{
		GlobalMean: &GlobalMean{Mu: mu},
		ItemMean:   fitItemMean(t, mu, s.ItemMean),
		Popularity: fitPopularity(t),
		UserBias:   fitUserBias(t, mu, s.ItemBias, s.UserBias),
	}, nil
}

// Scorers lists the baselines in report order.
func (b *Baselines) Scorers() []recommend.Scorer {
	return []recommend.Scorer{b.GlobalMean, b.ItemMean, b.Popularity, b.UserBias}
}
