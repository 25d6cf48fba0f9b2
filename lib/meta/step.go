// Package meta trains the models of lib/models to adapt to new users:
// MAML (Finn et al., ICML 2017), second order by default and first order
// as an option, Reptile (Nichol et al., 2018), and plain ("joint")
// training of the same architecture for the non-meta baselines.
//
// A meta-step is one graph execution: the inner loop is unrolled inside
// the graph and vectorised over the tasks of the meta-batch (fast weights
// carry a leading task axis), and the outer update (Adam) runs in the same
// graph. Support and query sets are padded to fixed sizes and masked, so
// the graph is compiled once per shape and cached.
package meta

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/models"
)

// Methods.
const (
	Joint   = "joint"   // no inner loop in training; adapted by fine-tuning at test time
	MAML    = "maml"    // meta-gradient through the unrolled inner loop
	Reptile = "reptile" // move the initialisation toward each task's adapted weights

	LossMSE = "mse" // outer loss: mean squared error of the query
	LossMAE = "mae" // outer loss: mean absolute error of the query
)

// StepConfig is the outer loop's setting.
type StepConfig struct {
	Method     string
	FirstOrder bool    // MAML: treat inner gradients as constants
	InnerSteps int     // inner steps during meta-training (Joint: 0)
	OuterLR    float64 // Adam step size
	Clip       float64 // global gradient-norm clip (0: none)
	// OuterLoss is the query error the outer update minimises: "mse"
	// (the default when empty) or "mae".
	OuterLoss string
	Beta1     float64
	Beta2     float64
}

// Validate checks the config.
func (s *StepConfig) Validate() error {
	switch s.Method {
	case Joint, MAML, Reptile:
	default:
		return fmt.Errorf("method %q is not %s, %s or %s", s.Method, Joint, MAML, Reptile)
	}
	if s.OuterLR <= 0 {
		return fmt.Errorf("outer learning rate must be positive")
	}
	switch s.OuterLoss {
	case "", LossMSE, LossMAE:
	default:
		return fmt.Errorf("outer loss %q is not %s or %s", s.OuterLoss, LossMSE, LossMAE)
	}
	return nil
}

// Stepper runs meta-steps of one model.
type Stepper struct {
	Model models.Config
	Step  StepConfig
	specs []models.VarSpec
	exec  *Exec
	eval  *Exec
}

// inputs of the step graph: params, Adam m and v (nv each), the
// bias-corrected step size, support set, query set, task domains; with a
// ranking score also the negatives (a set) and the query's positive
// weights [T,Q].
func (s *Stepper) layout() (nv, sOff, qOff, dOff, nOff, wOff int) {
	nv = len(s.specs)
	sOff = 3*nv + 1
	qOff = sOff + models.SetInputs
	dOff = qOff + models.SetInputs
	nOff = dOff + 1
	wOff = nOff + models.SetInputs
	return
}

// objective builds the scalar the outer gradient is taken of, and the
// mean query loss after adaptation (what the curves report). neg and w
// are the ranking loss's inputs (nil without Model.Rank).
func (s *Stepper) objective(v models.Vars, sup, qry []*Node, domain *Node, neg []*Node, w *Node) (obj, loss *Node) {
	c := &s.Model
	dm := c.Domain(v, domain)
	sItems, sR, sM := models.SetFromNodes(sup)
	qItems, qR, qM := models.SetFromNodes(qry)
	sx, sb := c.ItemTower(v, sItems)
	qx, qb := c.ItemTower(v, qItems)
	steps := s.Step.InnerSteps
	if s.Step.Method == Joint {
		steps = 0
	}
	firstOrder := s.Step.FirstOrder || s.Step.Method == Reptile
	supSet := models.SetNodes{X: sx, B: sb, R: sR, M: sM, Dom: domain}
	start, fast := c.AdaptUsers(v, supSet, dm, nil, steps, firstOrder)
	var extra []*Node // terms added to the objective
	if c.L2 > 0 {
		extra = append(extra, MulScalar(Add(c.ItemPenalty(v, sItems, sM), c.ItemPenalty(v, qItems, qM)), c.L2))
	}
	// The query is predicted with the adapted weights; Reptile's outer
	// update of the adapted tensors comes from its own term below, so its
	// query loss sees them as constants.
	predWith := fast
	if s.Step.Method == Reptile {
		predWith = models.Vars{}
		for k, f := range fast {
			predWith[k] = StopGradient(f)
		}
		// The pseudo-gradient of each adapted tensor is its mean
		// displacement start - fast over tasks; writing it as the gradient
		// of <start, stop(start - fast)> carries it back through the user
		// initialisation (u0 and the encoder) by the chain rule. Parameters
		// the inner loop does not adapt learn from the query loss at the
		// adapted weights, first order.
		t := float64(sR.Shape().Dimensions[0])
		for _, k := range c.FastNames() {
			d := ReduceAllSum(Mul(start[k], StopGradient(Sub(start[k], fast[k]))))
			extra = append(extra, DivScalar(d, t))
		}
	}
	qPred := c.Predict(v, predWith, models.ItemSide{X: qx, B: qb}, dm)
	loss = ReduceAllMean(models.Loss(qPred, qR, qM))
	obj = loss
	if s.Step.OuterLoss == LossMAE {
		// The evaluation's error metric, which a conditional median
		// minimises where squared error pulls toward the mean.
		obj = ReduceAllMean(models.AbsLoss(qPred, qR, qM))
	}
	if c.Rank && c.RankWeight > 0 {
		nItems, _, _ := models.SetFromNodes(neg)
		nx, nb := c.ItemTower(v, nItems)
		nPred := c.Predict(v, predWith, models.ItemSide{X: nx, B: nb}, dm)
		// The loss trains the content score (the fitted one has nothing
		// to train), on every training domain, for the domains that have
		// no training users of their own.
		taste := c.Taste(v, supSet, c.RankItems(v, sItems, sx), dm.Mu)
		qs := c.ContentScore(v, c.RankItems(v, qItems, qx), taste, qPred)
		ns := c.ContentScore(v, c.RankItems(v, nItems, nx), taste, nPred)
		rl := models.RankLoss(qs, Mul(w, qM), ns)
		extra = append(extra, MulScalar(rl, c.RankWeight))
	}
	for _, x := range extra {
		obj = Add(obj, x)
	}
	return obj, loss
}

