package vae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's graph DSL

	"github.com/crossrec/crossrec/lib/meta"
	"github.com/crossrec/crossrec/lib/tasks"
)

// The runs that start from a trained Mult-VAE (Options.Method), so each
// differs from it, and from each other, by one part.
//
// The plain Mult-VAE folds a new user in with one encoder pass. Adapting
// the folded-in latent on the support, by gradient steps on the support's
// own likelihood, is the fold-in MAML would meta-learn: one step adds
// W' diag(alpha) W x_S k^(pow-1) - W' diag(alpha) W p k^pow to the logits
// (W the decoder's item vectors, p its softmax): an item-item similarity
// through the decoder's own item vectors, minus the direction of what the
// model already predicts. Measured on books' validation users (session
// notes in docs/experiments.md), one such step at a fixed size already
// moves NDCG@10, and the best size grows with the support.
//
//   - Finetune: the trained Mult-VAE, adapted at test time by InnerSteps
//     steps whose size (alpha for every dimension, and pow) is chosen on
//     validation users from FinetuneGrid x {0, 0.5, 1}: pretrain, then
//     fine-tune, nothing meta-learned.
//   - MAML: the trained Mult-VAE trained further for MetaEpochs epochs on
//     episodes (a support of k items, k drawn from SupportKs; the query the
//     user's other items, its likelihood over the catalogue without the
//     support, what the evaluation ranks), through the inner steps: the
//     encoder, the decoder, each latent dimension's step size (Meta-SGD,
//     Li et al. 2017) and pow learn what the adapted latent must predict.
//     The step is written out in the graph (for a linear decoder the
//     gradient in z is -W(x_S - k p)/k), so the outer gradient through it
//     is exact second-order MAML.
//   - Joint: the same episodes and epochs-for-compute without the inner
//     loop, the control at the same architecture.
const (
	Plain    = ""
	Joint    = "joint"
	MAML     = "maml"
	Finetune = "finetune"
)

// finetunePows are the support-size exponents the Finetune run searches.
var finetunePows = []float64{0, 0.5, 1}

// selectNDCG is what the runs that start from a Mult-VAE select on: the
// mean over the support sizes ks of the validation users' NDCG@10 (the
// adaptation's best size depends on k, so one k would pick for one).
func selectNDCG(valid []tasks.Episode, ks []int, n int, net *Net) float64 {
	sum := 0.0
	for _, k := range ks {
		sum += meta.RankNDCG(valid, k, n, scoreInto(net))
	}
	return sum / float64(len(ks))
}

// metaDomain runs o.Method from pre, domain d's trained Mult-VAE (c is the
// run's config: with the inner steps for every method but Joint).
func metaDomain(b backends.Backend, c *Config, d int, users [][]int32, valid []tasks.Episode, o *Options, pre *domainResult) (*domainResult, error) {
	dom, n := c.Domains[d], c.Items[d]
	score := func(c *Config, vals [][]float32) float64 { return selectNDCG(valid, o.SupportKs, n, c.newNet(d, vals)) }
	out := &domainResult{}
	if o.Method == Joint {
		// The control trains without the inner loop, then takes the same
		// test-time step as the others, tuned on its own network.
		var err error
		if out, err = episodes(b, c, d, users, pre.Values, o, func(vals [][]float32) float64 { return score(c, vals) }); err != nil {
			return nil, err
		}
		ac := *c
		ac.InnerSteps = o.InnerSteps
		tuned, _, _ := tuneStep(&ac, d, out.Values, o, func(vals [][]float32) float64 { return score(&ac, vals) })
		out.Values = tuned
		return out, nil
	}
	vals, curve, at := tuneStep(c, d, pre.Values, o, func(vals [][]float32) float64 { return score(c, vals) })
	for i := range curve {
		curve[i].Domain = dom
	}
	if o.Method == Finetune {
		out.Values, out.Curve, out.BestEpoch = vals, curve, at
		return out, nil
	}
	return episodes(b, c, d, users, vals, o, func(vals [][]float32) float64 { return score(c, vals) })
}

