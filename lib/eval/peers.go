package eval

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossrec/crossrec/lib/baselines"
	cmetrics "github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/params"
	"github.com/crossrec/crossrec/lib/recommend"
)

// PeerChoice is the setting chosen for one peer on one domain, the
// validation score that chose it and how many settings were tried.
type PeerChoice struct {
	Params     map[string]float64 `json:"params"`
	Metric     string             `json:"tuned_by"`
	Valid      float64            `json:"valid_value"`
	ValidUsers int                `json:"valid_users"`
	Tried      int                `json:"settings_tried"`
	AtGridEdge bool               `json:"at_grid_edge,omitempty"`
}

// PeerCost is what fitting a peer cost (not a DVC output: times and memory
// differ from run to run).
type PeerCost struct {
	TuneSeconds float64            `json:"tune_seconds"`      // the whole search, every domain
	FitSeconds  map[string]float64 `json:"fit_seconds"`       // one fit at the chosen setting, per domain
	PeakHeapMiB map[string]float64 `json:"fit_peak_heap_mib"` // peak heap growth during that fit, uncollected garbage included, per domain
}

// peerDim is one hyperparameter and its grid.
type peerDim struct {
	name string
	grid []float64
}

// peerSpec is one peer: its scorer, its grid and how to fit one domain at
// one setting into the scorer (replacing the domain's previous fit).
type peerSpec struct {
	sc      recommend.Scorer
	byError bool // tuned by validation MAE, else NDCG@10
	dims    []peerDim
	fit     func(d int, x []float64) error
	done    func(d int) // frees the domain's caches
	after   func()      // runs once every domain is fitted
}

func floats[T int | float64](xs []T) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// peerSpecs builds the peers params evaluate.peers names grids for, over
// the training data; ub is the tuned user-bias baseline the error peers
// build on.
func peerSpecs(p params.EvaluatePeers, t *baselines.Train, ub *baselines.UserBias) []peerSpec {
	nd := len(t.Items)
	var specs []peerSpec
	if g := p.EASE; len(g.Lambda) > 0 {
		e := baselines.NewEASE(nd)
		specs = append(specs, peerSpec{sc: e, dims: []peerDim{{"lambda", floats(g.Lambda)}},
			fit: func(d int, x []float64) error { return e.FitEASE(t, d, x[0]) }})
	}
	if g := p.ItemKNN; len(g.K) > 0 && len(g.Shrink) > 0 {
		m := baselines.NewItemKNN(nd)
		cache := baselines.NewKNNCache(t, slices.Max(g.K))
		specs = append(specs, peerSpec{sc: m, dims: []peerDim{{"k", floats(g.K)}, {"shrink", g.Shrink}},
			fit:   func(d int, x []float64) error { cache.Fit(m, d, int(x[0]), x[1]); return nil },
			done:  func(int) { cache.Reset() },
			after: func() { m.FitCross(t) }})
	}
	if g := p.RP3beta; len(g.Alpha) > 0 && len(g.Beta) > 0 && len(g.K) > 0 {
		m := baselines.NewRP3beta(nd)
		cache := baselines.NewRP3Cache(t, slices.Max(g.K))
		specs = append(specs, peerSpec{sc: m, dims: []peerDim{{"alpha", g.Alpha}, {"beta", g.Beta}, {"k", floats(g.K)}},
			fit:  func(d int, x []float64) error { cache.Fit(m, d, x[0], x[1], int(x[2])); return nil },
			done: func(int) { cache.Reset() }})
	}
	if g := p.PureSVD; len(g.Factors) > 0 {
		m := baselines.NewPureSVD(nd)
		cache := baselines.NewSVDCache(t, slices.Max(g.Factors))
		specs = append(specs, peerSpec{sc: m, dims: []peerDim{{"factors", floats(g.Factors)}},
			fit:  func(d int, x []float64) error { return cache.Fit(m, d, int(x[0])) },
			done: func(int) { cache.Reset() }})
	}
	if g := p.MF; len(g.Factors) > 0 && len(g.Lambda) > 0 {
		m := baselines.NewMF(nd)
		specs = append(specs, peerSpec{sc: m, byError: true, dims: []peerDim{{"factors", floats(g.Factors)}, {"lambda", g.Lambda}},
			fit: func(d int, x []float64) error {
				return m.FitMF(t, d, int(x[0]), x[1], ub.LambdaI[d], ub.LambdaU[d], 1)
			}})
	}
	if g := p.KNNBaseline; len(g.K) > 0 && len(g.Shrink) > 0 && len(g.Alpha) > 0 {
		m := baselines.NewKNNBaseline(ub)
		cache := baselines.NewPearsonCache(t, m)
		specs = append(specs, peerSpec{sc: m, byError: true, dims: []peerDim{{"k", floats(g.K)}, {"shrink", g.Shrink}, {"alpha", g.Alpha}},
			fit:  func(d int, x []float64) error { cache.Fit(d, int(x[0]), x[1], x[2]); return nil },
			done: func(int) { cache.Reset() }})
	}
	return specs
}

