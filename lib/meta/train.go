package meta

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/models"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Options configure one training run.
type Options struct {
	Model     models.Config // Shape is filled from the catalogue
	Step      StepConfig
	Seed      uint64
	Steps     int // outer steps
	MetaBatch int // tasks per step
	SupportK  int // support entries per task (the first K)
	// SupportKs, when set, draws each training task's support size from
	// these values (capped at SupportK), so the initialisation and step
	// sizes are meta-learned for the support sizes new users come with;
	// validation stays at SupportK.
	SupportKs []int
	QueryMax  int // query entries sampled per task and step
	// ExcludeDomain leaves one domain's tasks out (leave-one-domain-out).
	ExcludeDomain string
	EvalEvery     int // steps between validation points (0: only at the end)
	EvalTasks     int // validation tasks per point (0: all)
	EvalQuery     int // query entries scored per validation task
	// Biases, when set, start the domain, item and user-bias shrinkage
	// parameters at a fitted bias model (the evaluation's tuned user-bias
	// baseline) instead of the trainer's own simple fit.
	Biases *BiasInit
	// Negatives is how many items per task the ranking loss samples from
	// the task's domain (models with Config.Rank).
	Negatives int
	// CooccurGrid: the weights of the fitted co-occurrence similarity in
	// the ranking score tried per domain (setRankItems); empty: none.
	CooccurGrid []float64
	// KeepBest returns the weights of the validation point with the lowest
	// MAE instead of the last ones (model selection on meta-validation
	// users, never on test users).
	KeepBest bool
	// CheckpointDir, when set, holds a resumable checkpoint written every
	// CheckpointEvery steps; a run with the same options resumes from it.
	CheckpointDir   string
	CheckpointEvery int
	// Tag is mixed into the checkpoint's fingerprint: the stage passes the
	// hashes of its inputs and of its program, so a checkpoint never
	// outlives the data or the code.
	Tag      string
	Progress io.Writer // progress bar (nil: none)
}

// BiasInit is a fitted bias model mu_d + b_i + b_u, b_u = sum of support
// residuals / (LambdaU_d + K): per domain, Mu, the item biases Bi (by
// item index) and the user shrinkage LambdaU.
type BiasInit struct {
	Mu      []float64
	Bi      [][]float64
	LambdaU []float64
}

// CurvePoint is one row of the training curve. It holds no wall-clock
// time, so the curve is a deterministic output.
type CurvePoint struct {
	Step      int     `json:"step"`
	TrainLoss float64 `json:"train_loss"` // mean query MSE after adaptation, over the steps since the last point
	ValidMSE  float64 `json:"valid_mse"`
	ValidMAE  float64 `json:"valid_mae"`
	// DomainMAE is the validation MAE of each domain that has validation
	// tasks; ValidRel is their mean relative to the first point's
	// (1 = no better than the untrained model), what keep_best selects by.
	DomainMAE map[string]float64 `json:"domain_mae"`
	ValidRel  float64            `json:"valid_rel_mae"`
}

// Result is what a run produces.
type Result struct {
	Model    models.Config // as trained: the catalogue's shape filled in, RankWeight 0 where nothing needed the content score
	Weights  *models.Weights
	Curve    []CurvePoint
	BestStep int
	Seconds  float64 // training wall time (not deterministic: not for DVC outputs)
	StepSecs float64 // median seconds per meta-step
}

