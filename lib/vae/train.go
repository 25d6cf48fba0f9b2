package vae

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/checkpoint"
	"github.com/crossrec/crossrec/lib/meta"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Options configure one training run.
type Options struct {
	Hidden, Latent, DecoderHidden int
	Dropout                       float64 // input dropout
	BetaCap                       float64 // the KL weight's cap
	AnnealEpochs                  int     // epochs over which the KL weight grows linearly to BetaCap
	Epochs                        int
	Batch                         int // users per update
	LR                            float64
	// EvalEvery epochs the network is scored on the domain's
	// meta-validation users (meta.RankNDCG at support size SupportK); the
	// export keeps the best point's weights.
	EvalEvery int
	SupportK  int
	// Method: Plain (the paper's Mult-VAE), or one of the runs that start
	// from it (meta.go): Joint and MAML train it further on episodes (a
	// support of k items from SupportKs, the query the rest) for MetaEpochs
	// epochs at MetaLR, MAML through InnerSteps gradient steps of the
	// latent on the support (step sizes meta-learned from the step
	// Finetune chooses), Joint
	// without; Finetune adds the inner steps to it untrained, the step size
	// chosen from FinetuneGrid on validation. These runs select on the
	// mean validation NDCG@10 over SupportKs.
	Method       string
	SupportKs    []int
	InnerSteps   int
	MetaEpochs   int
	MetaLR       float64
	FinetuneGrid []float64
	// PretrainCheckpointDir, when set, keeps the plain Mult-VAE's finished
	// domains for every run of the same seed and settings: the plain run
	// and the runs that start from it train it once.
	PretrainCheckpointDir string
	Seed                  uint64
	// CheckpointDir, when set, keeps each finished domain's result there,
	// so a run stopped part-way resumes from the next domain. Tag is mixed
	// into the fingerprint (the stage passes its inputs' and program's
	// hashes), so a checkpoint never outlives the data or the code.
	CheckpointDir string
	Tag           string
	Progress      io.Writer
	// Domains overrides the plain network's step size and widths for one
	// domain, by name (each domain is its own network).
	Domains map[string]DomainOptions
}

// DomainOptions are one domain's settings where they differ from
// Options'; a zero field keeps Options' value.
type DomainOptions struct {
	LR     float64 `json:"lr,omitempty"`
	Hidden int     `json:"hidden,omitempty"`
	Latent int     `json:"latent,omitempty"`
}

// at is the options of domain dom's network, its overrides applied.
func (o *Options) at(dom string) Options {
	c := *o
	c.Domains = nil
	if do, ok := o.Domains[dom]; ok {
		c.LR = cmp.Or(do.LR, c.LR)
		c.Hidden = cmp.Or(do.Hidden, c.Hidden)
		c.Latent = cmp.Or(do.Latent, c.Latent)
	}
	return c
}

// CurvePoint is one point of a domain's training curve: no wall-clock time,
// so the curve is a deterministic output.
type CurvePoint struct {
	Domain    string  `json:"domain"`
	Epoch     int     `json:"epoch"`
	TrainNLL  float64 `json:"train_nll"` // mean over the epoch's updates (0 at epoch 0)
	TrainKL   float64 `json:"train_kl"`
	Beta      float64 `json:"beta"`       // the KL weight at the epoch's end
	ValidNDCG float64 `json:"valid_ndcg"` // meta.RankNDCG on the domain's meta-validation users
}

// Result is what a run produces.
type Result struct {
	Config    Config
	Weights   *models.Weights
	Curve     []CurvePoint
	BestEpoch map[string]int
	// EpochSeconds is the median wall time of an epoch per domain (not
	// deterministic: not for DVC outputs).
	EpochSeconds map[string]float64
}