// tunePeers tunes every peer on the meta-validation users
// (searchPeers), then fits each at its chosen setting (fitPeers): what the
// evaluate stage does in one go when it is given no tuning.
func (r *runner) tunePeers(ub *baselines.UserBias, t *baselines.Train) ([]recommend.Scorer, map[string]map[string]PeerChoice, map[string]*PeerCost, error) {
	choices, secs, err := r.searchPeers(ub, t)
	if err != nil {
		return nil, nil, nil, err
	}
	out, costs, err := r.fitPeers(ub, t, choices)
	for name, c := range costs {
		c.TuneSeconds = secs[name]
	}
	return out, choices, costs, err
}

// searchPeers tunes every peer, per domain, on the meta-validation users
// at the default support size: ranking peers by NDCG@10, error peers by
// MAE (in the report's unit), through the same engine, candidates and
// relevance as the evaluation. The search is by coordinates from the
// middle of each grid (each hyperparameter scanned with the others fixed,
// twice round), since a full grid of a three-parameter peer would refit it
// hundreds of times; ties keep the earlier setting. A domain without
// training rows is not tuned (the peer cannot rank it); one without
// validation users keeps the middle of each grid. It returns the choices
// and each peer's search time in seconds.
func (r *runner) searchPeers(ub *baselines.UserBias, t *baselines.Train) (map[string]map[string]PeerChoice, map[string]float64, error) {
	specs := peerSpecs(r.cfg.Peers, t, ub)
	cases := validCases(r.data, &r.cfg)
	byDom := make([][]userCase, len(r.data.Domains))
	for _, c := range cases {
		byDom[c.domain] = append(byDom[c.domain], c)
	}
	choices := map[string]map[string]PeerChoice{}
	secs := map[string]float64{}
	for _, sp := range specs {
		name := sp.sc.Name()
		start := time.Now()
		choices[name] = map[string]PeerChoice{}
		for d := range r.data.Domains {
			dom := &r.data.Domains[d]
			if len(t.Norm[d]) == 0 {
				continue
			}
			_, ch, err := r.search(sp, d, byDom[d])
			if err != nil {
				return nil, nil, fmt.Errorf("peer %s on %s: %w", name, dom.Name, err)
			}
			if sp.done != nil {
				sp.done(d)
			}
			choices[name][dom.Name] = ch
		}
		secs[name] = round3(time.Since(start).Seconds())
		r.logf("peer %s tuned in %.1fs", name, time.Since(start).Seconds())
	}
	return choices, secs, nil
}

// fitPeers fits every peer, per domain, at the setting choices name for
// it, from nothing and measured: what fitting the peer costs a user who
// knows the setting. choices must hold a setting on the peer's grid for
// every domain the peer can rank (a tuning made with other grids, or on
// other data, is refused rather than scored).
func (r *runner) fitPeers(ub *baselines.UserBias, t *baselines.Train, choices map[string]map[string]PeerChoice) ([]recommend.Scorer, map[string]*PeerCost, error) {
	specs := peerSpecs(r.cfg.Peers, t, ub)
	var fitted []int
	for d := range r.data.Domains {
		if len(t.Norm[d]) > 0 {
			fitted = append(fitted, d)
		}
	}
	settings, err := checkPeerChoices(specs, choices, r.data, fitted)
	if err != nil {
		return nil, nil, err
	}
	costs := map[string]*PeerCost{}
	var out []recommend.Scorer
	for si, sp := range specs {
		name := sp.sc.Name()
		cost := &PeerCost{FitSeconds: map[string]float64{}, PeakHeapMiB: map[string]float64{}}
		for _, d := range fitted {
			dom := &r.data.Domains[d]
			if sp.done != nil {
				sp.done(d)
			}
			secs, peak, err := measure(func() error { return sp.fit(d, settings[si][d]) })
			if err != nil {
				return nil, nil, fmt.Errorf("peer %s on %s: %w", name, dom.Name, err)
			}
			cost.FitSeconds[dom.Name], cost.PeakHeapMiB[dom.Name] = round3(secs), round3(peak)
			if sp.done != nil {
				sp.done(d)
			}
		}
		if sp.after != nil {
			sp.after()
		}
		costs[name] = cost
		out = append(out, sp.sc)
	}
	return out, costs, nil
}

// checkPeerChoices checks a tuning against the peers params give grids
// for and the task files' domains, before any peer is fitted (a stale or
// edited tuning is refused at once, not after the fits before it): every
// peer and domain it names exist, every fitted domain has a setting, every
// setting is on its grid. It returns each spec's setting per domain index.
func checkPeerChoices(specs []peerSpec, choices map[string]map[string]PeerChoice, data *Data, fitted []int) ([]map[int][]float64, error) {
	for _, name := range slices.Sorted(maps.Keys(choices)) {
		if !slices.ContainsFunc(specs, func(sp peerSpec) bool { return sp.sc.Name() == name }) {
			return nil, fmt.Errorf("peer %s: tuned, but params evaluate.peers gives it no grid", name)
		}
		for _, dom := range slices.Sorted(maps.Keys(choices[name])) {
			if data.Domain(dom) == nil {
				return nil, fmt.Errorf("peer %s: a setting for %q, which is not a domain of the task files", name, dom)
			}
		}
	}
	out := make([]map[int][]float64, len(specs))
	for si, sp := range specs {
		name := sp.sc.Name()
		out[si] = map[int][]float64{}
		for _, d := range fitted {
			dom := data.Domains[d].Name
			ch, ok := choices[name][dom]
			if !ok {
				return nil, fmt.Errorf("peer %s on %s: no tuned setting", name, dom)
			}
			x, err := sp.setting(ch)
			if err != nil {
				return nil, fmt.Errorf("peer %s on %s: %w", name, dom, err)
			}
			out[si][d] = x
		}
	}
	return out, nil
}

