package meta

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// cooccurOversample and cooccurPowerIters size the randomized SVD (Halko,
// Martinsson and Tropp 2011, "Finding structure with randomness", Alg. 4.4):
// a subspace of rank+8 columns refined by 4 power iterations recovers the
// leading singular vectors of a matrix whose spectrum decays slowly, as a
// sparse user-item matrix's does.
const (
	cooccurOversample = 8
	cooccurPowerIters = 4
	cooccurSeed       = 1 // the factors are data, not a model's random start
)

// setRankItems fills rank_item, each item's co-occurrence vector, from the
// training tasks: per domain, the leading right singular vectors of the
// binary user-item matrix whose columns are scaled by 1/sqrt(count), times
// their singular values. Dot products of two rows then approximate the
// cosine similarity of the two items' sets of training users (rank r =
// ItemDim), so the taste term of the ranking score starts as a low-rank
// item-kNN: the mean similarity of a candidate to the support. Items no
// training user had keep zero rows.
//
// How much that similarity weighs against the popularity logit is tuned
// per domain, as the bias shrinkage is: each weight of grid is tried on
// the domain's validation tasks (the first k support items adapt, the
// query's positives are the targets) and the best NDCG@10 wins; the rows
// are scaled by its square root. It returns the chosen weight per domain
// (0 for a domain without training tasks).
//
// Free per-item ranking rows trained from a random start fit noise (a
// softmax over a catalogue most of whose items have a handful of
// interactions); fitted in closed form like the biases and kept, they
// carry the one signal popularity lacks, which items go together.
func setRankItems(w *models.Weights, cat *models.Catalog, train, valid []tasks.Episode, k int, grid []float64) []float64 {
	ri, pi, bi := w.Index("rank_item"), w.Index("pop_bias"), w.Index("item_bias")
	chosen := make([]float64, len(cat.Domains))
	if ri < 0 || pi < 0 || len(grid) == 0 {
		return chosen
	}
	r := w.Specs[ri].Dims[1]
	vals := w.Values[ri]
	clear(vals)
	for d := range cat.Domains {
		var users [][]int32
		for _, e := range train {
			if int(e.DomainIndex) != d {
				continue
			}
			items := make([]int32, 0, len(e.Support)+len(e.Query))
			for _, set := range [][]tasks.Rated{e.Support, e.Query} {
				for _, x := range set {
					items = append(items, x.Item)
				}
			}
			slices.Sort(items)
			users = append(users, slices.Compact(items))
		}
		f := itemFactors(users, cat.Items[d], r)
		if f == nil {
			continue
		}
		off := int(cat.ItemOff[d])
		// The untrained ranking score besides the taste: popularity
		// logit plus the predicted rating's item part (the fitted score
		// adds the prediction at weight 1; the user's own bias shifts
		// every item alike).
		base := make([]float64, cat.Items[d])
		for i := range base {
			base[i] = float64(w.Values[pi][off+i])
			if bi >= 0 {
				base[i] += float64(w.Values[bi][off+i])
			}
		}
		var domValid []tasks.Episode
		for _, e := range valid {
			if int(e.DomainIndex) == d {
				domValid = append(domValid, e)
			}
		}
		best := math.Inf(-1)
		for _, c := range grid {
			if v := cooccurNDCG(f, base, domValid, k, c); v > best {
				best, chosen[d] = v, c
			}
		}
		scale := math.Sqrt(chosen[d])
		for i := range cat.Items[d] {
			for j := range r {
				vals[(off+i)*r+j] = float32(scale * f.At(i, j))
			}
		}
	}
	return chosen
}

// cooccurNDCG is the mean NDCG@10 over tasks of the score base_i + c *
// F_i . mean(F over the first k support items), ranking every item of the
// domain outside the task's support, with the query's positives (see
// positives) relevant. Tasks without a positive are skipped.
func cooccurNDCG(f *mat.Dense, base []float64, eps []tasks.Episode, k int, c float64) float64 {
	const cut = 10
	n, r := f.Dims()
	fd := f.RawMatrix()
	pos := positives(eps)
	taste := make([]float64, r)
	score := make([]float64, n)
	sum, users := 0.0, 0
	for t, e := range eps {
		relevant := map[int32]bool{}
		for j, x := range e.Query {
			if pos[t][j] {
				relevant[x.Item] = true
			}
		}
		support := e.Support[:min(k, len(e.Support))]
		if len(relevant) == 0 || len(support) == 0 {
			continue
		}
		clear(taste)
		for _, x := range support {
			for j, v := range fd.Data[int(x.Item)*fd.Stride:][:r] {
				taste[j] += v / float64(len(support))
			}
		}
		for i := range n {
			dot := 0.0
			for j, v := range fd.Data[i*fd.Stride:][:r] {
				dot += v * taste[j]
			}
			score[i] = base[i] + c*dot
		}
		for _, x := range e.Support {
			score[x.Item] = math.Inf(-1)
		}
		// The top cut items, best first, ties to the smaller index.
		top := make([]int, 0, cut+1)
		for i := range n {
			if len(top) == cut && score[i] <= score[top[cut-1]] {
				continue
			}
			at := len(top)
			for at > 0 && score[i] > score[top[at-1]] {
				at--
			}
			top = slices.Insert(top, at, i)
			if len(top) > cut {
				top = top[:cut]
			}
		}
		dcg, idcg := 0.0, 0.0
		for rank, i := range top {
			if relevant[int32(i)] {
				dcg += 1 / math.Log2(float64(rank)+2)
			}
		}
		for rank := range min(cut, len(relevant)) {
			idcg += 1 / math.Log2(float64(rank)+2)
		}
		sum += dcg / idcg
		users++
	}
	if users == 0 {
		return 0
	}
	return sum / float64(users)
}

// itemFactors returns an n x r matrix F whose rows' dot products
// approximate A^T A for A = the users x n binary matrix of users (each a
// sorted list of distinct item indices) with column i scaled by
// 1/sqrt(count_i): F = V S from A's truncated SVD. Nil when there are no
// interactions. Columns beyond the matrix's rank are zero.
func itemFactors(users [][]int32, n, r int) *mat.Dense {
	count := make([]float64, n)
	nnz := 0
	for _, u := range users {
		for _, i := range u {
			count[i]++
		}
		nnz += len(u)
	}
	if nnz == 0 || n == 0 {
		return nil
	}
	colScale := make([]float64, n)
	for i, c := range count {
		if c > 0 {
			colScale[i] = 1 / math.Sqrt(c)
		}
	}
	l := min(r+cooccurOversample, n)
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
	rng := rand.New(rand.NewPCG(cooccurSeed, uint64(n)))
	y := mat.NewDense(n, l, nil)
	for i := range n {
		for k := range l {
			y.Set(i, k, rng.NormFloat64())
		}
	}
	q := orthonormal(y)
	for range cooccurPowerIters {
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
		return nil
	}
	values := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var v mat.Dense
	v.Mul(q, &vecs)
	f := mat.NewDense(n, r, nil)
	for k := 0; k < r && k < l; k++ {
		src := l - 1 - k // largest first
		s := math.Sqrt(max(values[src], 0))
		// Fix the sign (an eigenvector's is arbitrary): the largest
		// entry in magnitude is positive.
		sign, big := 1.0, 0.0
		for i := range n {
			if a := math.Abs(v.At(i, src)); a > big {
				big, sign = a, math.Copysign(1, v.At(i, src))
			}
		}
		for i := range n {
			f.Set(i, k, sign*s*v.At(i, src))
		}
	}
	return f
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