// tuneStep appends to vals (the plain network's) the inner step size
// (alpha for every latent dimension, and pow) with the best validation
// score from o.FinetuneGrid x finetunePows; the curve has a point per
// setting tried in grid order (its epoch the setting's index), the plain
// network first as point 0; at is the chosen point.
func tuneStep(c *Config, d int, plain [][]float32, o *Options, score func([][]float32) float64) (best [][]float32, curve []CurvePoint, at int) {
	z := c.At(d).Latent
	vals := append(slices.Clone(plain), make([]float32, z), []float32{0}) // alpha 0: the plain network
	best, bestNDCG := vals, round(score(vals))
	curve = []CurvePoint{{Epoch: 0, ValidNDCG: bestNDCG}}
	for _, pow := range finetunePows {
		for _, a := range o.FinetuneGrid {
			try := slices.Clone(vals)
			try[len(try)-2] = slices.Repeat([]float32{float32(a)}, z)
			try[len(try)-1] = []float32{float32(pow)}
			v := round(score(try))
			curve = append(curve, CurvePoint{Epoch: len(curve), ValidNDCG: v})
			if v > bestNDCG {
				best, bestNDCG, at = try, v, len(curve)-1
			}
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "multvae %s %s: test-time step %g, pow %g: valid ndcg@10 over k %.4f (no step %.4f)\n",
			o.Method, c.Domains[d], best[len(vals)-2][0], best[len(vals)-1][0], bestNDCG, curve[0].ValidNDCG)
	}
	return best, curve, at
}

// episodes trains domain d's network from vals for o.MetaEpochs epochs on
// episodes (through the inner steps when c has them), scoring every epoch;
// the result is the best point, vals itself included as epoch 0.
func episodes(b backends.Backend, c *Config, d int, users [][]int32, vals [][]float32, o *Options, score func([][]float32) float64) (*domainResult, error) {
	dom, n := c.Domains[d], c.Items[d]
	var rows [][]int32
	for _, u := range users {
		if len(u) >= 2 { // an episode needs a support and a query
			rows = append(rows, u)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no training user with two items: no episode to train on")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x3e7a+uint64(d)))
	s, err := newStepper(b, c, d, true)
	if err != nil {
		return nil, err
	}
	st := newState(c.DomainVars(d), vals)
	z := c.At(d).Latent
	bt := &batch{b: o.Batch, items: n, latent: z, target: make([]float32, o.Batch*n), mask: make([]float32, o.Batch),
		eps: make([]float32, o.Batch*z), smask: make([]float32, o.Batch*n)}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	best := &domainResult{Values: vals}
	bestNDCG := round(score(vals))
	out := &domainResult{Curve: []CurvePoint{{Domain: dom, Epoch: 0, ValidNDCG: bestNDCG}}}
	perEpoch := (len(rows) + o.Batch - 1) / o.Batch
	var secs []float64
	for epoch := 1; epoch <= o.MetaEpochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var nllSum, klSum float64
		for at := 0; at < len(order); at += o.Batch {
			fillEpisodic(bt, rows, order[at:min(at+o.Batch, len(order))], o.SupportKs, rng)
			nll, kl, err := s.step(st, bt, o.MetaLR, o.BetaCap)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(nll) || math.IsNaN(kl) {
				return nil, fmt.Errorf("%s epoch %d: the loss is NaN (lower train.vae.meta_lr)", o.Method, epoch)
			}
			nllSum += nll
			klSum += kl
		}
		secs = append(secs, time.Since(start).Seconds())
		cur := st.values()
		p := CurvePoint{Domain: dom, Epoch: epoch, TrainNLL: round(nllSum / float64(perEpoch)), TrainKL: round(klSum / float64(perEpoch)), Beta: o.BetaCap, ValidNDCG: round(score(cur))}
		if p.ValidNDCG > bestNDCG {
			bestNDCG, best.Values, best.BestEpoch = p.ValidNDCG, cur, epoch
		}
		out.Curve = append(out.Curve, p)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "multvae %s %s: epoch %d/%d  query nll %.2f  valid ndcg@10 over k %.4f (best %.4f at epoch %d)  %.1f s/epoch\n",
				o.Method, dom, epoch, o.MetaEpochs, p.TrainNLL, p.ValidNDCG, bestNDCG, best.BestEpoch, median(secs))
		}
	}
	out.Values, out.BestEpoch, out.EpochSeconds = best.Values, best.BestEpoch, median(secs)
	return out, nil
}

