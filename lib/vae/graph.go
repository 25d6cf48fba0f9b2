package vae

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/models"
)

// Adam's moment decays (the paper trains with Adam's defaults).
const (
	beta1 = 0.9
	beta2 = 0.999
)

// stepper runs the updates of one domain's network: one graph execution
// per batch computes the loss, its gradient and the Adam update. The
// encoder's first layer is a gather of the input items' rows (a user's
// items are few against the catalogue), so its cost is the batch's items
// times the hidden width; the decoder's softmax over the whole catalogue
// is the multinomial likelihood itself and is computed in full. Every
// product is a DotGeneral, whose gradient lib/fastgrad writes as two
// products (GoMLX's Dot node keeps the stock rule, which is about ten
// times slower here).
type stepper struct {
	c        *Config
	d        int
	episodic bool // the loss is episodicLoss (meta.go), the batch carries smask
	specs    []models.VarSpec
	exec     *Exec
	fwd      *Exec
}

func newStepper(b backends.Backend, c *Config, d int, episodic bool) (*stepper, error) {
	s := &stepper{c: c.At(d), d: d, episodic: episodic, specs: c.DomainVars(d)}
	var err error
	if s.exec, err = NewExec(b, s.graph); err != nil {
		return nil, err
	}
	if s.fwd, err = NewExec(b, s.forwardGraph); err != nil {
		return nil, err
	}
	return s, nil
}

func matmul(x, w *Node) *Node {
	return DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{0}, nil)
}

// encode maps a batch's inputs (idx [B,L] item indices, w [B,L] their
// weights, 0 for padding) to the latent's mean and log-variance.
func (s *stepper) encode(p []*Node, idx, w *Node) (mu, logvar *Node) {
	b, l := idx.Shape().Dimensions[0], idx.Shape().Dimensions[1]
	rows := Gather(p[0], Reshape(idx, b*l, 1))         // [B*L, H]
	rows = Reshape(rows, b, l, s.c.Hidden)             // [B, L, H]
	h := ReduceSum(Mul(rows, InsertAxes(w, -1)), 1)    // [B, H]
	h = Tanh(Add(h, InsertAxes(p[1], 0)))              // [B, H]
	mu = Add(matmul(h, p[2]), InsertAxes(p[3], 0))     // [B, Z]
	logvar = Add(matmul(h, p[4]), InsertAxes(p[5], 0)) // [B, Z]
	return mu, logvar
}

// decode maps latents [B,Z] to logits [B,I].
func (s *stepper) decode(p []*Node, z *Node) *Node {
	rest := p[6:]
	if s.c.DecoderHidden > 0 {
		z = Tanh(Add(matmul(z, rest[0]), InsertAxes(rest[1], 0)))
		rest = rest[2:]
	}
	return Add(matmul(z, rest[0]), InsertAxes(rest[1], 0))
}

// inputs of the step graph: params, Adam m and v (nv each), the
// bias-corrected step size, the KL weight, idx [B,L], w [B,L], the target
// item counts [B,I], the row mask [B] (0 for padding rows), the
// reparameterisation noise [B,Z] and, episodic only, the support mask
// [B,I].
func (s *stepper) graph(in []*Node) []*Node {
	nv := len(s.specs)
	p := in[:nv]
	lrT, beta := in[3*nv], in[3*nv+1]
	idx, w, target, mask, eps := in[3*nv+2], in[3*nv+3], in[3*nv+4], in[3*nv+5], in[3*nv+6]
	mu, logvar := s.encode(p, idx, w)
	z := Add(mu, Mul(eps, Exp(MulScalar(logvar, 0.5))))
	var nll *Node // [B]
	if s.episodic {
		nll = s.episodicLoss(p, z, in[3*nv+7], target)
	} else {
		nll = Neg(ReduceSum(Mul(LogSoftmax(s.decode(p, z)), target), 1))
	}
	kl := MulScalar(ReduceSum(Sub(Add(Neg(logvar), Add(Exp(logvar), Mul(mu, mu))), OnesLike(mu)), 1), 0.5)
	rows := ReduceAllSum(mask)
	nllMean := Div(ReduceAllSum(Mul(nll, mask)), rows)
	klMean := Div(ReduceAllSum(Mul(kl, mask)), rows)
	obj := Add(nllMean, Mul(beta, klMean))
	grads := Gradient(obj, p...)
	out := make([]*Node, 3*nv+2)
	for i := range p {
		g := grads[i]
		m := Add(MulScalar(in[nv+i], beta1), MulScalar(g, 1-beta1))
		v := Add(MulScalar(in[2*nv+i], beta2), MulScalar(Mul(g, g), 1-beta2))
		out[i] = Sub(p[i], Mul(lrT, Div(m, AddScalar(Sqrt(v), 1e-8))))
		out[nv+i], out[2*nv+i] = m, v
	}
	out[3*nv], out[3*nv+1] = nllMean, klMean
	return out
}

