package gnn

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/checkpoint"
	"github.com/crossrec/crossrec/lib/meta"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Options configure one training run.
type Options struct {
	Dim, Layers int
	Epochs      int
	Batch       int     // BPR triples per update
	LR          float64 // Adam step size
	L2          float64 // weight of the squared norm of a batch's layer-0 rows, per triple (the paper's lambda)
	// UserEmbeddings gives training users a layer-0 row, as the paper does;
	// without it a training user starts at zero as a new user does, so
	// training and fold-in embed users alike.
	UserEmbeddings bool
	// EvalEvery epochs each domain's meta-validation users are scored by
	// the fold-in (meta.RankNDCG at support size SupportK); each group
	// exports the point with the best mean over its domains.
	EvalEvery int
	SupportK  int
	Seed      uint64
	// PriorKs are the support sizes the fold-in's prior is tuned at
	// (prior.go) on valid and, for the domains they target, on Cross (the
	// cross-domain validation episodes); none tunes no prior.
	PriorKs       []int
	Cross         []tasks.Episode `json:"-"`
	CheckpointDir string          // a finished group's result is kept there (resume)
	Tag           string          // mixed into the checkpoint fingerprint
	Progress      io.Writer
}

// CurvePoint is one validation point of a group's training.
type CurvePoint struct {
	Group     string             `json:"group"`
	Epoch     int                `json:"epoch"`
	TrainBPR  float64            `json:"train_bpr"` // mean BPR loss over the epoch's updates (0 at epoch 0)
	ValidNDCG float64            `json:"valid_ndcg"`
	Domain    map[string]float64 `json:"domain_ndcg"`
}

// Result is what a run produces.
type Result struct {
	Config    Config
	Weights   *models.Weights
	Curve     []CurvePoint
	BestEpoch map[string]int // per group (domains joined by "+")
	// EpochSeconds: median wall time of an epoch per group (not
	// deterministic: not for DVC outputs).
	EpochSeconds map[string]float64
}

func (o *Options) validate() error {
	if o.Dim <= 0 || o.Layers <= 0 || o.Epochs <= 0 || o.Batch <= 0 || o.LR <= 0 || o.L2 < 0 || o.SupportK <= 0 {
		return fmt.Errorf("lightgcn: dim, layers, epochs, batch, lr and the support size must be positive, l2 not negative")
	}
	if o.EvalEvery <= 0 || o.Epochs%o.EvalEvery != 0 {
		return fmt.Errorf("lightgcn: epochs (%d) must be a positive multiple of eval_every (%d)", o.Epochs, o.EvalEvery)
	}
	return nil
}

// fingerprint identifies the options a checkpoint belongs to.
func (o *Options) fingerprint() string {
	c := *o
	c.Progress, c.CheckpointDir = nil, ""
	return checkpoint.Fingerprint(c)
}

// Train fits one graph per group of domains on the meta-train episodes
// (support and query alike are a training user's edges).
func Train(items *tasks.ItemTable, train, valid []tasks.Episode, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := Config{Dim: o.Dim, Layers: o.Layers}
	for _, d := range items.Domains {
		c.Domains = append(c.Domains, d.Name)
		c.Items = append(c.Items, len(d.IDs))
	}
	t, err := baselines.NewTrain(train, c.Items)
	if err != nil {
		return nil, err
	}
	c.Groups = Groups(t)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	res := &Result{Config: c, BestEpoch: map[string]int{}, EpochSeconds: map[string]float64{}}
	tensors := make([][][]float32, len(c.Domains)) // per domain: final, layers, degree
	fp := o.fingerprint()
	for _, g := range c.Groups {
		name := groupName(&c, g)
		gr := NewGraph(t, g)
		if err := gr.check(); err != nil {
			return nil, fmt.Errorf("lightgcn %s: %w", name, err)
		}
		gres := &groupResult{}
		ok, err := checkpoint.Load(checkpoint.Path(o.CheckpointDir, name), fp, gres)
		if err != nil {
			return nil, err
		}
		if !ok {
			if gres, err = trainGroup(&c, gr, name, valid, &o); err != nil {
				return nil, fmt.Errorf("lightgcn %s: %w", name, err)
			}
			if err := checkpoint.Save(checkpoint.Path(o.CheckpointDir, name), fp, gres); err != nil {
				return nil, err
			}
		} else if o.Progress != nil {
			fmt.Fprintf(o.Progress, "lightgcn %s: resumed from %s\n", name, o.CheckpointDir)
		}
		for gi, d := range g {
			tensors[d] = gres.Tensors[gi]
		}
		res.Curve = append(res.Curve, gres.Curve...)
		res.BestEpoch[name] = gres.BestEpoch
		res.EpochSeconds[name] = gres.EpochSeconds
	}
	res.Weights = &models.Weights{Specs: c.Vars()}
	for d := range c.Domains {
		res.Weights.Values = append(res.Weights.Values, tensors[d]...)
	}
	if len(o.PriorKs) > 0 {
		// Tuned on the exported epoch's item side, after any resume: the
		// checkpoint holds what training alone decides.
		m, err := NewModel("prior", c, res.Weights)
		if err != nil {
			return nil, err
		}
		if res.Config.Priors, err = TunePriors(m, valid, o.Cross, o.PriorKs); err != nil {
			return nil, err
		}
		if o.Progress != nil {
			for d, p := range res.Config.Priors {
				fmt.Fprintf(o.Progress, "lightgcn %s: prior gamma %v at K %v; with a source: weight %v, gamma %v at K %v\n",
					c.Domains[d], p.Gamma, p.Ks, p.CrossSource, p.CrossGamma, p.CrossKs)
			}
		}
	}
	return res, nil
}

