package baselines

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/tasks"
)

// MFName names the matrix-factorisation fold-in peer in every output.
const MFName = "mf-foldin"

// mfSweeps is the number of alternating least-squares sweeps: the
// validation error of the real domains stops moving after about 8.
const mfSweeps = 12

// MF is a biased matrix factorisation, r = mu + b_i + b_u + p_u . q_i
// (Koren, Bell and Volinsky 2009), fitted by alternating ridge regressions
// (ALS) on the training users' normalised values; a new user is folded in
// by the same closed-form ridge solve on their support alone, [p_u, b_u] =
// (A^T A + diag(lambda, ..., lambda_u))^-1 A^T (r - mu - b_i) with rows
// A = [q_i, 1]: no gradient steps, no ID row. It is the collaborative
// error peer beside the user-bias baseline, and ranks by its prediction.
type MF struct {
	Factors []int
	Lambda  []float64 // ridge of p_u and q_i
	LambdaI []float64 // ridge of b_i
	LambdaU []float64 // ridge of b_u
	dom     []*mfDomain
}

type mfDomain struct {
	n, f         int
	mu           float64
	bi           []float64
	q            []float64 // n x f
	lambda, lamU float64
}

// NewMF returns an MF with no domain fitted.
func NewMF(domains int) *MF {
	return &MF{Factors: make([]int, domains), Lambda: make([]float64, domains), LambdaI: make([]float64, domains), LambdaU: make([]float64, domains), dom: make([]*mfDomain, domains)}
}

// Name implements recommend.Scorer.
func (m *MF) Name() string { return MFName }

// Concurrent tells the harness Score may run on several goroutines.
func (m *MF) Concurrent() bool { return true }

// ridgeSolve solves (A^T A + diag(reg)) x = A^T y for rows A given as
// feature vectors (each with an implicit trailing 1 for the bias).
type ridgeSolve struct {
	f   int
	ata *mat.SymDense
	aty *mat.VecDense
	x   *mat.VecDense
}

func newRidgeSolve(f int) *ridgeSolve {
	return &ridgeSolve{f: f, ata: mat.NewSymDense(f+1, nil), aty: mat.NewVecDense(f+1, nil), x: mat.NewVecDense(f+1, nil)}
}

// solve returns [w (f), b]; rows[k] is a length-f vector, y[k] its target.
func (s *ridgeSolve) solve(rows [][]float64, y []float64, lambda, lambdaB float64) ([]float64, error) {
	f := s.f
	raw := s.ata.RawSymmetric()
	for i := range raw.Data {
		raw.Data[i] = 0
	}
	aty := s.aty.RawVector().Data
	clear(aty)
	for k, r := range rows {
		for a := range f {
			ra := r[a]
			if ra == 0 {
				continue
			}
			row := raw.Data[a*raw.Stride:]
			for b := a; b < f; b++ {
				row[b] += ra * r[b]
			}
			row[f] += ra
			aty[a] += ra * y[k]
		}
		raw.Data[f*raw.Stride+f]++
		aty[f] += y[k]
	}
	for a := range f {
		raw.Data[a*raw.Stride+a] += lambda
	}
	raw.Data[f*raw.Stride+f] += lambdaB
	var chol mat.Cholesky
	if !chol.Factorize(s.ata) {
		return nil, fmt.Errorf("%s: ridge system is not positive definite (lambda %g)", MFName, lambda)
	}
	if err := chol.SolveVecTo(s.x, s.aty); err != nil {
		return nil, err
	}
	return s.x.RawVector().Data, nil
}