func (o *Options) validate() error {
	if o.Hidden <= 0 || o.Latent <= 0 || o.DecoderHidden < 0 {
		return fmt.Errorf("multvae: hidden and latent must be positive, decoder_hidden not negative")
	}
	if o.Epochs <= 0 || o.Batch <= 0 || o.LR <= 0 || o.SupportK <= 0 {
		return fmt.Errorf("multvae: epochs, batch, lr and the support size must be positive")
	}
	if o.Dropout < 0 || o.Dropout >= 1 || o.BetaCap < 0 || o.AnnealEpochs < 0 {
		return fmt.Errorf("multvae: dropout must lie in [0, 1), beta_cap and anneal_epochs not negative")
	}
	switch o.Method {
	case Plain:
	case Joint, MAML, Finetune:
		if len(o.SupportKs) == 0 || slices.Min(o.SupportKs) <= 0 {
			return fmt.Errorf("multvae %s: needs positive support sizes (train.support_ks), got %v", o.Method, o.SupportKs)
		}
		if o.Method != Finetune && (o.MetaEpochs <= 0 || o.MetaLR <= 0) {
			return fmt.Errorf("multvae %s: meta_epochs (%d) and meta_lr (%g) must be positive", o.Method, o.MetaEpochs, o.MetaLR)
		}
		if o.InnerSteps <= 0 || o.DecoderHidden > 0 {
			return fmt.Errorf("multvae %s: needs inner_steps > 0 (got %d) and the linear decoder (decoder_hidden 0, got %d)", o.Method, o.InnerSteps, o.DecoderHidden)
		}
		if o.Method == Finetune && (len(o.FinetuneGrid) == 0 || slices.Min(o.FinetuneGrid) < 0) {
			return fmt.Errorf("multvae finetune: needs a grid of step sizes, not negative, got %v", o.FinetuneGrid)
		}
	default:
		return fmt.Errorf("multvae: method %q: want none, joint, maml or finetune", o.Method)
	}
	for dom, do := range o.Domains {
		if do.LR < 0 || do.Hidden < 0 || do.Latent < 0 {
			return fmt.Errorf("multvae: domain %s: lr (%g), hidden (%d) and latent (%d) must not be negative", dom, do.LR, do.Hidden, do.Latent)
		}
	}
	if o.EvalEvery <= 0 || o.Epochs%o.EvalEvery != 0 {
		return fmt.Errorf("multvae: epochs (%d) must be a positive multiple of eval_every (%d)", o.Epochs, o.EvalEvery)
	}
	return nil
}

// fingerprint identifies the options a checkpoint belongs to.
func (o *Options) fingerprint() string {
	c := *o
	c.Progress, c.CheckpointDir, c.PretrainCheckpointDir = nil, "", ""
	return checkpoint.Fingerprint(c)
}

// plain are the options of the Mult-VAE a run starts from.
func (o *Options) plain() Options {
	c := *o
	c.Method, c.SupportKs, c.InnerSteps, c.MetaEpochs, c.MetaLR, c.FinetuneGrid = Plain, nil, 0, 0, 0, nil
	return c
}

