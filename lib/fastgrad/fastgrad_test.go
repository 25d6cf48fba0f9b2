package fastgrad

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

type dotCase struct {
	name           string
	ld, rd         []int
	lc, lb, rc, rb []int
}

var cases = []dotCase{
	{"matmul", []int{3, 4}, []int{4, 5}, []int{1}, nil, []int{0}, nil},
	{"batched", []int{2, 3, 4}, []int{2, 4, 5}, []int{2}, []int{0}, []int{1}, []int{0}},
	{"batch-last-contract-first", []int{4, 3, 2}, []int{5, 2, 4}, []int{0}, []int{2}, []int{2}, []int{1}},
	{"two-contract", []int{2, 3, 4}, []int{4, 5, 3}, []int{1, 2}, nil, []int{2, 0}, nil},
	{"vector", []int{2, 3, 4}, []int{2, 4}, []int{2}, []int{0}, []int{1}, []int{0}},
	{"outer", []int{3}, []int{2}, nil, nil, nil, nil},
}

func randData(r *rand.Rand, dims []int) []float64 {
	n := 1
	for _, d := range dims {
		n *= d
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64()
	}
	return out
}

// f is a smooth scalar of the product, so gradients and their gradients
// are non-trivial: sum(tanh(L·R) * W).
func f(c dotCase, l, r, w *Node) *Node {
	return ReduceAllSum(Mul(Tanh(DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)), w))
}

func backend(t *testing.T) backends.Backend {
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func grads(t *testing.T, b backends.Backend, c dotCase, l, r []float64) (gl, gr []float64) {
	e, err := NewExec(b, func(ln, rn *Node) (*Node, *Node) {
		out := DotGeneral(ln, c.lc, c.lb, rn, c.rc, c.rb)
		w := Sin(IotaFull(ln.Graph(), out.Shape()))
		g := Gradient(f(c, ln, rn, w), ln, rn)
		return g[0], g[1]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(tensors.FromFlatDataAndDimensions(l, c.ld...), tensors.FromFlatDataAndDimensions(r, c.rd...))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

// TestFirstOrderMatchesStock: the new rule gives GoMLX's own gradients.
func TestFirstOrderMatchesStock(t *testing.T) {
	b := backend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		l, r := randData(rng, c.ld), randData(rng, c.rd)
		Unregister()
		sl, sr := grads(t, b, c, l, r)
		if err := Register(); err != nil {
			t.Fatal(err)
		}
		fl, fr := grads(t, b, c, l, r)
		for _, p := range [][2][]float64{{sl, fl}, {sr, fr}} {
			for i := range p[0] {
				if math.Abs(p[0][i]-p[1][i]) > 1e-12 {
					t.Fatalf("%s: gradient %d: stock %g, fast %g", c.name, i, p[0][i], p[1][i])
				}
			}
		}
	}
}

// TestSecondOrderFiniteDifferences: the gradient of sum(grad_L f · P)
// with respect to R (a mixed second derivative, through the new rule
// twice) matches central finite differences in float64.
func TestSecondOrderFiniteDifferences(t *testing.T) {
	if err := Register(); err != nil {
		t.Fatal(err)
	}
	b := backend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		l, r := randData(rng, c.ld), randData(rng, c.rd)
		p := randData(rng, c.ld)
		inner := func(ln, rn, pn *Node) *Node {
			out := DotGeneral(ln, c.lc, c.lb, rn, c.rc, c.rb)
			w := Sin(IotaFull(ln.Graph(), out.Shape()))
			gl := Gradient(f(c, ln, rn, w), ln)[0]
			return ReduceAllSum(Mul(gl, pn))
		}
		val, err := NewExec(b, inner)
		if err != nil {
			t.Fatal(err)
		}
		grad, err := NewExec(b, func(ln, rn, pn *Node) *Node { return Gradient(inner(ln, rn, pn), rn)[0] })
		if err != nil {
			t.Fatal(err)
		}
		tl, tp := tensors.FromFlatDataAndDimensions(l, c.ld...), tensors.FromFlatDataAndDimensions(p, c.ld...)
		out, err := grad.Exec(tl, tensors.FromFlatDataAndDimensions(r, c.rd...), tp)
		if err != nil {
			t.Fatal(err)
		}
		an := tensors.MustCopyFlatData[float64](out[0])
		const h = 1e-5
		for i := range r {
			eval := func(d float64) float64 {
				rr := append([]float64(nil), r...)
				rr[i] += d
				o, err := val.Exec(tl, tensors.FromFlatDataAndDimensions(rr, c.rd...), tp)
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float64](o[0])[0]
			}
			fd := (eval(h) - eval(-h)) / (2 * h)
			if math.Abs(fd-an[i]) > 1e-6*(1+math.Abs(fd)) {
				t.Fatalf("%s: d/dR_%d: analytic %g, finite differences %g", c.name, i, an[i], fd)
			}
		}
	}
}