// FitMF fits one domain: f factors, factor ridge lambda, bias ridges
// lambdaI and lambdaU (the user-bias baseline's tuned pair), seeded start.
func (m *MF) FitMF(t *Train, d, f int, lambda, lambdaI, lambdaU float64, seed uint64) error {
	n, nu := t.Items[d], t.NUsers[d]
	if len(t.Norm[d]) == 0 {
		return fmt.Errorf("%s: domain %d has no training interactions", MFName, d)
	}
	mu := t.Means()[d]
	type obs struct {
		other int32
		r     float64
	}
	byUser := make([][]obs, nu)
	byItem := make([][]obs, n)
	for k, u := range t.Users[d] {
		i := t.ItemOf[d][k]
		byUser[u] = append(byUser[u], obs{i, t.Norm[d][k]})
		byItem[i] = append(byItem[i], obs{u, t.Norm[d][k]})
	}
	rng := rand.New(rand.NewPCG(seed, uint64(d)))
	q := make([]float64, n*f)
	for i := range q {
		q[i] = 0.1 * rng.NormFloat64()
	}
	p := make([]float64, nu*f)
	bi, bu := make([]float64, n), make([]float64, nu)
	// Each user's (then each item's) solve reads only the other side's
	// factors, so the solves of one half-sweep run in parallel, each
	// worker on its own stripe, with the same result as in order.
	workers := runtime.GOMAXPROCS(0)
	half := func(n int, solve func(rs *ridgeSolve, rows [][]float64, y []float64, i int) error) error {
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rs := newRidgeSolve(f)
				var rows [][]float64
				var y []float64
				for i := w; i < n; i += workers {
					if err := solve(rs, rows[:0], y[:0], i); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for range mfSweeps {
		err := half(nu, func(rs *ridgeSolve, rows [][]float64, y []float64, u int) error {
			for _, o := range byUser[u] {
				rows = append(rows, q[int(o.other)*f:(int(o.other)+1)*f])
				y = append(y, o.r-mu-bi[o.other])
			}
			x, err := rs.solve(rows, y, lambda, lambdaU)
			if err != nil {
				return err
			}
			copy(p[u*f:(u+1)*f], x[:f])
			bu[u] = x[f]
			return nil
		})
		if err != nil {
			return err
		}
		err = half(n, func(rs *ridgeSolve, rows [][]float64, y []float64, i int) error {
			if len(byItem[i]) == 0 {
				clear(q[i*f : (i+1)*f])
				return nil
			}
			for _, o := range byItem[i] {
				rows = append(rows, p[int(o.other)*f:(int(o.other)+1)*f])
				y = append(y, o.r-mu-bu[o.other])
			}
			x, err := rs.solve(rows, y, lambda, lambdaI)
			if err != nil {
				return err
			}
			copy(q[i*f:(i+1)*f], x[:f])
			bi[i] = x[f]
			return nil
		})
		if err != nil {
			return err
		}
	}
	m.Factors[d], m.Lambda[d], m.LambdaI[d], m.LambdaU[d] = f, lambda, lambdaI, lambdaU
	m.dom[d] = &mfDomain{n: n, f: f, mu: mu, bi: bi, q: q, lambda: lambda, lamU: lambdaU}
	return nil
}

// foldIn is the new user's [p_u, b_u] from their support.
func (d *mfDomain) foldIn(support []tasks.Rated) ([]float64, float64, error) {
	if len(support) == 0 {
		return make([]float64, d.f), 0, nil
	}
	rows := make([][]float64, len(support))
	y := make([]float64, len(support))
	for k, x := range support {
		rows[k] = d.q[int(x.Item)*d.f : (int(x.Item)+1)*d.f]
		y[k] = float64(x.Norm) - d.mu - d.bi[x.Item]
	}
	sol, err := newRidgeSolve(d.f).solve(rows, y, d.lambda, d.lamU)
	if err != nil {
		return nil, 0, err
	}
	return sol[:d.f], sol[d.f], nil
}

// Score implements recommend.Scorer.
func (m *MF) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	d, err := fitted(MFName, m.dom, domain)
	if err != nil {
		return nil, err
	}
	if err := checkRequest(MFName, domain, d.n, supportItems(support), cands); err != nil {
		return nil, err
	}
	p, bu, err := d.foldIn(support)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(cands))
	for k, j := range cands {
		v := d.mu + d.bi[j] + bu
		for a, x := range d.q[int(j)*d.f : (int(j)+1)*d.f] {
			v += x * p[a]
		}
		out[k] = float32(v)
	}
	return out, nil
}