// setting is a choice's hyperparameters in the order of the spec's grids,
// each checked to lie on its grid.
func (sp peerSpec) setting(ch PeerChoice) ([]float64, error) {
	if len(ch.Params) != len(sp.dims) {
		return nil, fmt.Errorf("setting %v: want the hyperparameters of params evaluate.peers (%d)", ch.Params, len(sp.dims))
	}
	x := make([]float64, len(sp.dims))
	for i, dim := range sp.dims {
		v, ok := ch.Params[dim.name]
		if !ok {
			return nil, fmt.Errorf("setting %v: no %s", ch.Params, dim.name)
		}
		if !slices.Contains(dim.grid, v) {
			return nil, fmt.Errorf("setting %s = %g is not on params evaluate.peers' grid %v", dim.name, v, dim.grid)
		}
		x[i] = v
	}
	return x, nil
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// search runs the coordinate search for one domain and returns the best
// setting and its record.
func (r *runner) search(sp peerSpec, d int, cases []userCase) ([]float64, PeerChoice, error) {
	metric := fmt.Sprintf("ndcg@%d", HeadK)
	if sp.byError {
		metric = "mae"
	}
	idx := make([]int, len(sp.dims))
	for i, dim := range sp.dims {
		idx[i] = len(dim.grid) / 2
	}
	setting := func(ix []int) []float64 {
		x := make([]float64, len(ix))
		for i, j := range ix {
			x[i] = sp.dims[i].grid[j]
		}
		return x
	}
	seen := map[string]float64{}
	score := func(ix []int) (float64, error) {
		key := fmt.Sprint(ix)
		if v, ok := seen[key]; ok {
			return v, nil
		}
		if err := sp.fit(d, setting(ix)); err != nil {
			return 0, err
		}
		v, err := r.validScore(sp.sc, sp.byError, cases)
		if err != nil {
			return 0, err
		}
		seen[key] = v
		return v, nil
	}
	better := func(a, b float64) bool {
		if sp.byError {
			return a < b
		}
		return a > b
	}
	bestV, err := score(idx)
	if err != nil {
		return nil, PeerChoice{}, err
	}
	if len(cases) > 0 {
		for range 2 {
			for i := range sp.dims {
				for j := range sp.dims[i].grid {
					try := slices.Clone(idx)
					try[i] = j
					v, err := score(try)
					if err != nil {
						return nil, PeerChoice{}, err
					}
					if better(v, bestV) {
						bestV, idx = v, try
					}
				}
			}
		}
	}
	ch := PeerChoice{Params: map[string]float64{}, Metric: metric, Valid: bestV, ValidUsers: len(cases), Tried: len(seen)}
	for i, dim := range sp.dims {
		ch.Params[dim.name] = dim.grid[idx[i]]
		if len(dim.grid) > 1 && (idx[i] == 0 || idx[i] == len(dim.grid)-1) {
			ch.AtGridEdge = true
		}
	}
	return setting(idx), ch, nil
}

// validScore is the mean NDCG@10 over validation users with a relevant
// query item, or the pooled MAE in the report's unit, of one scorer.
func (r *runner) validScore(sc recommend.Scorer, byError bool, cases []userCase) (float64, error) {
	if len(cases) == 0 {
		return 0, nil
	}
	res, err := r.eng.runAll(sc, true, cases)
	if err != nil {
		return 0, err
	}
	if byError {
		var e cmetrics.Errors
		for i := range cases {
			dom := &r.data.Domains[cases[i].domain]
			for q, x := range cases[i].query {
				e.Add(dom.reportValues(res[i].qScore[q], x))
			}
		}
		return e.MAE(), nil
	}
	sum, n := 0.0, 0
	for i := range cases {
		v := &res[i].views[0]
		if v.relevant == 0 {
			continue
		}
		sum += cmetrics.NDCGAt(hitFlags(&cases[i], v.top, viewAll), HeadK, v.relevant)
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return sum / float64(n), nil
}

// measure runs f and returns its wall time and the peak growth of the
// live heap while it ran (sampled every 10 ms), in MiB.
func measure(f func() error) (float64, float64, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() float64 {
		metrics.Read(sample)
		return float64(sample[0].Value.Uint64())
	}
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			if v := uint64(read()); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	start := time.Now()
	err := f()
	secs := time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	if v := uint64(read()); v > peak.Load() {
		peak.Store(v)
	}
	return secs, max(float64(peak.Load())-base, 0) / (1 << 20), err
}