// forwardGraph is the scoring pass (the latent's mean, adapted on the
// support mask in[nv+2] when the config has inner steps, decoded): what
// the plain-Go Net.Logits computes, kept as the reference a test compares
// it with.
func (s *stepper) forwardGraph(in []*Node) *Node {
	nv := len(s.specs)
	mu, _ := s.encode(in[:nv], in[nv], in[nv+1])
	if s.c.InnerSteps > 0 {
		mu = s.adaptLatent(in[:nv], mu, in[nv+2])
	}
	return s.decode(in[:nv], mu)
}

// state is one domain's trainable state on the backend.
type state struct {
	params, m, v []*tensors.Tensor
	steps        int
}

func newState(specs []models.VarSpec, vals [][]float32) *state {
	st := &state{}
	for i, sp := range specs {
		st.params = append(st.params, tensors.FromFlatDataAndDimensions(vals[i], sp.Dims...))
		st.m = append(st.m, tensors.FromFlatDataAndDimensions(make([]float32, sp.Size()), sp.Dims...))
		st.v = append(st.v, tensors.FromFlatDataAndDimensions(make([]float32, sp.Size()), sp.Dims...))
	}
	return st
}

// values copies the parameters to the host.
func (st *state) values() [][]float32 {
	out := make([][]float32, len(st.params))
	for i, t := range st.params {
		out[i] = tensors.MustCopyFlatData[float32](t)
	}
	return out
}

// batch is one update's inputs on the host.
type batch struct {
	b, l, items, latent int
	idx                 []int32
	w, target, mask     []float32
	eps                 []float32
	smask               []float32 // episodic batches: 1 on each row's support items [B,I]
}

// step takes one Adam update of st on batch bt with step size lr and KL
// weight beta; it returns the batch's mean negative log-likelihood and KL.
func (s *stepper) step(st *state, bt *batch, lr, beta float64) (nll, kl float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("multvae update: %v", r)
		}
	}()
	t := float64(st.steps + 1)
	lrT := lr * math.Sqrt(1-math.Pow(beta2, t)) / (1 - math.Pow(beta1, t))
	args := make([]any, 0, 3*len(st.params)+7)
	for _, l := range [][]*tensors.Tensor{st.params, st.m, st.v} {
		for _, x := range l {
			args = append(args, x)
		}
	}
	args = append(args, tensors.FromScalar(float32(lrT)), tensors.FromScalar(float32(beta)),
		tensors.FromFlatDataAndDimensions(bt.idx, bt.b, bt.l), tensors.FromFlatDataAndDimensions(bt.w, bt.b, bt.l),
		tensors.FromFlatDataAndDimensions(bt.target, bt.b, bt.items), tensors.FromFlatDataAndDimensions(bt.mask, bt.b),
		tensors.FromFlatDataAndDimensions(bt.eps, bt.b, bt.latent))
	if s.episodic {
		args = append(args, tensors.FromFlatDataAndDimensions(bt.smask, bt.b, bt.items))
	}
	out, err := s.exec.Exec(args...)
	if err != nil {
		return 0, 0, err
	}
	nv := len(st.params)
	old := [][]*tensors.Tensor{st.params, st.m, st.v}
	st.params, st.m, st.v = out[:nv], out[nv:2*nv], out[2*nv:3*nv]
	for _, l := range old {
		for _, x := range l {
			x.FinalizeAll()
		}
	}
	st.steps++
	nll = float64(tensors.MustCopyFlatData[float32](out[3*nv])[0])
	kl = float64(tensors.MustCopyFlatData[float32](out[3*nv+1])[0])
	return nll, kl, nil
}

// forward runs the graph's scoring pass for a batch of inputs: logits
// [B*I] row-major. smask [B*I] marks each row's support items (used only
// when the config has inner steps).
func (s *stepper) forward(vals [][]float32, idx []int32, w []float32, smask []float32, b, l int) ([]float32, error) {
	args := make([]any, 0, len(vals)+3)
	for i, sp := range s.specs {
		args = append(args, tensors.FromFlatDataAndDimensions(vals[i], sp.Dims...))
	}
	args = append(args, tensors.FromFlatDataAndDimensions(idx, b, l), tensors.FromFlatDataAndDimensions(w, b, l))
	if s.c.InnerSteps > 0 {
		args = append(args, tensors.FromFlatDataAndDimensions(smask, b, s.c.Items[s.d]))
	}
	out, err := s.fwd.Exec(args...)
	if err != nil {
		return nil, err
	}
	return tensors.MustCopyFlatData[float32](out[0]), nil
}
