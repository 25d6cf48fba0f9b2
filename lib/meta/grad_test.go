package meta

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/fastgrad"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/synth"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// f64 converts float32 tensors to float64, the precision of the checks.
func f64(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		if t.DType() == dtypes.Float32 {
			v := tensors.MustCopyFlatData[float32](t)
			w := make([]float64, len(v))
			for j := range v {
				w[j] = float64(v[j])
			}
			out[i] = tensors.FromFlatDataAndDimensions(w, t.Shape().Dimensions...)
		} else {
			out[i] = t
		}
	}
	return out
}

// gradFixture is a tiny model and one meta-batch, in float64.
type gradFixture struct {
	s      *Stepper
	params [][]float64
	batch  []any // support, query, domain tensors
	cat    *models.Catalog
}

func newGradFixture(t *testing.T, arch string, learnLR bool, method string, firstOrder bool) *gradFixture {
	items := synth.Items(1, 7, 5)
	cat, err := models.NewCatalog(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.Config{Arch: arch, ItemDim: 4, UserDim: 3, Hidden: [2]int{5, 4}, Encoder: true, Adapt: []string{models.GroupLast},
		InnerSteps: 2, InnerLR: 0.3, LearnInnerLR: learnLR, Shape: cat.Shape()}
	s := &Stepper{Model: cfg, Step: StepConfig{Method: method, FirstOrder: firstOrder, InnerSteps: 2, OuterLR: 1}, specs: cfg.Vars()}
	r := rand.New(rand.NewPCG(7, 7))
	f := &gradFixture{s: s, cat: cat}
	for _, sp := range s.specs {
		v := make([]float64, sp.Size())
		for i := range v {
			v[i] = 0.3 * r.NormFloat64() // every parameter non-zero so every path carries gradient
			if sp.Group == models.GroupLR {
				v[i] = math.Log(0.2)
			}
		}
		f.params = append(f.params, v)
	}
	eps := synth.Episodes(2, items, 2, 3, 4)
	b := &Batch{Support: cat.NewSet(3, 4), Query: cat.NewSet(3, 5), Domain: make([]int32, 3)}
	for tk := range 3 {
		e := eps[tk]
		b.Domain[tk] = e.DomainIndex
		// Support padded (3 of 4 real), query padded (4 of 5).
		if err := cat.Fill(b.Support, tk, e.DomainIndex, e.Support); err != nil {
			t.Fatal(err)
		}
		if err := cat.Fill(b.Query, tk, e.DomainIndex, e.Query); err != nil {
			t.Fatal(err)
		}
	}
	f.batch = append(append(f64(cat.Tensors(b.Support)), f64(cat.Tensors(b.Query))...), tensors.FromFlatDataAndDimensions(b.Domain, 3))
	return f
}

func (f *gradFixture) args(params [][]float64) []any {
	out := make([]any, 0, len(params)+len(f.batch))
	for i, p := range params {
		out = append(out, tensors.FromFlatDataAndDimensions(append([]float64(nil), p...), f.s.specs[i].Dims...))
	}
	return append(out, f.batch...)
}

func (f *gradFixture) vars(in []*Node) (models.Vars, []*Node) {
	v := models.Vars{}
	nv := len(f.s.specs)
	for i, sp := range f.s.specs {
		v[sp.Name] = in[i]
	}
	return v, in[nv:]
}

// check compares the analytic gradient of obj with central differences of
// value at a few coordinates of every parameter.
func (f *gradFixture) check(t *testing.T, name string, value func(in []*Node) *Node, grad func(in []*Node) []*Node) {
	b := testBackend(t)
	ve, err := NewExec(b, func(in []*Node) []*Node { return []*Node{value(in)} })
	if err != nil {
		t.Fatal(err)
	}
	ge, err := NewExec(b, grad)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := ge.Exec(f.args(f.params)...)
	if err != nil {
		t.Fatal(err)
	}
	eval := func(p [][]float64) float64 {
		out, err := ve.Exec(f.args(p)...)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Value().(float64)
	}
	r := rand.New(rand.NewPCG(3, 3))
	const h = 1e-6
	checked, nonzero := 0, 0
	for i, sp := range f.s.specs {
		g := tensors.MustCopyFlatData[float64](gs[i])
		for range 3 {
			j := r.IntN(sp.Size())
			p := clone(f.params)
			p[i][j] += h
			up := eval(p)
			p[i][j] -= 2 * h
			down := eval(p)
			fd := (up - down) / (2 * h)
			if math.Abs(fd-g[j]) > 1e-6+1e-5*math.Abs(fd) {
				t.Errorf("%s: d/d %s[%d]: analytic %.10g, finite differences %.10g", name, sp.Name, j, g[j], fd)
			}
			checked++
			if math.Abs(g[j]) > 1e-9 {
				nonzero++
			}
		}
	}
	if nonzero < checked/2 {
		t.Errorf("%s: only %d of %d checked gradient entries are non-zero: the check is vacuous", name, nonzero, checked)
	}
}

func clone(p [][]float64) [][]float64 {
	out := make([][]float64, len(p))
	for i := range p {
		out[i] = append([]float64(nil), p[i]...)
	}
	return out
}

// TestSecondOrderMetaGradient: the full MAML meta-gradient (through the
// unrolled inner loop, learned step sizes included) matches finite
// differences of the post-adaptation query loss, with GoMLX's DotGeneral
// gradient and with the fastgrad one.
func TestSecondOrderMetaGradient(t *testing.T) {
	for _, fast := range []bool{false, true} {
		fastgrad.Unregister()
		if fast {
			if err := fastgrad.Register(); err != nil {
				t.Fatal(err)
			}
		}
		for _, arch := range []string{models.FCNN, models.NCF} {
			f := newGradFixture(t, arch, true, MAML, false)
			value := func(in []*Node) *Node {
				v, rest := f.vars(in)
				_, loss := f.s.objective(v, rest[:models.SetInputs], rest[models.SetInputs:2*models.SetInputs], rest[2*models.SetInputs], nil, nil)
				return loss
			}
			grad := func(in []*Node) []*Node {
				return Gradient(value(in), in[:len(f.s.specs)]...)
			}
			f.check(t, arch+"/second-order", value, grad)
		}
	}
	fastgrad.Unregister()
}

// TestFirstOrderMetaGradient: first-order MAML's gradient is the exact
// gradient of the surrogate in which the inner loop's displacement of the
// fast weights is a constant: loss_q(start(θ) + Δ(θ0)).
func TestFirstOrderMetaGradient(t *testing.T) {
	if err := fastgrad.Register(); err != nil {
		t.Fatal(err)
	}
	defer fastgrad.Unregister()
	f := newGradFixture(t, models.NCF, false, MAML, true)
	c := &f.s.Model
	nv := len(f.s.specs)
	// The surrogate at θ (the graph input) with Δ computed at θ0 (constants).
	theta0 := f.params
	value := func(in []*Node) *Node {
		v, rest := f.vars(in)
		g := in[0].Graph()
		v0 := models.Vars{}
		for i, sp := range f.s.specs {
			v0[sp.Name] = Const(g, tensors.FromFlatDataAndDimensions(append([]float64(nil), theta0[i]...), sp.Dims...))
		}
		sup, qry, dom := rest[:models.SetInputs], rest[models.SetInputs:2*models.SetInputs], rest[2*models.SetInputs]
		set := func(v models.Vars) (models.SetNodes, models.ItemSide, models.DomainTerms) {
			si, sr, sm := models.SetFromNodes(sup)
			qi, qr, qm := models.SetFromNodes(qry)
			sx, sb := c.ItemTower(v, si)
			qx, qb := c.ItemTower(v, qi)
			_ = qr
			_ = qm
			return models.SetNodes{X: sx, B: sb, R: sr, M: sm, Dom: dom}, models.ItemSide{X: qx, B: qb}, c.Domain(v, dom)
		}
		s0, _, mu0 := set(v0)
		start0, fast0 := c.AdaptUsers(v0, s0, mu0, nil, c.InnerSteps, true)
		s1, q1, mu1 := set(v)
		start1, _ := c.AdaptUsers(v, s1, mu1, nil, 0, true)
		moved := models.Vars{}
		for k := range start1 {
			moved[k] = Add(start1[k], Sub(fast0[k], start0[k]))
		}
		_, qr, qm := models.SetFromNodes(qry)
		return ReduceAllMean(models.Loss(c.Predict(v, moved, q1, mu1), qr, qm))
	}
	grad := func(in []*Node) []*Node {
		v, rest := f.vars(in)
		obj, _ := f.s.objective(v, rest[:models.SetInputs], rest[models.SetInputs:2*models.SetInputs], rest[2*models.SetInputs], nil, nil)
		return Gradient(obj, in[:nv]...)
	}
	f.check(t, "first-order", value, grad)
}