func groupName(c *Config, g []int) string {
	names := make([]string, len(g))
	for i, d := range g {
		names[i] = c.Domains[d]
	}
	return strings.Join(names, "+")
}

// groupResult is one group's exported tensors (per group domain: final,
// layers, degree) and curve; also the checkpoint's content.
type groupResult struct {
	Tensors      [][][]float32
	Curve        []CurvePoint
	BestEpoch    int
	EpochSeconds float64
}

// exportItems computes the item side a new user is scored with from the
// layer-0 embeddings e.
func exportItems(c *Config, gr *Graph, e []float32) [][][]float32 {
	dim, l := c.Dim, c.Layers
	layers := make([][]float32, l)
	for k := range layers {
		layers[k] = make([]float32, len(e))
	}
	final := gr.smooth(e, dim, l, layers)
	out := make([][][]float32, len(gr.Domains))
	for gi := range gr.Domains {
		n := gr.Items[gi]
		lo := (gr.Users + gr.ItemOffset[gi]) * dim
		f := slices.Clone(final[lo : lo+n*dim])
		ls := make([]float32, 0, l*n*dim)
		for k := range l {
			ls = append(ls, layers[k][lo:lo+n*dim]...)
		}
		deg := make([]float32, n)
		for i := range deg {
			deg[i] = float32(gr.Degree[gr.Users+gr.ItemOffset[gi]+i])
		}
		out[gi] = [][]float32{f, ls, deg}
	}
	return out
}

// validate scores the group's domains' meta-validation users through the
// exported form (what a new user meets).
func validate(c *Config, gr *Graph, tens [][][]float32, valid []tasks.Episode, k int) (float64, map[string]float64, error) {
	sub := Config{Dim: c.Dim, Layers: c.Layers, Groups: [][]int{{}}}
	w := &models.Weights{}
	for gi, d := range gr.Domains {
		sub.Domains = append(sub.Domains, c.Domains[d])
		sub.Items = append(sub.Items, c.Items[d])
		sub.Groups[0] = append(sub.Groups[0], gi)
		w.Values = append(w.Values, tens[gi]...)
	}
	w.Specs = sub.Vars()
	m, err := NewModel("validation", sub, w)
	if err != nil {
		return 0, nil, err
	}
	per := map[string]float64{}
	sum := 0.0
	for gi, d := range gr.Domains {
		var eps []tasks.Episode
		for _, e := range valid {
			if int(e.DomainIndex) == d {
				eps = append(eps, e)
			}
		}
		n := c.Items[d]
		cands := make([]int32, n)
		for i := range cands {
			cands[i] = int32(i)
		}
		var scoreErr error
		v := meta.RankNDCG(eps, k, n, func(support []tasks.Rated, out []float64) {
			s, err := m.Score(int32(gi), support, cands)
			if err != nil {
				scoreErr = err
				return
			}
			for i, x := range s {
				out[i] = float64(x)
			}
		})
		if scoreErr != nil {
			return 0, nil, scoreErr
		}
		per[c.Domains[d]] = round(v)
		sum += v
	}
	return round(sum / float64(len(gr.Domains))), per, nil
}

