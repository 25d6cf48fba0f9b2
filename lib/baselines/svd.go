package baselines

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// svdOversample and svdPowerIters size the randomized SVD (Halko,
// Martinsson and Tropp 2011, "Finding structure with randomness", Alg. 4.4):
// a subspace of rank+8 columns refined by 4 power iterations recovers the
// leading singular vectors of a matrix whose spectrum decays slowly, as a
// sparse user-item matrix's does.
const (
	svdOversample = 8
	svdPowerIters = 4
	svdSeed       = 1 // the factors are data, not a model's random start
)

// CooccurFactors returns an n x r matrix F whose rows' dot products
// approximate A^T A for A = the users x n binary matrix of users (each a
// sorted list of distinct item indices) with column i scaled by
// 1/sqrt(count_i): F = V S from A's truncated SVD, so <F_i, F_j>
// approximates the cosine similarity of the two items' sets of users. The
// trained models' ranking term uses it. Nil when there are no
// interactions. Columns beyond the matrix's rank are zero.
func CooccurFactors(users [][]int32, n, r int) *mat.Dense {
	count := itemCounts(users, n)
	colScale := make([]float64, n)
	for i, c := range count {
		if c > 0 {
			colScale[i] = 1 / math.Sqrt(c)
		}
	}
	v, s := TruncatedSVD(users, n, r, colScale)
	if v == nil {
		return nil
	}
	for k := range s {
		for i := range n {
			v.Set(i, k, s[k]*v.At(i, k))
		}
	}
	return v
}

func itemCounts(users [][]int32, n int) []float64 {
	count := make([]float64, n)
	for _, u := range users {
		for _, i := range u {
			count[i]++
		}
	}
	return count
}

// TruncatedSVD returns the r leading right singular vectors V (n x r,
// largest first) and singular values of the users x n binary matrix A with
// column i scaled by colScale[i] (nil: unscaled), by a randomized SVD over
// A's sparse rows. Signs are fixed (each vector's largest entry in
// magnitude is positive), so the result is deterministic. Nil when there
// are no interactions.
func TruncatedSVD(users [][]int32, n, r int, colScale []float64) (*mat.Dense, []float64) {
	nnz := 0
	for _, u := range users {
		nnz += len(u)
	}
	if nnz == 0 || n == 0 {
		return nil, nil
	}
	if colScale == nil {
		colScale = make([]float64, n)
		for i := range colScale {
			colScale[i] = 1
		}
	}
	l := min(r+svdOversample, n)
	// gram returns A^T A Y for an n x l matrix Y, through the sparse rows.
	gram := func(y *mat.Dense) *mat.Dense {
		out := mat.NewDense(n, l, nil)
		yd, od := y.RawMatrix(), out.RawMatrix()
		row := make([]float64, l)
		for _, u := range users {
			clear(row)
			for _, i := range u {
				s, src := colScale[i], yd.Data[int(i)*yd.Stride:][:l]
				for k, v := range src {
					row[k] += s * v
				}
			}
			for _, i := range u {
				s, dst := colScale[i], od.Data[int(i)*od.Stride:][:l]
				for k, v := range row {
					dst[k] += s * v
				}
			}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(svdSeed, uint64(n)))
	y := mat.NewDense(n, l, nil)
	for i := range n {
		for k := range l {
			y.Set(i, k, rng.NormFloat64())
		}
	}
	q := orthonormal(y)
	for range svdPowerIters {
		q = orthonormal(gram(q))
	}
	// The l x l projection Q^T (A^T A) Q: its eigenvectors W rotate Q onto
	// A's right singular vectors, its eigenvalues are the squared singular
	// values.
	var t mat.Dense
	t.Mul(q.T(), gram(q))
	sym := mat.NewSymDense(l, nil)
	for a := range l {
		for b := a; b < l; b++ {
			sym.SetSym(a, b, (t.At(a, b)+t.At(b, a))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, nil
	}
	values := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var v mat.Dense
	v.Mul(q, &vecs)
	f := mat.NewDense(n, r, nil)
	sv := make([]float64, r)
	for k := 0; k < r && k < l; k++ {
		src := l - 1 - k // largest first
		sv[k] = math.Sqrt(max(values[src], 0))
		// Fix the sign (an eigenvector's is arbitrary): the largest
		// entry in magnitude is positive.
		sign, big := 1.0, 0.0
		for i := range n {
			if a := math.Abs(v.At(i, src)); a > big {
				big, sign = a, math.Copysign(1, v.At(i, src))
			}
		}
		for i := range n {
			f.Set(i, k, sign*v.At(i, src))
		}
	}
	return f, sv
}

// orthonormal returns an orthonormal basis of y's columns by Cholesky QR,
// twice (CholeskyQR2: Fukaya et al. 2014, one pass leaves an
// orthogonality error that the second removes). A thin QR through
// mat.QR would build the full n x n Q. A tiny ridge keeps the Cholesky
// defined when columns are dependent (a domain with fewer items than l).
func orthonormal(y *mat.Dense) *mat.Dense {
	q := y
	for range 2 {
		_, l := q.Dims()
		var g mat.SymDense
		g.SymOuterK(1, q.T())
		ridge := 1e-12 * max(mat.Trace(&g), 1e-300)
		for k := range l {
			g.SetSym(k, k, g.At(k, k)+ridge)
		}
		var chol mat.Cholesky
		if !chol.Factorize(&g) {
			panic("orthonormal: Cholesky failed on a ridged Gram matrix")
		}
		var r, rInv mat.TriDense
		chol.UTo(&r)
		if err := rInv.InverseTri(&r); err != nil {
			panic(err)
		}
		var next mat.Dense
		next.Mul(q, &rInv)
		q = &next
	}
	return q
}