func (s *Stepper) graph(in []*Node) []*Node {
	nv, sOff, qOff, dOff, nOff, wOff := s.layout()
	params := in[:nv]
	v := models.Vars{}
	for i, sp := range s.specs {
		v[sp.Name] = params[i]
	}
	var neg []*Node
	var w *Node
	if s.Model.Rank {
		neg, w = in[nOff:nOff+models.SetInputs], in[wOff]
	}
	obj, loss := s.objective(v, in[sOff:sOff+models.SetInputs], in[qOff:qOff+models.SetInputs], in[dOff], neg, w)
	grads := Gradient(obj, params...)
	if s.Step.Clip > 0 {
		var sq *Node
		for _, g := range grads {
			x := ReduceAllSum(Mul(g, g))
			if sq == nil {
				sq = x
			} else {
				sq = Add(sq, x)
			}
		}
		norm := Sqrt(sq)
		scale := Div(ConstAs(norm, s.Step.Clip), MaxScalar(norm, s.Step.Clip))
		for i := range grads {
			grads[i] = Mul(grads[i], scale)
		}
	}
	lrT := in[3*nv]
	b1, b2 := s.Step.Beta1, s.Step.Beta2
	out := make([]*Node, 3*nv+1)
	for i, p := range params {
		g := grads[i]
		m := Add(MulScalar(in[nv+i], b1), MulScalar(g, 1-b1))
		vv := Add(MulScalar(in[2*nv+i], b2), MulScalar(Mul(g, g), 1-b2))
		out[i] = Sub(p, Mul(lrT, Div(m, AddScalar(Sqrt(vv), 1e-8))))
		out[nv+i], out[2*nv+i] = m, vv
		if s.specs[i].Group == models.GroupBias {
			out[i] = p // fitted in closed form, kept
		}
	}
	out[3*nv] = loss
	return out
}

// evalGraph returns each task's query MSE and MAE after adaptation with
// the model's own inner steps (what serving does).
func (s *Stepper) evalGraph(in []*Node) []*Node {
	nv := len(s.specs)
	v := models.Vars{}
	for i, sp := range s.specs {
		v[sp.Name] = in[i]
	}
	c := &s.Model
	domain := in[nv+2*models.SetInputs]
	dm := c.Domain(v, domain)
	sItems, sR, sM := models.SetFromNodes(in[nv : nv+models.SetInputs])
	qItems, qR, qM := models.SetFromNodes(in[nv+models.SetInputs : nv+2*models.SetInputs])
	sx, sb := c.ItemTower(v, sItems)
	qx, qb := c.ItemTower(v, qItems)
	_, fast := c.AdaptUsers(v, models.SetNodes{X: sx, B: sb, R: sR, M: sM, Dom: domain}, dm, nil, c.InnerSteps, true)
	pred := c.Predict(v, fast, models.ItemSide{X: qx, B: qb}, dm)
	d := Mul(Sub(pred, qR), qM)
	return []*Node{ReduceSum(Mul(d, d), 1), ReduceSum(Abs(d), 1), ReduceSum(qM, 1)}
}