func trainGroup(c *Config, gr *Graph, name string, valid []tasks.Episode, o *Options) (*groupResult, error) {
	dim := c.Dim
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c67+uint64(gr.Domains[0])))
	// Layer-0 rows from a normal of std 0.1, as the authors' code starts
	// them; without user embeddings the user rows stay zero.
	e := make([]float32, gr.Nodes*dim)
	for i := range e {
		e[i] = float32(rng.NormFloat64() * 0.1)
	}
	if !o.UserEmbeddings {
		clear(e[:gr.Users*dim])
	}
	m1, m2 := make([]float32, len(e)), make([]float32, len(e))
	tens := exportItems(c, gr, e)
	bestNDCG, per, err := validate(c, gr, tens, valid, o.SupportK)
	if err != nil {
		return nil, err
	}
	out := &groupResult{Tensors: tens, Curve: []CurvePoint{{Group: name, Epoch: 0, ValidNDCG: bestNDCG, Domain: per}}}
	nEdges := len(gr.EdgeUser)
	order := make([]int, nEdges)
	for i := range order {
		order[i] = i
	}
	itemDomain := func(node int32) int {
		at := int(node) - gr.Users
		for gi := len(gr.ItemOffset) - 1; gi >= 0; gi-- {
			if at >= gr.ItemOffset[gi] {
				return gi
			}
		}
		return 0
	}
	grad := make([]float32, len(e))
	var us, is, negs []int32
	steps := 0
	var secs []float64
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(nEdges, func(i, j int) { order[i], order[j] = order[j], order[i] })
		lossSum, updates := 0.0, 0
		for at := 0; at < nEdges; at += o.Batch {
			batch := order[at:min(at+o.Batch, nEdges)]
			f := gr.smooth(e, dim, c.Layers, nil)
			inv := float32(1) / float32(len(batch))
			us, is = us[:0], is[:0]
			negs = negs[:0]
			for _, b := range batch {
				u, i := gr.EdgeUser[b], gr.EdgeItem[b]
				gi := itemDomain(i)
				var j int32
				for try := 0; try < 20; try++ {
					j = int32(gr.Users+gr.ItemOffset[gi]) + int32(rng.IntN(gr.Items[gi]))
					if !gr.Positive[u][j] {
						break
					}
				}
				us, is, negs = append(us, u), append(is, i), append(negs, j)
			}
			loss := bpr(f, grad, dim, us, is, negs)
			g0 := gr.smooth(grad, dim, c.Layers, nil)
			if o.L2 > 0 {
				l2 := float32(o.L2) * inv
				for t, b := range batch {
					for _, n := range []int32{gr.EdgeUser[b], gr.EdgeItem[b], negs[t]} {
						row, src := g0[int(n)*dim:][:dim], e[int(n)*dim:][:dim]
						for k := range dim {
							row[k] += l2 * src[k]
						}
					}
				}
			}
			if !o.UserEmbeddings {
				clear(g0[:gr.Users*dim])
			}
			steps++
			adam(e, g0, m1, m2, o.LR, steps)
			lossSum += loss
			updates++
		}
		secs = append(secs, time.Since(start).Seconds())
		if epoch%o.EvalEvery != 0 {
			continue
		}
		if math.IsNaN(lossSum) {
			return nil, fmt.Errorf("epoch %d: the loss is NaN (lower train.gnn.lr)", epoch)
		}
		tens := exportItems(c, gr, e)
		v, per, err := validate(c, gr, tens, valid, o.SupportK)
		if err != nil {
			return nil, err
		}
		p := CurvePoint{Group: name, Epoch: epoch, TrainBPR: round(lossSum / float64(updates)), ValidNDCG: v, Domain: per}
		out.Curve = append(out.Curve, p)
		if v > bestNDCG {
			bestNDCG, out.Tensors, out.BestEpoch = v, tens, epoch
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "lightgcn %s: epoch %d/%d  bpr %.4f  valid ndcg@10 %.4f %v (best %.4f at epoch %d)  %.2f s/epoch\n",
				name, epoch, o.Epochs, p.TrainBPR, v, per, bestNDCG, out.BestEpoch, median(secs))
		}
	}
	out.EpochSeconds = median(secs)
	return out, nil
}

// bpr sets grad to the gradient, with respect to the final embeddings f,
// of the mean BPR loss of the triples (u[t] prefers i[t] to j[t]) and
// returns that loss: -log sigmoid(f_u . (f_i - f_j)).
func bpr(f, grad []float32, dim int, u, i, j []int32) float64 {
	clear(grad)
	inv := 1 / float64(len(u))
	var loss float64
	for t := range u {
		fu, fi, fj := f[int(u[t])*dim:][:dim], f[int(i[t])*dim:][:dim], f[int(j[t])*dim:][:dim]
		var x float64
		for k := range dim {
			x += float64(fu[k] * (fi[k] - fj[k]))
		}
		// -log sigmoid(x) computed stably; its derivative is -sigmoid(-x).
		loss += math.Log1p(math.Exp(-math.Abs(x))) + math.Max(-x, 0)
		g := float32(-inv / (1 + math.Exp(x)))
		gu, gi, gj := grad[int(u[t])*dim:][:dim], grad[int(i[t])*dim:][:dim], grad[int(j[t])*dim:][:dim]
		for k := range dim {
			gu[k] += g * (fi[k] - fj[k])
			gi[k] += g * fu[k]
			gj[k] -= g * fu[k]
		}
	}
	return loss * inv
}

// adam takes one Adam step (the paper's optimiser, default moments).
func adam(x, g, m, v []float32, lr float64, t int) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	lrT := float32(lr * math.Sqrt(1-math.Pow(b2, float64(t))) / (1 - math.Pow(b1, float64(t))))
	for i, gi := range g {
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		x[i] -= lrT * m[i] / (float32(math.Sqrt(float64(v[i]))) + eps)
	}
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