// fingerprint identifies the options a checkpoint belongs to.
func (o *Options) fingerprint() string {
	c := *o
	// Steps is left out: a longer run resumes from a shorter one's state
	// (the outer step size is constant, so that is the same run extended).
	c.Progress, c.CheckpointDir, c.CheckpointEvery, c.Steps = nil, "", 0, 0
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Train runs the outer loop over tasks of train (minus the excluded
// domain), validating on valid.
func Train(b backends.Backend, cat *models.Catalog, train, valid []tasks.Episode, o Options) (*Result, error) {
	o.Model.Shape = cat.Shape()
	if o.MetaBatch <= 0 || o.SupportK <= 0 || o.QueryMax <= 0 || o.Steps < 0 {
		return nil, fmt.Errorf("train: meta_batch, support_k and query_max must be positive, steps not negative")
	}
	if o.Model.Rank && o.Model.RankWeight > 0 && o.Negatives <= 0 {
		return nil, fmt.Errorf("train: the model ranks: negatives must be positive")
	}
	if o.EvalEvery > 0 && o.Steps%o.EvalEvery != 0 {
		return nil, fmt.Errorf("train: steps (%d) must be a multiple of eval_every (%d), so the last step is a curve point", o.Steps, o.EvalEvery)
	}
	train = FilterDomain(train, o.ExcludeDomain)
	valid = FilterDomain(valid, o.ExcludeDomain)
	if len(train) == 0 {
		return nil, fmt.Errorf("train: no training tasks (excluded domain %q)", o.ExcludeDomain)
	}
	if o.Model.Rank && o.Model.RankWeight > 0 && !slices.Contains(uncovered(cat, train), true) {
		// Every domain is ranked by its fitted score: the content score
		// would serve no domain, so its loss is not worth a step's time.
		o.Model.RankWeight = 0
		if o.Progress != nil {
			fmt.Fprintln(o.Progress, "content ranking score not trained: every domain has training users")
		}
	}
	allValid := valid // co-occurrence tuning reads them all
	if o.EvalTasks > 0 && len(valid) > o.EvalTasks {
		valid = spread(valid, o.EvalTasks)
	}
	s, err := NewStepper(b, o.Model, o.Step)
	if err != nil {
		return nil, err
	}
	w := o.Model.Init(o.Seed)
	setDataInit(w, cat, train)
	if o.Biases != nil {
		if err := setBiases(w, cat, o.Biases); err != nil {
			return nil, err
		}
	}
	setShifts(w, cat, train, o.SupportK)
	if o.Model.Rank && len(o.CooccurGrid) > 0 {
		chosen := setRankItems(w, cat, train, allValid, o.SupportK, o.CooccurGrid)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "co-occurrence weight per domain %v: %v\n", cat.Domains, chosen)
		}
	}
	st := NewState(w)
	var curve []CurvePoint
	var best *models.Weights
	bestScore, bestStep := math.Inf(1), 0
	lossSum, nLoss := 0.0, 0
	fp := o.fingerprint()
	if o.CheckpointDir != "" {
		if ck, err := loadCheckpoint(o.CheckpointDir, fp); err == nil && ck.Steps <= o.Steps {
			st, curve = ck.state(w.Specs), ck.Curve
			bestScore, bestStep = ck.BestScore, ck.BestStep
			lossSum, nLoss = ck.LossSum, ck.NLoss
			if ck.Best != nil {
				best = &models.Weights{Specs: w.Specs, Values: ck.Best}
			}
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "resuming from %s at step %d\n", o.CheckpointDir, st.Steps)
			}
		} else if !errors.Is(err, fs.ErrNotExist) && o.Progress != nil {
			fmt.Fprintf(o.Progress, "ignoring checkpoint in %s: %v\n", o.CheckpointDir, err)
		}
	}
	evalPoint := func(lossSum float64, nLoss int) error {
		mse, mae, dom, err := validate(s, st, cat, valid, o)
		if err != nil {
			return err
		}
		p := CurvePoint{Step: st.Steps, ValidMSE: mse, ValidMAE: mae, DomainMAE: dom, TrainLoss: math.NaN()}
		if nLoss > 0 {
			p.TrainLoss = lossSum / float64(nLoss)
		}
		ref := dom
		if len(curve) > 0 {
			ref = curve[0].DomainMAE
		}
		p.ValidRel = relativeMAE(cat.Domains, dom, ref)
		curve = append(curve, p)
		// Selected by the mean over domains of the relative error, not the
		// pooled one: pooled, the domains with many users and large errors
		// decide, and a step that helps them while hurting a small domain
		// (music, whose values spread least) would be kept.
		if o.KeepBest && p.ValidRel < bestScore {
			bestScore, bestStep, best = p.ValidRel, st.Steps, s.Weights(st)
		}
		return nil
	}
	if st.Steps == 0 && o.EvalEvery > 0 {
		if err := evalPoint(0, 0); err != nil {
			return nil, err
		}
	}
	bar := newBar(o.Progress, o.Steps, st.Steps)
	start := time.Now()
	var times []float64
	batch := newBatch(cat, o)
	pos := positives(train)
	for st.Steps < o.Steps {
		if err := fillBatch(batch, cat, train, pos, o, st.Steps); err != nil {
			return nil, err
		}
		t0 := time.Now()
		loss, err := s.Run(st, cat, batch)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", st.Steps, err)
		}
		times = append(times, time.Since(t0).Seconds())
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("step %d: loss is %g (lower train.outer_lr or inner_lr)", st.Steps, loss)
		}
		lossSum += loss
		nLoss++
		bar.update(st.Steps, loss)
		if (o.EvalEvery > 0 && st.Steps%o.EvalEvery == 0) || st.Steps == o.Steps {
			if err := evalPoint(lossSum, nLoss); err != nil {
				return nil, err
			}
			lossSum, nLoss = 0, 0
		}
		if o.CheckpointDir != "" && o.CheckpointEvery > 0 && (st.Steps%o.CheckpointEvery == 0 || st.Steps == o.Steps) {
			var bv [][]float32
			if best != nil {
				bv = best.Values
			}
			if err := saveCheckpoint(o.CheckpointDir, checkpoint{Fingerprint: fp, Steps: st.Steps, Curve: curve, Best: bv,
				BestScore: bestScore, BestStep: bestStep, LossSum: lossSum, NLoss: nLoss}, st); err != nil {
				return nil, err
			}
		}
	}
	bar.done()
	res := &Result{Model: o.Model, Weights: s.Weights(st), Curve: curve, BestStep: st.Steps, Seconds: time.Since(start).Seconds(), StepSecs: median(times)}
	if o.KeepBest && best != nil {
		res.Weights, res.BestStep = best, bestStep
	}
	return res, nil
}

// FilterDomain drops one domain's episodes (none when domain is empty).
func FilterDomain(eps []tasks.Episode, domain string) []tasks.Episode {
	if domain == "" {
		return eps
	}
	var out []tasks.Episode
	for _, e := range eps {
		if e.Domain != domain {
			out = append(out, e)
		}
	}
	return out
}

// spread picks n tasks evenly across eps (sorted by domain and user), so
// every domain is represented in a validation subset.
func spread(eps []tasks.Episode, n int) []tasks.Episode {
	out := make([]tasks.Episode, n)
	for i := range out {
		out[i] = eps[i*len(eps)/n]
	}
	return out
}

// ItemBiasShrinkage is the pseudo-count of the item-bias initialisation.
const ItemBiasShrinkage = 5.0

// setDataInit starts each domain's bias at its training mean rating and
// each item's bias at its shrunk mean residual over the training tasks,
// sum(r - mu_d) / (ItemBiasShrinkage + n_i): the closed-form fit of those
// two parameters on meta-train data, from which gradient training goes on.
// Sparse item rows get few and small Adam updates in a short run, so
// starting them at zero would leave most of them there.
func setDataInit(w *models.Weights, cat *models.Catalog, train []tasks.Episode) {
	di, bi := w.Index("domain_bias"), w.Index("item_bias")
	if di < 0 || bi < 0 {
		return
	}
	sum := make([]float64, len(cat.Domains))
	n := make([]float64, len(cat.Domains))
	for _, e := range train {
		for _, set := range [][]tasks.Rated{e.Support, e.Query} {
			for _, x := range set {
				sum[e.DomainIndex] += float64(x.Norm)
				n[e.DomainIndex]++
			}
		}
	}
	for d := range sum {
		if n[d] > 0 {
			w.Values[di][d] = float32(sum[d] / n[d])
		}
	}
	isum := make([]float64, cat.NItems)
	in := make([]float64, cat.NItems)
	for _, e := range train {
		for _, set := range [][]tasks.Rated{e.Support, e.Query} {
			for _, x := range set {
				row := cat.ItemOff[e.DomainIndex] + x.Item
				isum[row] += float64(x.Norm) - float64(w.Values[di][e.DomainIndex])
				in[row]++
			}
		}
	}
	for i := range isum {
		w.Values[bi][i] = float32(isum[i] / (ItemBiasShrinkage + in[i]))
	}
	// The popularity logit is log(1 + training count), what the
	// popularity baseline ranks by; it is kept (GroupBias).
	if pi := w.Index("pop_bias"); pi >= 0 {
		for i := range in {
			w.Values[pi][i] = float32(math.Log1p(in[i]))
		}
	}
	// A domain without training users has no counts or co-occurrences to
	// rank by: the content score ranks it.
	if gi := w.Index("rank_gate"); gi >= 0 {
		for d, none := range uncovered(cat, train) {
			w.Values[gi][d] = 0
			if none {
				w.Values[gi][d] = 1
			}
		}
	}
}

// uncovered flags the catalogue's domains no training episode is from.
func uncovered(cat *models.Catalog, train []tasks.Episode) []bool {
	out := make([]bool, len(cat.Domains))
	for d := range out {
		out[d] = true
	}
	for _, e := range train {
		out[e.DomainIndex] = false
	}
	return out
}

// setBiases starts the bias parameters at a fitted bias model, so the
// untrained network (its output layer starts at zero) predicts exactly
// what that model predicts and training moves away from it only where the
// query loss says so.
func setBiases(w *models.Weights, cat *models.Catalog, b *BiasInit) error {
	nd := len(cat.Domains)
	if len(b.Mu) != nd || len(b.Bi) != nd || len(b.LambdaU) != nd {
		return fmt.Errorf("bias init: %d/%d/%d domains, catalogue %d", len(b.Mu), len(b.Bi), len(b.LambdaU), nd)
	}
	di, bi, li := w.Index("domain_bias"), w.Index("item_bias"), w.Index("enc_lambda")
	for d := range nd {
		if len(b.Bi[d]) != cat.Items[d] {
			return fmt.Errorf("bias init: domain %s: %d item biases for %d items", cat.Domains[d], len(b.Bi[d]), cat.Items[d])
		}
		w.Values[di][d] = float32(b.Mu[d])
		for i, v := range b.Bi[d] {
			w.Values[bi][int(cat.ItemOff[d])+i] = float32(v)
		}
		if li >= 0 {
			// lambda = 0 (a plain mean) has no logarithm: 1e-3 is as good.
			w.Values[li][d] = float32(math.Log(max(b.LambdaU[d], 1e-3)))
		}
	}
	return nil
}

// setShifts starts each domain's output shift at the median query
// residual of the bias model the network starts as (domain bias + item
// bias + the support's shrunk mean residual, the encoder's start for b_u)
// over the training tasks, with supports of k ratings: the constant that
// minimises that model's absolute error, where the biases, fitted as
// means, minimise the squared error. Skewed values (play counts) have a
// median well away from their mean. Training goes on from there.
func setShifts(w *models.Weights, cat *models.Catalog, train []tasks.Episode, k int) {
	si, di, bi, li := w.Index("domain_shift"), w.Index("domain_bias"), w.Index("item_bias"), w.Index("enc_lambda")
	if si < 0 || di < 0 || bi < 0 {
		return
	}
	resid := make([][]float64, len(cat.Domains))
	for _, e := range train {
		d, off := e.DomainIndex, cat.ItemOff[e.DomainIndex]
		mu := float64(w.Values[di][d])
		base := func(x tasks.Rated) float64 { return float64(x.Norm) - mu - float64(w.Values[bi][off+x.Item]) }
		bu := 0.0
		if li >= 0 { // without the encoder b_u starts at the shared b0 = 0
			sup := e.Support[:min(k, len(e.Support))]
			for _, x := range sup {
				bu += base(x)
			}
			bu /= float64(len(sup)) + math.Exp(float64(w.Values[li][d]))
		}
		for _, x := range e.Query {
			resid[d] = append(resid[d], base(x)-bu)
		}
	}
	for d, r := range resid {
		if len(r) > 0 {
			w.Values[si][d] = float32(median(r))
		}
	}
}

// positives flags, per training episode, the query items the ranking loss
// treats as picks the user liked: those valued at least the median of the
// user's query values (the user's better half, ties included). The rule is
// relative to the user, so it serves star ratings and play counts alike,
// and it needs nothing the evaluation decides.
func positives(train []tasks.Episode) [][]bool {
	out := make([][]bool, len(train))
	for i, e := range train {
		vals := make([]float32, len(e.Query))
		for j, x := range e.Query {
			vals[j] = x.Norm
		}
		slices.Sort(vals)
		out[i] = make([]bool, len(e.Query))
		if len(vals) == 0 {
			continue
		}
		med := vals[(len(vals)-1)/2]
		for j, x := range e.Query {
			out[i][j] = x.Norm >= med
		}
	}
	return out
}

func newBatch(cat *models.Catalog, o Options) *Batch {
	k := o.SupportK
	if o.Step.Method == Reptile {
		k += o.QueryMax
	}
	b := &Batch{Support: cat.NewSet(o.MetaBatch, k), Query: cat.NewSet(o.MetaBatch, o.QueryMax), Domain: make([]int32, o.MetaBatch)}
	if o.Model.Rank {
		b.Neg = cat.NewSet(o.MetaBatch, o.Negatives)
		b.Pos = make([]float32, o.MetaBatch*o.QueryMax)
	}
	return b
}

// fillBatch samples the tasks of a step from a generator seeded by (seed,
// step), so a resumed run samples exactly what an uninterrupted one would.
// pos holds each episode's positive flags (see positives).
func fillBatch(b *Batch, cat *models.Catalog, train []tasks.Episode, pos [][]bool, o Options, step int) error {
	r := rand.New(rand.NewPCG(o.Seed, uint64(step)+1))
	var neg []tasks.Rated
	for t := range o.MetaBatch {
		ei := r.IntN(len(train))
		e := &train[ei]
		k := o.SupportK
		if len(o.SupportKs) > 0 {
			k = min(k, o.SupportKs[r.IntN(len(o.SupportKs))])
		}
		sup := e.Support[:min(k, len(e.Support))]
		qi := make([]int, 0, min(len(e.Query), o.QueryMax))
		if len(e.Query) > o.QueryMax {
			qi = append(qi, r.Perm(len(e.Query))[:o.QueryMax]...)
		} else {
			for j := range e.Query {
				qi = append(qi, j)
			}
		}
		q := make([]tasks.Rated, len(qi))
		for j, k := range qi {
			q[j] = e.Query[k]
		}
		b.Domain[t] = e.DomainIndex
		s := sup
		if o.Step.Method == Reptile {
			s = append(append([]tasks.Rated(nil), sup...), q...)
		}
		if err := cat.Fill(b.Support, t, e.DomainIndex, s); err != nil {
			return fmt.Errorf("%s/%s support: %w", e.Domain, e.User, err)
		}
		if err := cat.Fill(b.Query, t, e.DomainIndex, q); err != nil {
			return fmt.Errorf("%s/%s query: %w", e.Domain, e.User, err)
		}
		if b.Neg == nil {
			continue
		}
		n := b.Query.Feats.N
		for j := range n {
			b.Pos[t*n+j] = 0
			if j < len(qi) && pos[ei][qi[j]] {
				b.Pos[t*n+j] = 1
			}
		}
		// Negatives: uniform over the domain's catalogue. One may be an
		// item the user has; at a few dozen draws from thousands of items
		// that is rare noise, and excluding it would need every user's
		// whole history here.
		neg = neg[:0]
		for range b.Neg.Feats.N {
			neg = append(neg, tasks.Rated{Item: int32(r.IntN(cat.Items[e.DomainIndex]))})
		}
		if err := cat.Fill(b.Neg, t, e.DomainIndex, neg); err != nil {
			return fmt.Errorf("%s/%s negatives: %w", e.Domain, e.User, err)
		}
	}
	return nil
}

