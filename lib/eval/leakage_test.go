package eval

import (
	"fmt"
	"github.com/crossrec/crossrec/lib/baselines"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/split"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Oracle memorises train.arrow: it knows every training rating. Given a
// support set it looks for a training user who rated every support item
// exactly so; if one exists it "is" that user and predicts their known
// ratings exactly (the global mean for items they did not rate), else it
// predicts the global mean. On held-out users it can only win if a
// held-out user's ratings are in the training data: a leak.
type Oracle struct {
	mu    float32
	known map[string]map[int32]float32 // user -> item -> norm
	users []string                     // sorted
	byKey map[[2]int64][]string        // (domain<<32|item, norm bits) -> users
}

// NewOracle memorises the episodes (train.arrow).
func NewOracle(train []tasks.Episode) *Oracle {
	o := &Oracle{known: map[string]map[int32]float32{}, byKey: map[[2]int64][]string{}}
	var sum float64
	var n int
	for _, e := range train {
		key := fmt.Sprintf("%d/%s", e.DomainIndex, e.User)
		if o.known[key] == nil {
			o.known[key] = map[int32]float32{}
			o.users = append(o.users, key)
		}
		for _, x := range append(slices.Clone(e.Support), e.Query...) {
			o.known[key][x.Item] = x.Norm
			k := [2]int64{int64(e.DomainIndex)<<32 | int64(x.Item), int64(math.Float32bits(x.Norm))}
			o.byKey[k] = append(o.byKey[k], key)
			sum += float64(x.Norm)
			n++
		}
	}
	slices.Sort(o.users)
	o.mu = float32(sum / float64(n))
	return o
}

func (o *Oracle) Name() string     { return "oracle" }
func (o *Oracle) Concurrent() bool { return true }

// Score implements recommend.Scorer.
func (o *Oracle) Score(domain int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	out := make([]float32, len(cands))
	for i := range out {
		out[i] = o.mu
	}
	if len(support) == 0 {
		return out, nil
	}
	var match string
	first := support[0]
	for _, u := range o.byKey[[2]int64{int64(domain)<<32 | int64(first.Item), int64(math.Float32bits(first.Norm))}] {
		ok := true
		for _, x := range support[1:] {
			if v, has := o.known[u][x.Item]; !has || v != x.Norm {
				ok = false
				break
			}
		}
		if ok && (match == "" || u < match) {
			match = u
		}
	}
	if match == "" {
		return out, nil
	}
	for i, c := range cands {
		if v, ok := o.known[match][c]; ok {
			out[i] = v
		}
	}
	return out, nil
}

// pairedDiff returns the mean and standard error of a - b over users
// defined in both.
func pairedDiff(a, b []float64) (mean, se float64, n int) {
	var d []float64
	for i := range a {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			d = append(d, a[i]-b[i])
		}
	}
	s := Spread(d)
	if s.N < 2 {
		return s.Mean, 0, s.N
	}
	return s.Mean, s.Std / math.Sqrt(float64(s.N)), s.N
}