// Train fits one network per domain on the meta-train episodes' item sets
// (support and query alike: a training user is all of their items) and
// selects each domain's exported epoch on its meta-validation users.
func Train(b backends.Backend, items *tasks.ItemTable, train, valid []tasks.Episode, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := Config{Hidden: o.Hidden, Latent: o.Latent, DecoderHidden: o.DecoderHidden}
	if o.Method != Plain {
		c.InnerSteps = o.InnerSteps // every run from the plain network adapts at test time
	}
	for _, d := range items.Domains {
		c.Domains = append(c.Domains, d.Name)
		c.Items = append(c.Items, len(d.IDs))
	}
	// Every name is checked before any is used: one loop that stopped at
	// the first width override let a misspelt name after it through.
	widths := false
	for _, dom := range slices.Sorted(maps.Keys(o.Domains)) {
		if !slices.Contains(c.Domains, dom) {
			return nil, fmt.Errorf("multvae: train.vae.domains names %q, not a domain of the task files (%s)", dom, strings.Join(c.Domains, ", "))
		}
		if do := o.Domains[dom]; do.Hidden > 0 || do.Latent > 0 {
			widths = true
		}
	}
	if widths {
		for _, name := range c.Domains {
			do := o.at(name)
			c.Widths = append(c.Widths, Widths{Hidden: do.Hidden, Latent: do.Latent})
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t, err := baselines.NewTrain(train, c.Items)
	if err != nil {
		return nil, err
	}
	res := &Result{Config: c, Weights: &models.Weights{}, BestEpoch: map[string]int{}, EpochSeconds: map[string]float64{}}
	for d, dom := range c.Domains {
		// Each domain's checkpoints are keyed on its own settings, so
		// retuning one domain leaves the others' trained networks valid.
		o := o.at(dom)
		fp := o.fingerprint()
		var dv []tasks.Episode
		for _, e := range valid {
			if int(e.DomainIndex) == d {
				dv = append(dv, e)
			}
		}
		plain, pc := o.plain(), c
		pc.InnerSteps = 0
		pre, err := trainCached(cmp.Or(o.PretrainCheckpointDir, o.CheckpointDir), dom, plain.fingerprint(), o.Progress, func() (*domainResult, error) {
			return trainDomain(b, &pc, d, t.UserItems(d), dv, &plain)
		})
		if err != nil {
			return nil, fmt.Errorf("multvae %s: %w", dom, err)
		}
		dr := pre
		if o.Method != Plain {
			if dr, err = trainCached(o.CheckpointDir, dom, fp, o.Progress, func() (*domainResult, error) {
				mc := c // Joint trains without the inner loop
				if o.Method == Joint {
					mc.InnerSteps = 0
				}
				return metaDomain(b, &mc, d, t.UserItems(d), dv, &o, pre)
			}); err != nil {
				return nil, fmt.Errorf("multvae %s %s: %w", o.Method, dom, err)
			}
		}
		for i, s := range c.DomainVars(d) {
			s.Name = dom + "/" + s.Name
			res.Weights.Specs = append(res.Weights.Specs, s)
			res.Weights.Values = append(res.Weights.Values, dr.Values[i])
		}
		res.Curve = append(res.Curve, dr.Curve...)
		res.BestEpoch[dom] = dr.BestEpoch
		res.EpochSeconds[dom] = dr.EpochSeconds
	}
	return res, nil
}

// trainCached returns the domain's result from the checkpoint in dir when
// it holds one for fingerprint fp, else trains it and saves it there.
func trainCached(dir, dom, fp string, progress io.Writer, train func() (*domainResult, error)) (*domainResult, error) {
	dr := &domainResult{}
	ok, err := checkpoint.Load(checkpoint.Path(dir, dom), fp, dr)
	if err != nil {
		return nil, err
	}
	if ok {
		if progress != nil {
			fmt.Fprintf(progress, "multvae %s: resumed from %s\n", dom, dir)
		}
		return dr, nil
	}
	if dr, err = train(); err != nil {
		return nil, err
	}
	return dr, checkpoint.Save(checkpoint.Path(dir, dom), fp, dr)
}

// domainResult is one domain's trained network and curve (also the
// checkpoint's content).
type domainResult struct {
	Values       [][]float32
	Curve        []CurvePoint
	BestEpoch    int
	EpochSeconds float64
}

func trainDomain(b backends.Backend, c *Config, d int, users [][]int32, valid []tasks.Episode, o *Options) (*domainResult, error) {
	dom := c.Domains[d]
	var rows [][]int32
	for _, u := range users {
		if len(u) > 0 {
			rows = append(rows, u)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no training users: a Mult-VAE cannot model a domain it has never seen")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7ae0+uint64(d)))
	specs := c.DomainVars(d)
	vals := initValues(specs, rng)
	s, err := newStepper(b, c, d, false)
	if err != nil {
		return nil, err
	}
	st := newState(specs, vals)
	n := c.Items[d]
	score := func(vals [][]float32) float64 {
		net := c.newNet(d, vals)
		return meta.RankNDCG(valid, o.SupportK, n, scoreInto(net))
	}
	best := &domainResult{Values: vals, BestEpoch: 0}
	bestNDCG := score(vals)
	out := &domainResult{Curve: []CurvePoint{{Domain: dom, Epoch: 0, ValidNDCG: round(bestNDCG)}}}
	perEpoch := (len(rows) + o.Batch - 1) / o.Batch
	annealUpdates := o.AnnealEpochs * perEpoch
	z := c.At(d).Latent
	bt := &batch{b: o.Batch, items: n, latent: z, target: make([]float32, o.Batch*n), mask: make([]float32, o.Batch), eps: make([]float32, o.Batch*z)}

	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	var secs []float64
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var nllSum, klSum float64
		beta := 0.0
		for at := 0; at < len(order); at += o.Batch {
			beta = o.BetaCap
			if annealUpdates > 0 {
				beta = math.Min(o.BetaCap, o.BetaCap*float64(st.steps+1)/float64(annealUpdates))
			}
			fill(bt, rows, order[at:min(at+o.Batch, len(order))], o.Dropout, rng)
			nll, kl, err := s.step(st, bt, o.LR, beta)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(nll) || math.IsNaN(kl) {
				return nil, fmt.Errorf("epoch %d: the loss is NaN (lower train.vae.lr)", epoch)
			}
			nllSum += nll
			klSum += kl
		}
		secs = append(secs, time.Since(start).Seconds())
		p := CurvePoint{Domain: dom, Epoch: epoch, TrainNLL: round(nllSum / float64(perEpoch)), TrainKL: round(klSum / float64(perEpoch)), Beta: round(beta)}
		if epoch%o.EvalEvery == 0 {
			cur := st.values()
			p.ValidNDCG = round(score(cur))
			if p.ValidNDCG > bestNDCG {
				bestNDCG, best.Values, best.BestEpoch = p.ValidNDCG, cur, epoch
			}
			out.Curve = append(out.Curve, p)
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "multvae %s: epoch %d/%d  nll %.2f  kl %.2f  beta %.3f  valid ndcg@10 %.4f (best %.4f at epoch %d)  %.1f s/epoch\n",
					dom, epoch, o.Epochs, p.TrainNLL, p.TrainKL, beta, p.ValidNDCG, bestNDCG, best.BestEpoch, median(secs))
			}
		}
	}
	out.Values, out.BestEpoch, out.EpochSeconds = best.Values, best.BestEpoch, median(secs)
	return out, nil
}

// scoreInto adapts a network to meta.RankNDCG's scoring callback.
func scoreInto(net *Net) func([]tasks.Rated, []float64) {
	logits := make([]float32, net.Items)
	items := []int32{}
	return func(support []tasks.Rated, out []float64) {
		items = items[:0]
		for _, x := range support {
			items = append(items, x.Item)
		}
		set, w, err := net.Input(items)
		if err != nil {
			panic(err) // validation items come from the task files, checked on load
		}
		net.Logits(set, w, logits)
		for i, v := range logits {
			out[i] = float64(v)
		}
	}
}

// pad sizes the batch's item axis for rows of up to longest items: a power
// of two from 8 (so the graph is compiled for a handful of shapes), with
// fresh index and weight arrays; it returns the length.
func (bt *batch) pad(longest int) int {
	bt.l = 8
	for bt.l < longest {
		bt.l *= 2
	}
	bt.idx = make([]int32, bt.b*bt.l)
	bt.w = make([]float32, bt.b*bt.l)
	return bt.l
}

// fill builds a batch from the users at rows[idx...]: each user's items,
// kept with probability 1 - dropout, weigh 1/sqrt(count)/(1 - dropout)
// (the unit-length input, then inverted dropout, as the paper's code
// does); the target is the whole item set. Rows past len(idx) are padding
// (mask 0). The item axis is padded to a power of two, so the graph is
// compiled for a handful of shapes.
func fill(bt *batch, rows [][]int32, idx []int, dropout float64, rng *rand.Rand) {
	clear(bt.target)
	clear(bt.mask)
	kept := make([][]int32, len(idx))
	longest := 1
	for r, u := range idx {
		for _, it := range rows[u] {
			if dropout == 0 || rng.Float64() >= dropout {
				kept[r] = append(kept[r], it)
			}
			bt.target[r*bt.items+int(it)] = 1
		}
		bt.mask[r] = 1
		longest = max(longest, len(kept[r]))
	}
	l := bt.pad(longest)
	for r, u := range idx {
		w := float32(1 / math.Sqrt(float64(len(rows[u]))) / (1 - dropout))
		for j, it := range kept[r] {
			bt.idx[r*l+j] = it
			bt.w[r*l+j] = w
		}
	}
	for i := range bt.eps {
		bt.eps[i] = float32(rng.NormFloat64())
	}
}

// initValues draws the initial weights as the paper does: Xavier-uniform
// matrices, biases from a normal of std 0.001.
func initValues(specs []models.VarSpec, rng *rand.Rand) [][]float32 {
	out := make([][]float32, len(specs))
	for i, s := range specs {
		v := make([]float32, s.Size())
		if len(s.Dims) == 2 {
			a := math.Sqrt(6 / float64(s.Dims[0]+s.Dims[1]))
			for j := range v {
				v[j] = float32((2*rng.Float64() - 1) * a)
			}
		} else {
			for j := range v {
				v[j] = float32(rng.NormFloat64() * 0.001)
			}
		}
		out[i] = v
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }
