package baselines

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/tasks"
)

// PureSVDName names the PureSVD peer in every output.
const PureSVDName = "puresvd"

// PureSVD is Cremonesi, Koren and Turrin's (RecSys 2010) truncated SVD of
// the user-item matrix with missing entries as zeros, here the binary
// matrix of the training users' items: with V the f leading right
// singular vectors, a new user is folded in as x_S V and scores item j as
// (x_S V) . V_j, the projection of their support vector on the top-f item
// space. The number of factors f is tuned per domain.
type PureSVD struct {
	Factors []int
	dom     []*svdDomain
}

type svdDomain struct {
	n, f int
	v    []float32 // n x f, row-major
}

// NewPureSVD returns a PureSVD with no domain fitted.
func NewPureSVD(domains int) *PureSVD {
	return &PureSVD{Factors: make([]int, domains), dom: make([]*svdDomain, domains)}
}

// Name implements recommend.Scorer.
func (m *PureSVD) Name() string { return PureSVDName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *PureSVD) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (m *PureSVD) RankingOnly() bool { return true }

// svdFactors returns V for the fmax leading factors (nil without data).
func svdFactors(t *Train, d, fmax int) *mat.Dense {
	v, _ := TruncatedSVD(t.UserItems(d), t.Items[d], fmax, nil)
	return v
}

// setDomain keeps the first f columns of v.
func (m *PureSVD) setDomain(d int, v *mat.Dense, f int) {
	n, c := v.Dims()
	f = min(f, c)
	s := &svdDomain{n: n, f: f, v: make([]float32, n*f)}
	for i := range n {
		for k := range f {
			s.v[i*f+k] = float32(v.At(i, k))
		}
	}
	m.Factors[d], m.dom[d] = f, s
}

// FitPureSVD fits one domain with f factors.
func (m *PureSVD) FitPureSVD(t *Train, d, f int) error {
	v := svdFactors(t, d, f)
	if v == nil {
		return fmt.Errorf("%s: domain %d has no training interactions", PureSVDName, d)
	}
	m.setDomain(d, v, f)
	return nil
}

// Score implements recommend.Scorer.
func (m *PureSVD) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	d, err := fitted(PureSVDName, m.dom, domain)
	if err != nil {
		return nil, err
	}
	s := supportItems(support)
	if err := checkRequest(PureSVDName, domain, d.n, s, cands); err != nil {
		return nil, err
	}
	u := make([]float32, d.f)
	for _, i := range s {
		for k, x := range d.v[int(i)*d.f : (int(i)+1)*d.f] {
			u[k] += x
		}
	}
	out := make([]float32, len(cands))
	for c, j := range cands {
		var v float32
		for k, x := range d.v[int(j)*d.f : (int(j)+1)*d.f] {
			v += x * u[k]
		}
		out[c] = v
	}
	return out, nil
}
