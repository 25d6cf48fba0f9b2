package vae

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// TestInnerStepIsGradient: the inner step written out in the graph (and in
// Net.adapt) is the gradient GoMLX's autodiff takes of the support's mean
// negative log-likelihood in the latent, so the outer gradient through it
// is MAML's.
func TestInnerStepIsGradient(t *testing.T) {
	b := testBackend(t)
	const z, n = 5, 30
	c := Config{Hidden: 4, Latent: z, InnerSteps: 1, Domains: []string{"d"}, Items: []int{n}}
	s := &stepper{c: &c}
	rng := rand.New(rand.NewPCG(5, 6))
	vals := initValues(c.DomainVars(0), rng)
	alpha := vals[8]
	for i := range alpha {
		alpha[i] = 1
	}
	lat := make([]float32, 2*z)
	for i := range lat {
		lat[i] = float32(rng.NormFloat64())
	}
	smask := make([]float32, 2*n)
	for _, it := range []int{3, 7, 8} {
		smask[it] = 1
	}
	smask[n+29] = 1
	exec, err := NewExec(b, func(outW, outB, alpha, lat, smask *Node) (*Node, *Node) {
		p := make([]*Node, 10)
		p[6], p[7], p[8] = outW, outB, alpha
		p[9] = ZerosLike(Reshape(ReduceAllSum(alpha), 1)) // pow 0: the step of the mean likelihood
		step := Sub(s.adaptLatent(p, lat, smask), lat)
		logp := LogSoftmax(Add(matmul(lat, outW), InsertAxes(outB, 0)))
		nll := Neg(ReduceAllSum(Div(ReduceSum(Mul(logp, smask), 1), ReduceSum(smask, 1))))
		return step, Neg(Gradient(nll, lat)[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(vals[6], z, n), tensors.FromFlatDataAndDimensions(vals[7], n),
		tensors.FromFlatDataAndDimensions(alpha, z), tensors.FromFlatDataAndDimensions(lat, 2, z), tensors.FromFlatDataAndDimensions(smask, 2, n))
	if err != nil {
		t.Fatal(err)
	}
	step, grad := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	for i := range step {
		if math.Abs(float64(step[i]-grad[i])) > 1e-5*(1+math.Abs(float64(grad[i]))) || grad[i] == 0 {
			t.Fatalf("latent %d: the inner step is %g, autodiff's descent direction %g", i, step[i], grad[i])
		}
	}
}

// TestFillEpisodic: each row's support and query split the user's items,
// the support has the drawn size (at most all but one item) and is the
// encoder's input at weight 1/sqrt(k).
func TestFillEpisodic(t *testing.T) {
	rows := [][]int32{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11}, {12, 13, 14, 15}}
	const n = 16
	bt := &batch{b: 4, items: n, latent: 2, target: make([]float32, 4*n), mask: make([]float32, 4), eps: make([]float32, 8), smask: make([]float32, 4*n)}
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := map[int]bool{}
	for range 50 {
		fillEpisodic(bt, rows, []int{0, 1, 2}, []int{1, 3, 5}, rng)
		for r, u := range rows {
			k := 0
			for _, it := range u {
				s, q := bt.smask[r*n+int(it)], bt.target[r*n+int(it)]
				if s+q != 1 {
					t.Fatalf("user %d item %d: support %g, query %g", r, it, s, q)
				}
				k += int(s)
			}
			if k < 1 || k > len(u)-1 || (k != 1 && k != 3 && k != 5 && k != len(u)-1) {
				t.Fatalf("user %d of %d items: support of %d", r, len(u), k)
			}
			if r == 0 {
				sizes[k] = true
			}
			var in []int32
			for j := range bt.l {
				if bt.w[r*bt.l+j] != 0 {
					in = append(in, bt.idx[r*bt.l+j])
					if d := math.Abs(float64(bt.w[r*bt.l+j]) - 1/math.Sqrt(float64(k))); d > 1e-6 {
						t.Fatalf("user %d: input weight %g with a support of %d", r, bt.w[r*bt.l+j], k)
					}
				}
			}
			for _, it := range in {
				if bt.smask[r*n+int(it)] != 1 {
					t.Fatalf("user %d: input item %d is not in the support", r, it)
				}
			}
			if len(in) != k {
				t.Fatalf("user %d: %d input items, support of %d", r, len(in), k)
			}
		}
		if bt.mask[3] != 0 || slices.Max(bt.target[3*n:]) != 0 {
			t.Fatal("the padding row holds an episode")
		}
	}
	if len(sizes) != 3 {
		t.Fatalf("support sizes drawn for the 10-item user: %v, want 1, 3 and 5", sizes)
	}
}

// TestMethodsFromPlain: the runs that start from a trained Mult-VAE learn
// the clustered fixture's groups and reproduce bit for bit; the plain
// network is trained once for all of them (shared checkpoint); each adds
// the test-time step (Finetune and Joint from the grid, MAML learns it
// from there); Finetune leaves the plain network as it was; each no-inner
// ablation scores differently.
func TestMethodsFromPlain(t *testing.T) {
	b := testBackend(t)
	const nItems, group, k = 60, 10, 5
	items := itemTable(nItems)
	train := clustered(300, nItems, group, k, split.Train, 1)
	valid := clustered(60, nItems, group, k, split.Valid, 2)
	pre := t.TempDir()
	base := smallOptions()
	base.PretrainCheckpointDir = pre
	base.Epochs, base.EvalEvery, base.LR = 2, 1, 0.002 // a plain network short of the groups, so the runs from it have room
	plain, err := Train(b, items, train, valid, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{Joint, MAML, Finetune} {
		o := base
		o.Method, o.SupportKs, o.InnerSteps, o.MetaEpochs, o.MetaLR, o.FinetuneGrid = method, []int{1, 3, 5}, 1, 6, 0.01, []float64{0.1, 1, 10}
		var log strings.Builder
		o.Progress = &log
		res, err := Train(b, items, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "resumed from "+pre) {
			t.Fatalf("%s: the plain network was trained again: %q", method, log.String())
		}
		best := 0.0
		for _, p := range res.Curve {
			best = math.Max(best, p.ValidNDCG)
		}
		t.Logf("%s: validation NDCG@10 over k %.3f from the plain network, best %.3f at point %d", method, res.Curve[0].ValidNDCG, best, res.BestEpoch["d"])
		gain := 0.05 // the training runs; the fine-tuned one need only gain
		if method == Finetune {
			gain = 1e-6
		}
		if best < res.Curve[0].ValidNDCG+gain || res.BestEpoch["d"] == 0 {
			t.Fatalf("%s: best validation NDCG@10 %.3f at point %d, the plain network's %.3f", method, best, res.BestEpoch["d"], res.Curve[0].ValidNDCG)
		}
		o.Progress = nil
		o.PretrainCheckpointDir = ""
		again, err := Train(b, items, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Weights.Values {
			if !slices.Equal(res.Weights.Values[i], again.Weights.Values[i]) {
				t.Fatalf("%s: the same seed twice gave different %s", method, res.Weights.Specs[i].Name)
			}
		}
		m, err := NewModel("vae-"+method, res.Config, res.Weights)
		if err != nil {
			t.Fatal(err)
		}
		nv := len(res.Weights.Values)
		if nv != len(plain.Weights.Values)+2 {
			t.Fatalf("%s: %d parameters, the plain network's %d and the step's 2", method, nv, len(plain.Weights.Values))
		}
		for i := range nv - 2 {
			if method == Finetune && !slices.Equal(res.Weights.Values[i], plain.Weights.Values[i]) {
				t.Fatalf("finetune changed the plain network's %s", res.Weights.Specs[i].Name)
			}
		}
		alpha := res.Weights.Values[nv-2]
		if res.Weights.Specs[nv-2].Name != "d/"+InnerLR || res.Weights.Specs[nv-1].Name != "d/"+InnerPow {
			t.Fatalf("%s: last parameters %s, %s", method, res.Weights.Specs[nv-2].Name, res.Weights.Specs[nv-1].Name)
		}
		if method == MAML && slices.Contains([]float32{0, 0.1, 1, 10}, alpha[0]) {
			t.Fatalf("the step sizes did not train: %v", alpha)
		}
		if method != MAML && !slices.Contains([]float32{0, 0.1, 1, 10}, alpha[0]) {
			t.Fatalf("%s exported step size %g, not in its grid", method, alpha[0])
		}
		abl, err := m.Ablations()
		if err != nil || len(abl) != 1 || abl[0].Name() != "vae-"+method+"-no-inner" {
			t.Fatalf("ablations: %v, %v", abl, err)
		}
		cands := []int32{0, 11, 22, 33, 44, 55}
		sup := []tasks.Rated{{Item: 12}, {Item: 15}}
		a, _ := m.Score(0, sup, cands)
		c, _ := abl[0].Score(0, sup, cands)
		if slices.Equal(a, c) && alpha[0] != 0 {
			t.Fatal("the no-inner ablation scores as the adapted model")
		}
		if m.Nets[0].Steps != 1 {
			t.Fatal("the ablation switched the model's own inner loop off")
		}
	}
}

// TestMethodOptionsRefused: an inner loop needs a positive step size and
// the linear decoder; the runs from a Mult-VAE need support sizes, and
// training ones epochs and a step size.
func TestMethodOptionsRefused(t *testing.T) {
	b := testBackend(t)
	items := itemTable(40)
	train := clustered(20, 40, 10, 3, split.Train, 1)
	good := func(o *Options) {
		o.Method, o.SupportKs, o.InnerSteps, o.MetaEpochs, o.MetaLR, o.FinetuneGrid = MAML, []int{1}, 1, 2, 0.001, []float64{1}
	}
	for name, edit := range map[string]func(*Options){
		"unknown method":   func(o *Options) { o.Method = "reptile" },
		"no inner step":    func(o *Options) { o.InnerSteps = 0 },
		"no support sizes": func(o *Options) { o.SupportKs = nil },
		"no meta epochs":   func(o *Options) { o.MetaEpochs = 0 },
		"hidden decoder":   func(o *Options) { o.DecoderHidden = 4 },
		"empty grid":       func(o *Options) { o.Method, o.FinetuneGrid = Finetune, nil },
	} {
		o := smallOptions()
		good(&o)
		edit(&o)
		if _, err := Train(b, items, train, nil, o); err == nil {
			t.Errorf("%s: trained", name)
		}
	}
}
