package baselines

import (
	"fmt"
	"math"
	"slices"

	"github.com/crossrec/crossrec/lib/tasks"
)

// KNNBaselineName names the neighbourhood error peer in every output.
const KNNBaselineName = "knn-baseline"

// knnStored is how many neighbours each item keeps (its most similar
// items): a support item outside a candidate's stored list is not one of
// its neighbours. Every k of the grid is far below it.
const knnStored = 200

// KNNBaseline is the item-oriented neighbourhood model on top of the
// baseline predictor (Koren, "Factor in the neighbors", TKDD 2010, eq. 3):
// r_uj = b_uj + sum_{i in N} s_ij (r_ui - b_ui) / (sum_{i in N} s_ij +
// alpha), b_ui = mu + b_i + b_u the user-bias baseline (b_u from the
// support), N the k support items most similar to j. The similarity is
// Koren's shrunk Pearson correlation of baseline residuals over the
// training users who have both items, n_ij / (n_ij + shrink) rho_ij; only
// positive similarities count. alpha = 0 is the paper's form; a positive
// alpha shrinks the correction when the neighbours are few or weak. It is
// the rating-prediction form of ItemKNN, an error peer, and ranks by its
// prediction.
type KNNBaseline struct {
	Base   *UserBias
	K      []int
	Shrink []float64
	Alpha  []float64
	dom    [][][]edge // per domain, per item: stored neighbours, most similar first
}

// NewKNNBaseline returns a KNNBaseline over a fitted user-bias model.
func NewKNNBaseline(base *UserBias) *KNNBaseline {
	n := len(base.Mu)
	return &KNNBaseline{Base: base, K: make([]int, n), Shrink: make([]float64, n), Alpha: make([]float64, n), dom: make([][][]edge, n)}
}

// Name implements recommend.Scorer.
func (m *KNNBaseline) Name() string { return KNNBaselineName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *KNNBaseline) Concurrent() bool { return true }

// pearsonRows computes every item's stored neighbours at one shrinkage.
func (m *KNNBaseline) pearsonRows(t *Train, d int, shrink float64) [][]edge {
	n, nu := t.Items[d], t.NUsers[d]
	mu, bi := m.Base.Mu[d], m.Base.Bi[d]
	// Training users' biases, as the baseline estimates a user's: the
	// shrunk mean residual.
	su, cu := make([]float64, nu), make([]float64, nu)
	for k, u := range t.Users[d] {
		su[u] += t.Norm[d][k] - mu - bi[t.ItemOf[d][k]]
		cu[u]++
	}
	type res struct {
		item int32
		e    float64
	}
	users := make([][]res, nu)
	for k, u := range t.Users[d] {
		i := t.ItemOf[d][k]
		bu := su[u] / (m.Base.LambdaU[d] + cu[u])
		users[u] = append(users[u], res{i, t.Norm[d][k] - mu - bi[i] - bu})
	}
	iu := make([][]int32, n)
	eOf := make([][]float64, n) // e_uj aligned with iu
	for u, rs := range users {
		for _, r := range rs {
			iu[r.item] = append(iu[r.item], int32(u))
			eOf[r.item] = append(eOf[r.item], r.e)
		}
	}
	sxy, sxx, syy, cnt := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	seen := make([]bool, n)
	var touched []int32
	rows := make([][]edge, n)
	var row []edge
	for j := range n {
		touched = touched[:0]
		for k, u := range iu[j] {
			ej := eOf[j][k]
			for _, r := range users[u] {
				if int(r.item) == j {
					continue
				}
				if !seen[r.item] {
					seen[r.item] = true
					touched = append(touched, r.item)
				}
				sxy[r.item] += r.e * ej
				sxx[r.item] += r.e * r.e
				syy[r.item] += ej * ej
				cnt[r.item]++
			}
		}
		slices.Sort(touched)
		row = row[:0]
		for _, i := range touched {
			if den := math.Sqrt(sxx[i] * syy[i]); den > 0 {
				if s := cnt[i] / (cnt[i] + shrink) * sxy[i] / den; s > 0 {
					row = append(row, edge{to: i, w: float32(s)})
				}
			}
			sxy[i], sxx[i], syy[i], cnt[i], seen[i] = 0, 0, 0, 0, false
		}
		rows[j] = slices.Clone(topK(row, knnStored))
	}
	return rows
}

// setDomain installs domain d's neighbours and settings.
func (m *KNNBaseline) setDomain(d int, rows [][]edge, k int, shrink, alpha float64) {
	m.dom[d], m.K[d], m.Shrink[d], m.Alpha[d] = rows, k, shrink, alpha
}

// FitKNNBaseline fits one domain.
func (m *KNNBaseline) FitKNNBaseline(t *Train, d, k int, shrink, alpha float64) {
	m.setDomain(d, m.pearsonRows(t, d, shrink), k, shrink, alpha)
}

// Score implements recommend.Scorer.
func (m *KNNBaseline) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	if err := checkDomain(KNNBaselineName, domain, len(m.dom)); err != nil {
		return nil, err
	}
	rows := m.dom[domain]
	if rows == nil {
		return nil, fmt.Errorf("%s: domain %d had no training users: it cannot serve a domain it was not fitted on", KNNBaselineName, domain)
	}
	res, err := m.Base.residual(domain, support)
	if err != nil {
		return nil, err
	}
	bu := res / (m.Base.LambdaU[domain] + float64(len(support)))
	base, err := m.Base.predict(domain, bu, cands)
	if err != nil {
		return nil, err
	}
	mu, bi := m.Base.Mu[domain], m.Base.Bi[domain]
	// The support's residuals against the baseline, by item (dense: the
	// candidates' neighbour lists are walked once per candidate).
	rows0 := len(rows)
	e := make([]float64, rows0)
	in := make([]bool, rows0)
	for _, x := range support {
		e[x.Item], in[x.Item] = float64(x.Norm)-mu-bi[x.Item]-bu, true
	}
	k, alpha := m.K[domain], m.Alpha[domain]
	for c, j := range cands {
		num, den, found := 0.0, alpha, 0
		for _, ed := range rows[j] {
			if !in[ed.to] {
				continue
			}
			// Stored most similar first: the first k found are the top k.
			num += float64(ed.w) * e[ed.to]
			den += float64(ed.w)
			if found++; found == k {
				break
			}
		}
		if found > 0 {
			base[c] += float32(num / den)
		}
	}
	return base, nil
}