// negMask is what an episodic graph adds to the support items' logits so
// the query's softmax runs over the rest of the catalogue (exp(-1e4)
// underflows to 0 in float32).
const negMask = -1e4

// adaptLatent takes the config's inner steps from the latent z [B,Z] on
// the support (smask [B,I], 1 on its items): each adds, per dimension,
// alpha times W(x_S - k p)/k, the descent direction of the support's mean
// negative log-likelihood. Net.adapt is the same step in plain Go.
func (s *stepper) adaptLatent(p []*Node, z, smask *Node) *Node {
	outW, outB, alpha, pow := p[6], p[7], p[8], p[9]
	k := ReduceSum(smask, 1) // [B]
	// k^pow / k per row, [B,1]; an empty support (x_S = 0, k = 0) takes no step.
	logK := Log(Max(k, OnesLike(k)))
	inv := InsertAxes(Exp(Sub(Mul(logK, Reshape(pow)), logK)), -1)
	for range s.c.InnerSteps {
		prob := Softmax(Add(matmul(z, outW), InsertAxes(outB, 0)), -1) // [B,I]
		g := Sub(smask, Mul(InsertAxes(k, -1), prob))                  // x_S - k p
		dz := DotGeneral(g, []int{1}, nil, outW, []int{1}, nil)        // [B,Z]
		z = Add(z, Mul(Mul(dz, inv), InsertAxes(alpha, 0)))
	}
	return z
}

// episodicLoss is the query's negative log-likelihood [B] for the latent
// z [B,Z]: the inner steps on the support first when the config has them,
// then the decoder's softmax with the support masked out, against the
// query counts target [B,I].
func (s *stepper) episodicLoss(p []*Node, z, smask, target *Node) *Node {
	if s.c.InnerSteps > 0 {
		z = s.adaptLatent(p, z, smask)
	}
	logits := Add(s.decode(p, z), MulScalar(smask, negMask))
	return Neg(ReduceSum(Mul(LogSoftmax(logits), target), 1))
}

// fillEpisodic builds a batch of episodes from the users at rows[idx...]:
// each user's items split at random into a support of k (drawn from ks,
// at most all but one item) and a query of the rest. The support is the
// encoder's input at weight 1/sqrt(k) (a unit-length binary vector, no
// dropout: the split is the corruption) and smask; the query is the
// target.
func fillEpisodic(bt *batch, rows [][]int32, idx []int, ks []int, rng *rand.Rand) {
	clear(bt.target)
	clear(bt.mask)
	clear(bt.smask)
	l := bt.pad(slices.Max(ks))
	for r, u := range idx {
		items := append([]int32(nil), rows[u]...)
		k := min(ks[rng.IntN(len(ks))], len(items)-1)
		for j := range k { // a partial Fisher-Yates shuffle: the first k are the support
			at := j + rng.IntN(len(items)-j)
			items[j], items[at] = items[at], items[j]
		}
		w := float32(1 / math.Sqrt(float64(k)))
		for j, it := range items {
			if j < k {
				bt.idx[r*l+j] = it
				bt.w[r*l+j] = w
				bt.smask[r*bt.items+int(it)] = 1
			} else {
				bt.target[r*bt.items+int(it)] = 1
			}
		}
		bt.mask[r] = 1
	}
	for i := range bt.eps {
		bt.eps[i] = float32(rng.NormFloat64())
	}
}
