package baselines

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/tasks"
)

// EASEName names the EASE peer in every output.
const EASEName = "ease"

// EASE is Steck's shallow autoencoder (WWW 2019): item weights
// B = I - P diag(1/diag P), P = (X^T X + lambda I)^-1, fitted in closed
// form on the binary user-item matrix X of the domain's training users; a
// new user with support items S scores item j as sum_{i in S} B_ij. No
// item is left out: the whole catalogue is modelled (items no training
// user had get B = 0 and score 0).
//
// The inverse is taken in whichever dimension is smaller. With fewer
// training users m than items n (every domain of the shared data: 427 to
// 1,870 users against 5,567 to 17,632 items) the Woodbury identity gives
// P = (I - X^T M X) / lambda with M = (lambda I_m + X X^T)^-1, so
// sum_{i in S} B_ij = (M s)^T x_j / (1 - x_j^T M x_j) for j outside S,
// s = sum_{i in S} x_i and x_j item j's column: an m x m inverse and no
// n x n matrix at all. Otherwise the n x n B is formed (float32).
type EASE struct {
	Lambda []float64 // per domain; 0 for a domain it was not fitted on
	dom    []*easeDomain
}

type easeDomain struct {
	n         int
	itemUsers [][]int32
	// dual form (users < items)
	m     int
	inv   []float64 // M, m x m row-major
	denom []float64 // 1 - x_j^T M x_j per item
	// primal form
	row []int32   // item -> row of B, -1 for an item no training user had
	b   []float32 // B over the touched items, row-major
	r   int
}

// Name implements recommend.Scorer.
func (e *EASE) Name() string { return EASEName }

// Concurrent tells the harness Score may run on several goroutines.
func (e *EASE) Concurrent() bool { return true }

// RankingOnly tells the harness the scores are not predicted values.
func (e *EASE) RankingOnly() bool { return true }

// NewEASE returns an EASE with no domain fitted; Fit fills one.
func NewEASE(domains int) *EASE {
	return &EASE{Lambda: make([]float64, domains), dom: make([]*easeDomain, domains)}
}

// easeGram holds what every lambda of one domain shares.
type easeGram struct {
	n, m      int
	itemUsers [][]int32
	dual      bool
	g         *mat.SymDense // X X^T (dual) or X^T X over touched items (primal)
	row       []int32
	touched   []int32
}

func newEASEGram(users [][]int32, n int) *easeGram {
	g := &easeGram{n: n, m: len(users), itemUsers: itemUsers(users, n), row: make([]int32, n)}
	for i, us := range g.itemUsers {
		g.row[i] = -1
		if len(us) > 0 {
			g.row[i] = int32(len(g.touched))
			g.touched = append(g.touched, int32(i))
		}
	}
	g.dual = g.m < len(g.touched)
	if g.dual {
		// (X X^T)_uv = items u and v share, summed item by item.
		data := make([]float64, g.m*g.m)
		for _, us := range g.itemUsers {
			for _, u := range us {
				r := data[int(u)*g.m:]
				for _, v := range us {
					r[v]++
				}
			}
		}
		g.g = mat.NewSymDense(g.m, data)
	} else {
		r := len(g.touched)
		data := make([]float64, r*r)
		for _, items := range users {
			for _, i := range items {
				ri := data[int(g.row[i])*r:]
				for _, j := range items {
					ri[g.row[j]]++
				}
			}
		}
		g.g = mat.NewSymDense(r, data)
	}
	return g
}

// fit inverts the ridged Gram matrix for one lambda.
func (g *easeGram) fit(lambda float64) (*easeDomain, error) {
	dim := g.g.SymmetricDim()
	d := &easeDomain{n: g.n, itemUsers: g.itemUsers, m: g.m, row: g.row}
	if dim == 0 {
		d.denom = make([]float64, g.n)
		return d, nil
	}
	a := mat.NewSymDense(dim, nil)
	a.CopySym(g.g)
	for k := range dim {
		a.SetSym(k, k, a.At(k, k)+lambda)
	}
	var chol mat.Cholesky
	if !chol.Factorize(a) {
		return nil, fmt.Errorf("%s: Gram matrix plus %g I is not positive definite", EASEName, lambda)
	}
	var p mat.SymDense
	if err := chol.InverseTo(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", EASEName, err)
	}
	if g.dual {
		d.inv = make([]float64, dim*dim)
		for u := range dim {
			for v := range dim {
				d.inv[u*dim+v] = p.At(u, v)
			}
		}
		d.denom = make([]float64, g.n)
		for j, us := range g.itemUsers {
			q := 0.0
			for _, u := range us {
				row := d.inv[int(u)*dim:]
				for _, v := range us {
					q += row[v]
				}
			}
			d.denom[j] = 1 - q
		}
		return d, nil
	}
	d.r = dim
	d.b = make([]float32, dim*dim)
	for i := range dim {
		for j := range dim {
			if i != j {
				d.b[i*dim+j] = float32(-p.At(i, j) / p.At(j, j))
			}
		}
	}
	return d, nil
}

// FitEASE fits one domain at one lambda.
func (e *EASE) FitEASE(t *Train, d int, lambda float64) error {
	g := newEASEGram(t.UserItems(d), t.Items[d])
	fd, err := g.fit(lambda)
	if err != nil {
		return err
	}
	e.Lambda[d], e.dom[d] = lambda, fd
	return nil
}

// Score implements recommend.Scorer.
func (e *EASE) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	d, err := fitted(EASEName, e.dom, domain)
	if err != nil {
		return nil, err
	}
	s := supportItems(support)
	if err := checkRequest(EASEName, domain, d.n, s, cands); err != nil {
		return nil, err
	}
	out := make([]float32, len(cands))
	if d.b != nil || d.inv == nil {
		for k, j := range cands {
			rj := d.row[j]
			if rj < 0 {
				continue
			}
			var v float32
			for _, i := range s {
				if ri := d.row[i]; ri >= 0 {
					v += d.b[int(ri)*d.r+int(rj)]
				}
			}
			out[k] = v
		}
		return out, nil
	}
	// v = M s, s = sum of the support items' user columns.
	v := make([]float64, d.m)
	for _, i := range s {
		for _, u := range d.itemUsers[i] {
			row := d.inv[int(u)*d.m : (int(u)+1)*d.m]
			for w, x := range row {
				v[w] += x
			}
		}
	}
	inS := map[int32]bool{}
	for _, i := range s {
		inS[i] = true
	}
	for k, j := range cands {
		us := d.itemUsers[j]
		if len(us) == 0 {
			continue
		}
		dot := 0.0
		for _, u := range us {
			dot += v[u]
		}
		if inS[j] {
			// Leave out B_jj: subtract j's own column's share.
			dot -= 1 - d.denom[j]
		}
		out[k] = float32(dot / d.denom[j])
	}
	return out, nil
}