// relativeMAE is the mean over the domains of mae[d] / ref[d], in the
// catalogue's order (so the sum is deterministic), over the domains both
// have.
func relativeMAE(domains []string, mae, ref map[string]float64) float64 {
	var sum float64
	n := 0
	for _, d := range domains {
		m, ok1 := mae[d]
		r, ok2 := ref[d]
		if ok1 && ok2 && r > 0 {
			sum += m / r
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// validate adapts to each validation task's first K support ratings and
// returns the query MSE and MAE pooled over all rated query entries, and
// the MAE of each domain that has validation tasks.
func validate(s *Stepper, st *State, cat *models.Catalog, valid []tasks.Episode, o Options) (mse, mae float64, domainMAE map[string]float64, err error) {
	const chunk = 64
	qn := max(o.EvalQuery, 1)
	b := &Batch{Support: cat.NewSet(chunk, o.SupportK), Query: cat.NewSet(chunk, qn), Domain: make([]int32, chunk)}
	var se, ae, n float64
	dae, dn := make([]float64, len(cat.Domains)), make([]float64, len(cat.Domains))
	for i := 0; i < len(valid); i += chunk {
		for t := range chunk {
			if i+t >= len(valid) {
				cat.Fill(b.Support, t, 0, nil)
				cat.Fill(b.Query, t, 0, nil)
				continue
			}
			e := &valid[i+t]
			b.Domain[t] = e.DomainIndex
			if err := cat.Fill(b.Support, t, e.DomainIndex, e.Support[:min(o.SupportK, len(e.Support))]); err != nil {
				return 0, 0, nil, err
			}
			if err := cat.Fill(b.Query, t, e.DomainIndex, e.Query[:min(qn, len(e.Query))]); err != nil {
				return 0, 0, nil, err
			}
		}
		s1, a1, n1, err := s.Evaluate(st, cat, b)
		if err != nil {
			return 0, 0, nil, err
		}
		for t := range s1 {
			if i+t >= len(valid) {
				break
			}
			se += float64(s1[t])
			ae += float64(a1[t])
			n += float64(n1[t])
			d := valid[i+t].DomainIndex
			dae[d] += float64(a1[t])
			dn[d] += float64(n1[t])
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN(), nil, nil
	}
	domainMAE = map[string]float64{}
	for d, name := range cat.Domains {
		if dn[d] > 0 {
			domainMAE[name] = dae[d] / dn[d]
		}
	}
	return se / n, ae / n, domainMAE, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// checkpoint is the resumable training state.
type checkpoint struct {
	Fingerprint string
	Steps       int
	Params, M   [][]float32
	V           [][]float32
	Curve       []CurvePoint
	Best        [][]float32
	BestScore   float64 // keep_best's score of Best (CurvePoint.ValidRel)
	BestStep    int
	LossSum     float64 // training loss accumulated since the last curve point
	NLoss       int
}

func (c *checkpoint) state(specs []models.VarSpec) *State {
	st := &State{Steps: c.Steps}
	for i, sp := range specs {
		st.Params = append(st.Params, tensorOf(c.Params[i], sp.Dims))
		st.M = append(st.M, tensorOf(c.M[i], sp.Dims))
		st.V = append(st.V, tensorOf(c.V[i], sp.Dims))
	}
	return st
}

const checkpointFile = "state.gob"

func saveCheckpoint(dir string, c checkpoint, st *State) error {
	c.Params, c.M, c.V = download(st.Params), download(st.M), download(st.V)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&c); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return artifact.WriteFileAtomic(filepath.Join(dir, checkpointFile), buf.Bytes())
}

func loadCheckpoint(dir, fp string) (*checkpoint, error) {
	f, err := os.Open(filepath.Join(dir, checkpointFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c checkpoint
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if c.Fingerprint != fp {
		return nil, fmt.Errorf("it was written with other options")
	}
	if c.BestScore == 0 && c.Best == nil {
		c.BestScore = math.Inf(1)
	}
	return &c, nil
}