func TestOracleOfTrainingDataCannotBeatTheGlobalMean(t *testing.T) {
	w := newWorld(300)
	d := w.data(t, 200, 150)
	oracle := NewOracle(d.Train)
	gm := &baselines.GlobalMean{Mu: []float64{float64(oracle.mu)}}
	for _, seed := range []uint64{1, 2} {
		o, err := ColdStart(d, w.cfg, oracle, seed, w.cfg.SupportK)
		if err != nil {
			t.Fatal(err)
		}
		g, err := ColdStart(d, w.cfg, gm, seed, w.cfg.SupportK)
		if err != nil {
			t.Fatal(err)
		}
		mean, se, _ := pairedDiff(o.UserNDCG, g.UserNDCG)
		if mean > 2*se+1e-12 {
			t.Errorf("seed %d: the training-data oracle beats the global mean on NDCG@10 by %.4f (SE %.4f): held-out users leak", seed, mean, se)
		}
		mean, se, _ = pairedDiff(o.UserAE, g.UserAE)
		if mean < -2*se-1e-12 {
			t.Errorf("seed %d: the training-data oracle beats the global mean on MAE by %.4f (SE %.4f): held-out users leak", seed, -mean, se)
		}
	}
	// The check has teeth: put the training users' ratings back in as
	// "held-out" users (new ids, as a leak through a mis-keyed join
	// would) and the oracle must win by far.
	var leaked []tasks.Episode
	for i, e := range d.Train[:100] {
		all := append(slices.Clone(e.Support), e.Query...)
		leaked = append(leaked, tasks.Episode{Domain: "d", User: fmt.Sprintf("leak%03d", i), Group: split.Test, Support: all[:w.cfg.PoolK], Query: all[w.cfg.PoolK:]})
	}
	dl, err := NewData(d.Items, d.Train, d.Valid, leaked, d.Warm, nil, ratingScaler)
	if err != nil {
		t.Fatal(err)
	}
	o, err := ColdStart(dl, w.cfg, oracle, 1, w.cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ColdStart(dl, w.cfg, gm, 1, w.cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	// (Not exactly 0: a few leaked supports match another training user.)
	if o.Metrics["d"]["mae"] > 0.05 || o.Metrics["d"]["ndcg@10"] < g.Metrics["d"]["ndcg@10"]+0.2 {
		t.Errorf("leaky split: oracle MAE %.4f NDCG %.4f vs global mean NDCG %.4f; the oracle should be near exact",
			o.Metrics["d"]["mae"], o.Metrics["d"]["ndcg@10"], g.Metrics["d"]["ndcg@10"])
	}
}

// labelScorer knows each held-out user's query labels (found by the
// user's support pool) and ranks query items by them, every other item
// below. With the true labels it is a perfect ranker; with the labels
// shuffled across the user's query items it knows which items were rated
// but not how, and must fall to chance among them.
type labelScorer struct {
	labels map[int32]map[int32]float32 // first pool item -> item -> label
	jitter uint64
}

func (l *labelScorer) Name() string { return "labels" }
func (l *labelScorer) Score(_ int32, support []tasks.Rated, cands []int32) ([]float32, error) {
	out := make([]float32, len(cands))
	lab := l.labels[support[0].Item]
	for i, c := range cands {
		if v, ok := lab[c]; ok {
			// A tiny per-item jitter orders equal labels at random, so
			// every query item is equally likely at every rank.
			out[i] = v + float32(shuffleKey(l.jitter, "", "", c)%1000)/1e6
		}
	}
	return out, nil
}

func TestShuffledQueryLabelsDropRankingToChance(t *testing.T) {
	w := newWorld(400)
	d := w.data(t, 100, 400)
	// Every user's pool starts with a different item so the scorer can
	// find the user; seeds would re-draw the pool, so use the temporal
	// order (the stored split).
	cfg := w.cfg
	cfg.Temporal = true
	seen := map[int32]bool{}
	var test []tasks.Episode
	for _, e := range d.Test {
		if !seen[e.Support[0].Item] {
			seen[e.Support[0].Item] = true
			test = append(test, e)
		}
	}
	d, err := NewData(d.Items, d.Train, d.Valid, test, d.Warm, nil, ratingScaler)
	if err != nil {
		t.Fatal(err)
	}
	truth := &labelScorer{labels: map[int32]map[int32]float32{}}
	shuffled := &labelScorer{labels: map[int32]map[int32]float32{}, jitter: 9}
	r := rand.New(rand.NewPCG(1, 1))
	var expect []float64
	for _, e := range d.Test {
		tl, sl := map[int32]float32{}, map[int32]float32{}
		perm := r.Perm(len(e.Query))
		rel := cfg.relevant(d.Domains[0].Kind, e.Query)
		nRel := 0
		for i, x := range e.Query {
			tl[x.Item] = x.Raw
			sl[x.Item] = e.Query[perm[i]].Raw
			if rel[i] {
				nRel++
			}
		}
		truth.labels[e.Support[0].Item], shuffled.labels[e.Support[0].Item] = tl, sl
		// Expected NDCG@10 when the query items come first in random
		// order: each of the first min(10, Q) ranks holds a relevant item
		// with probability R/Q.
		if nRel > 0 {
			expect = append(expect, metrics.RandomNDCGAt(HeadK, nRel, len(e.Query)))
		} else {
			expect = append(expect, math.NaN())
		}
	}
	tr, err := ColdStart(d, cfg, truth, 1, cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	if v := tr.Metrics["d"]["ndcg@10"]; math.Abs(v-1) > 1e-9 {
		t.Fatalf("true labels: NDCG@10 %.6f, want 1 (a perfect ranking)", v)
	}
	sh, err := ColdStart(d, cfg, shuffled, 1, cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	mean, se, n := pairedDiff(sh.UserNDCG, expect)
	if n < 200 || math.Abs(mean) > 3*se {
		t.Errorf("shuffled labels: NDCG@10 is %.4f above its chance expectation (SE %.4f, %d users)", mean, se, n)
	}
	if got := sh.Metrics["d"]["ndcg@10"]; got > 0.9*tr.Metrics["d"]["ndcg@10"] {
		t.Errorf("shuffled labels kept NDCG@10 at %.4f", got)
	}
	// A scorer with no information at all ranks the catalogue at random:
	// it lands on the harness's own chance row.
	noise := &labelScorer{labels: map[int32]map[int32]float32{}}
	for _, e := range d.Test {
		m := map[int32]float32{}
		for i := range w.items {
			m[int32(i)] = float32(r.Float64())
		}
		noise.labels[e.Support[0].Item] = m
	}
	ns, err := ColdStart(d, cfg, noise, 1, cfg.SupportK)
	if err != nil {
		t.Fatal(err)
	}
	var chance []float64
	for range d.Test {
		chance = append(chance, ns.Chance["d"]["ndcg@10"])
	}
	mean, se, _ = pairedDiff(ns.UserNDCG, chance)
	if math.Abs(mean) > 3*se {
		t.Errorf("random scores: NDCG@10 is %.4f away from the chance row (SE %.4f)", mean, se)
	}
}