// NewStepper compiles nothing yet: graphs are built on first use per shape.
func NewStepper(b backends.Backend, model models.Config, step StepConfig) (*Stepper, error) {
	if err := model.Validate(); err != nil {
		return nil, err
	}
	if err := step.Validate(); err != nil {
		return nil, err
	}
	if step.Beta1 == 0 {
		step.Beta1 = 0.9
	}
	if step.Beta2 == 0 {
		step.Beta2 = 0.999
	}
	s := &Stepper{Model: model, Step: step, specs: model.Vars()}
	var err error
	if s.exec, err = NewExec(b, s.graph); err != nil {
		return nil, err
	}
	if s.eval, err = NewExec(b, s.evalGraph); err != nil {
		return nil, err
	}
	return s, nil
}

// State is the trainable state on the backend: parameters and Adam moments.
type State struct {
	Params, M, V []*tensors.Tensor
	Steps        int // outer steps taken
}

// NewState uploads initial weights with zero moments.
func NewState(w *models.Weights) *State {
	st := &State{}
	for i, sp := range w.Specs {
		st.Params = append(st.Params, tensors.FromFlatDataAndDimensions(w.Values[i], sp.Dims...))
		st.M = append(st.M, tensors.FromFlatDataAndDimensions(make([]float32, sp.Size()), sp.Dims...))
		st.V = append(st.V, tensors.FromFlatDataAndDimensions(make([]float32, sp.Size()), sp.Dims...))
	}
	return st
}

// Batch is one meta-batch on the host.
type Batch struct {
	Support, Query *models.Set
	Domain         []int32
	// With a ranking score: negatives sampled from each task's domain
	// (features only) and the query's positive weights, [T*Q].
	Neg *models.Set
	Pos []float32
}

// Run takes one meta-step, replacing st's tensors, and returns the mean
// query loss after adaptation (before the update).
func (s *Stepper) Run(st *State, cat *models.Catalog, b *Batch) (loss float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("meta-step: %v", r)
		}
	}()
	t := float64(st.Steps + 1)
	lrT := s.Step.OuterLR * math.Sqrt(1-math.Pow(s.Step.Beta2, t)) / (1 - math.Pow(s.Step.Beta1, t))
	args := make([]any, 0, 3*len(st.Params)+2*models.SetInputs+2)
	for _, l := range [][]*tensors.Tensor{st.Params, st.M, st.V} {
		for _, x := range l {
			args = append(args, x)
		}
	}
	args = append(args, tensors.FromScalar(float32(lrT)))
	for _, x := range cat.Tensors(b.Support) {
		args = append(args, x)
	}
	for _, x := range cat.Tensors(b.Query) {
		args = append(args, x)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(b.Domain, len(b.Domain)))
	if s.Model.Rank {
		if b.Neg == nil || len(b.Pos) != len(b.Query.R) {
			return 0, fmt.Errorf("meta-step: the model ranks, and the batch has no negatives or positive weights")
		}
		for _, x := range cat.Tensors(b.Neg) {
			args = append(args, x)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(b.Pos, b.Query.Feats.T, b.Query.Feats.N))
	}
	out, err := s.exec.Exec(args...)
	if err != nil {
		return 0, err
	}
	nv := len(st.Params)
	old := [][]*tensors.Tensor{st.Params, st.M, st.V}
	st.Params, st.M, st.V = out[:nv], out[nv:2*nv], out[2*nv:3*nv]
	for _, l := range old {
		for _, x := range l {
			x.FinalizeAll()
		}
	}
	st.Steps++
	return scalar(out[3*nv]), nil
}

func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// Evaluate returns per-task squared-error sums, absolute-error sums and
// counts of the query after adaptation.
func (s *Stepper) Evaluate(st *State, cat *models.Catalog, b *Batch) (se, ae, n []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluate: %v", r)
		}
	}()
	args := make([]any, 0, len(st.Params)+2*models.SetInputs+1)
	for _, x := range st.Params {
		args = append(args, x)
	}
	for _, x := range cat.Tensors(b.Support) {
		args = append(args, x)
	}
	for _, x := range cat.Tensors(b.Query) {
		args = append(args, x)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(b.Domain, len(b.Domain)))
	out, err := s.eval.Exec(args...)
	if err != nil {
		return nil, nil, nil, err
	}
	return tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2]), nil
}

// Weights downloads the parameters.
func (s *Stepper) Weights(st *State) *models.Weights {
	w := &models.Weights{Specs: s.specs}
	for _, x := range st.Params {
		w.Values = append(w.Values, tensors.MustCopyFlatData[float32](x))
	}
	return w
}
