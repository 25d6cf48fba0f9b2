package eval

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"time"

	"github.com/crossrec/crossrec/lib/artifact"
	"github.com/crossrec/crossrec/lib/baselines"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// Paths names the evaluation's inputs and outputs.
type Paths struct {
	TasksDir  string // artifacts/tasks: the task files and items.arrow
	Scalers   string // artifacts/normalize/scalers.parquet
	ModelsDir string // artifacts/models: one folder per trained model

	Metrics string // headline table: {domain: {model: {metric: value}}}
	States  string // MeLU states: {domain: {model: {state: {metric: value}}}}
	Cross   string // cross-domain: {pair: {model: {"k=K": {metric: value}}}}
	Compare string // paired tests: {domain: {"a vs b": {metric: test}}}

	Report      string // protocol, tuned baselines, models found, lineage
	Predictions string // per-user rankings (Parquet)

	ColdCurve  string // CSV plot: cold-start metrics over the support size
	CrossCurve string // CSV plot: cross-domain metrics over the support size

	// Cost receives each peer's fit time and memory and each scorer's
	// evaluation time: not a DVC output, as times differ run to run ("":
	// not written).
	Cost string
}

// Options are the evaluation's collaborators.
type Options struct {
	Load    Loader           // trained-model loader; nil evaluates the baselines only
	Lineage artifact.Lineage // lineage of predictions.parquet
	Log     io.Writer        // progress lines; nil for none
	// Variants returns the ablations of a trained model named in
	// Config.Ablate (one seed's scorer), each scored as a model of its own
	// under its Name(); nil scores no ablation.
	Variants func(sc recommend.Scorer) ([]recommend.Scorer, error)
	// RelDir shortens model folders for the report (relative to the
	// repository root), so the report does not depend on where the
	// repository is; nil keeps them as given.
	RelDir func(string) string
	// Peers, when set, are the peers' settings the peers stage chose
	// (TunePeers): each peer is fitted at its setting, with no search. Nil
	// searches here, as TunePeers would.
	Peers *PeerTuning
}

// Tables of the evaluation.
const (
	tableCold    = "cold"     // meta-test users, whole catalogue
	tableLODO    = "lodo"     // leave-one-domain-out models on their held-out domain
	stateWarm    = "warm"     // meta-train users' held-out tail, warm items
	stateNewItem = "new_item" // meta-train users' held-out tail, cold items
	stateNewUser = "new_user" // meta-test users, warm items
	stateBothNew = "both_new" // meta-test users, cold items
	crossPrefix  = "cross:"
	noSource     = "-no-source" // a cross-domain scorer scored without the source history
)

// States are the MeLU states in report order.
var States = []string{stateWarm, stateNewItem, stateNewUser, stateBothNew}

// entry is one scorer under evaluation.
type entry struct {
	name        string
	own         bool // a baseline: the harness's own code
	rankingOnly bool
	scorers     []recommend.Scorer // per seed
	lodoBase    string
	lodoDomain  string
}

type cellKey struct {
	table string
	group string // domain, or cross-domain pair
	model string
	k     int
}

type runner struct {
	cfg       Config
	data      *Data
	eng       *engine
	cells     map[cellKey][]*cell // per seed index
	order     map[string][]string // table -> models in evaluation order
	pred      *predictionWriter
	log       io.Writer
	logPrefix string // "evaluate: " unless set
	peerFile  *PeerTuning
	tuning    []TuneChoice
	found     []trained
	skip      map[string]string
	relDir    func(string) string
	modelsDir string
	variants  func(sc recommend.Scorer) ([]recommend.Scorer, error)
	own       map[string]bool // scorers of lib/baselines: the baselines and the peers
	peers     []string        // the strong peers, in report order
	peerTune  map[string]map[string]PeerChoice
	cost      map[string]any
	ablations []string // ablation rows of trained models
}

// Run evaluates the baselines and every trained model found under
// p.ModelsDir on the same splits with the same code, and writes every
// output. Nothing is sampled: each held-out user's whole domain catalogue,
// minus their support pool, is ranked.
func Run(p Paths, cfg Config, opt Options) error {
	start := time.Now()
	d, err := Load(p.TasksDir, p.Scalers, cfg.CrossPairs)
	if err != nil {
		return err
	}
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "evaluate: inputs read in %.1fs\n", time.Since(start).Seconds())
	}
	return RunData(d, p, cfg, opt)
}

// RunData is Run on inputs already in memory (Load or NewData); p names
// only the outputs and the models folder.
func RunData(d *Data, p Paths, cfg Config, opt Options) error {
	start := time.Now()
	r := newRunner(d, cfg)
	r.log = opt.Log
	var err error
	for _, name := range cfg.LODODomains {
		if d.Domain(name) == nil {
			return fmt.Errorf("params evaluate.lodo_domains: %q is not a domain of the task files", name)
		}
	}
	r.relDir, r.modelsDir, r.variants, r.peerFile = opt.RelDir, p.ModelsDir, opt.Variants, opt.Peers
	var shrink Shrinkage
	if shrink, r.tuning, err = tune(r.data, &r.cfg); err != nil {
		return err
	}
	entries, err := r.entries(p.ModelsDir, opt.Load, shrink)
	if err != nil {
		return err
	}
	r.logf("baselines tuned in %.1fs; %d scorers", time.Since(start).Seconds(), len(entries))
	if r.pred, err = newPredictionWriter(p.Predictions, opt.Lineage); err != nil {
		return err
	}
	for i := range entries {
		t := time.Now()
		if err := r.evalModel(&entries[i]); err != nil {
			r.pred.w.Abort()
			return fmt.Errorf("model %s: %w", entries[i].name, err)
		}
		secs := time.Since(t).Seconds()
		r.logf("%s: %.1fs", entries[i].name, secs)
		r.costOf(entries[i].name)["evaluate_seconds"] = round3(secs)
	}
	if err := r.pred.close(); err != nil {
		return err
	}
	if err := r.write(p); err != nil {
		return err
	}
	if p.Cost != "" {
		r.cost["stage_seconds"] = round3(time.Since(start).Seconds())
		return artifact.WriteJSON(p.Cost, r.cost)
	}
	return nil
}

// costOf is the cost record of one scorer.
func (r *runner) costOf(name string) map[string]any {
	c, ok := r.cost[name].(map[string]any)
	if !ok {
		c = map[string]any{}
		r.cost[name] = c
	}
	return c
}

func newRunner(d *Data, cfg Config) *runner {
	return &runner{cfg: cfg, data: d, eng: &engine{data: d, topN: cfg.topN()}, cells: map[cellKey][]*cell{}, order: map[string][]string{},
		own: map[string]bool{}, cost: map[string]any{}}
}

func (r *runner) logf(format string, args ...any) {
	if r.log != nil {
		prefix := r.logPrefix
		if prefix == "" {
			prefix = "evaluate: "
		}
		fmt.Fprintf(r.log, prefix+format+"\n", args...)
	}
}

// entries lists the scorers: the baselines fitted on train.arrow, their
// leave-one-domain-out refits, then the trained models in name order.
func (r *runner) entries(modelsDir string, load Loader, shrink Shrinkage) ([]entry, error) {
	catalogue := make([]int, len(r.data.Domains))
	for i, d := range r.data.Domains {
		catalogue[i] = d.Items
	}
	base, err := FitBaselines(r.data.Train, catalogue, shrink)
	if err != nil {
		return nil, err
	}
	var out []entry
	perSeed := func(sc recommend.Scorer) []recommend.Scorer {
		s := make([]recommend.Scorer, len(r.cfg.Seeds))
		for i := range s {
			s[i] = sc
		}
		return s
	}
	for _, sc := range base.Scorers() {
		_, ro := sc.(RankingOnly)
		out = append(out, entry{name: sc.Name(), own: true, rankingOnly: ro, scorers: perSeed(sc)})
		r.own[sc.Name()] = true
	}
	// The strong peers, tuned on validation users (they never see a
	// held-out user either: Train refuses any other episode).
	t, err := baselines.NewTrain(r.data.Train, catalogue)
	if err != nil {
		return nil, err
	}
	var peers []recommend.Scorer
	var costs map[string]*PeerCost
	if r.peerFile != nil {
		r.peerTune = r.peerFile.Peers
		peers, costs, err = r.fitPeers(base.UserBias, t, r.peerTune)
	} else {
		peers, r.peerTune, costs, err = r.tunePeers(base.UserBias, t)
	}
	if err != nil {
		return nil, err
	}
	for name, c := range costs {
		pc := r.costOf(name)
		pc["fit_seconds"], pc["fit_peak_heap_mib"] = c.FitSeconds, c.PeakHeapMiB
		if r.peerFile == nil {
			pc["tune_seconds"] = c.TuneSeconds
		}
	}
	for _, sc := range peers {
		_, ro := sc.(RankingOnly)
		out = append(out, entry{name: sc.Name(), own: true, rankingOnly: ro, scorers: perSeed(sc)})
		r.own[sc.Name()] = true
		r.peers = append(r.peers, sc.Name())
	}
	// Leave-one-domain-out baselines: refitted without the domain's
	// training rows, so on that domain they fall back to what they know
	// (the pooled mean, no item biases, no popularity). The global mean is
	// left out: it ranks by catalogue order with or without the domain, so
	// its ratio is 1 by construction and says nothing.
	for _, d := range r.cfg.LODODomains {
		var train []tasks.Episode
		for _, e := range r.data.Train {
			if e.Domain != d {
				train = append(train, e)
			}
		}
		lb, err := FitBaselines(train, catalogue, shrink)
		if err != nil {
			return nil, err
		}
		for _, sc := range lb.Scorers() {
			if sc.Name() == GlobalMeanName {
				continue
			}
			_, ro := sc.(RankingOnly)
			out = append(out, entry{name: sc.Name() + LODOInfix + d, own: true, rankingOnly: ro, scorers: perSeed(sc), lodoBase: sc.Name(), lodoDomain: d})
		}
	}
	reserved := []string{GlobalMeanName, ItemMeanName, PopularityName, UserBiasName, "chance",
		baselines.EASEName, baselines.ItemKNNName, baselines.RP3betaName, baselines.PureSVDName, baselines.MFName, baselines.KNNBaselineName}
	for _, e := range out {
		reserved = append(reserved, e.name)
	}
	if r.found, r.skip, err = discover(modelsDir, r.cfg.Seeds, r.data.Items, load, reserved); err != nil {
		return nil, err
	}
	for _, t := range r.found {
		ro := false
		if x, ok := t.scorers[0].(RankingOnly); ok {
			ro = x.RankingOnly()
		}
		out = append(out, entry{name: t.name, rankingOnly: ro, scorers: t.scorers, lodoBase: t.lodoBase, lodoDomain: t.lodoDomain})
		if !slices.Contains(r.cfg.Ablate, t.name) || r.variants == nil {
			continue
		}
		// Ablations: the same weights without a part, per seed.
		var vs [][]recommend.Scorer // per seed, per variant
		for _, sc := range t.scorers {
			v, err := r.variants(sc)
			if err != nil {
				return nil, fmt.Errorf("ablations of %s: %w", t.name, err)
			}
			vs = append(vs, v)
		}
		for vi := range vs[0] {
			e := entry{name: vs[0][vi].Name()}
			for si := range vs {
				e.scorers = append(e.scorers, vs[si][vi])
			}
			if x, ok := e.scorers[0].(RankingOnly); ok {
				e.rankingOnly = x.RankingOnly()
			}
			out = append(out, e)
			r.ablations = append(r.ablations, e.name)
		}
	}
	for name, why := range r.skip {
		r.logf("model %s left out: %s", name, why)
	}
	return out, nil
}

// coldCases are the meta-test users of domain (all when ""), one case per
// support size in ks, with their support pool and query drawn for seed.
// At the default support size the MeLU new-user and both-new views are
// ranked as well when states is set.
func (r *runner) coldCases(eps []tasks.Episode, seed uint64, domain string, ks []int, states bool, cross bool) []userCase {
	var cases []userCase
	for i := range eps {
		e := &eps[i]
		if domain != "" && e.Domain != domain {
			continue
		}
		pool, query := draw(e, seed, r.cfg.Temporal)
		rel := r.cfg.relevant(r.data.Domains[e.DomainIndex].Kind, query)
		for _, k := range ks {
			views := []view{viewAll}
			if states && k == r.cfg.SupportK {
				views = []view{viewAll, viewWarmItems, viewColdItems}
			}
			k = min(k, len(pool))
			cases = append(cases, userCase{ep: i, user: e.User, domain: e.DomainIndex, k: k, support: pool[:k], exclude: pool, query: query, rel: rel,
				cross: cross, srcDom: e.SourceDomainIndex, source: e.Source, views: views, ranks: true})
		}
	}
	return cases
}

// warmCases are the meta-train users' held-out tails (warm.arrow). They are
// never re-drawn: the tail is exactly what the models never trained on.
// The scorer adapts on the first support_k interactions (the support of the
// user's training task) and the whole known history is left out of the
// ranking, as a deployed system would not recommend what the user already
// rated.
func (r *runner) warmCases() []userCase {
	var cases []userCase
	for i := range r.data.Warm {
		e := &r.data.Warm[i]
		k := min(r.cfg.SupportK, len(e.Support))
		cases = append(cases, userCase{ep: i, user: e.User, domain: e.DomainIndex, k: k, support: e.Support[:k], exclude: e.Support, query: e.Query,
			rel: r.cfg.relevant(r.data.Domains[e.DomainIndex].Kind, e.Query), views: []view{viewAll, viewWarmItems, viewColdItems}, ranks: true})
	}
	return cases
}

// consume records one run of cases: the views named in tables (one per
// view, "" to skip) go to their cells, the whole-catalogue ranking to the
// predictions.
func (r *runner) consume(m *entry, model string, si int, protocol, group string, cases []userCase, res []caseResult, tables func(c *userCase) []string) error {
	seed := r.cfg.Seeds[si]
	for i := range cases {
		c := &cases[i]
		dom := &r.data.Domains[c.domain]
		for vi, table := range tables(c) {
			if table == "" {
				continue
			}
			g := group
			if g == "" {
				g = dom.Name
			}
			cl := r.cellFor(cellKey{table, g, model, c.k}, si, dom, c.views[vi], m.rankingOnly)
			if err := cl.add(c, res[i].qScore, &res[i].views[vi]); err != nil {
				return err
			}
		}
		if r.pred != nil {
			if err := r.pred.add(protocol, dom.Name, model, seed, c, &res[i], dom.Cold); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *runner) cellFor(key cellKey, si int, dom *Domain, v view, rankingOnly bool) *cell {
	cs := r.cells[key]
	if cs == nil {
		cs = make([]*cell, len(r.cfg.Seeds))
		r.cells[key] = cs
		if !slices.Contains(r.order[key.table], key.model) {
			r.order[key.table] = append(r.order[key.table], key.model)
		}
	}
	if cs[si] == nil {
		cs[si] = newCell(&r.cfg, dom, v, rankingOnly)
	}
	return cs[si]
}

// evalModel runs every protocol for one scorer and every seed.
func (r *runner) evalModel(m *entry) error {
	var warmRes []caseResult
	for si, seed := range r.cfg.Seeds {
		sc := m.scorers[si]
		if m.lodoDomain != "" {
			cases := r.coldCases(r.data.Test, seed, m.lodoDomain, []int{r.cfg.SupportK}, false, false)
			res, err := r.eng.runAll(sc, m.own, cases)
			if err != nil {
				return err
			}
			if err := r.consume(m, m.name, si, tableCold, "", cases, res, func(*userCase) []string { return []string{tableLODO} }); err != nil {
				return err
			}
			continue
		}
		// Cold start: meta-test users over the support sizes of the curve.
		cases := r.coldCases(r.data.Test, seed, "", r.cfg.evalKs(), true, false)
		res, err := r.eng.runAll(sc, m.own, cases)
		if err != nil {
			return err
		}
		err = r.consume(m, m.name, si, tableCold, "", cases, res, func(c *userCase) []string {
			if len(c.views) == 3 {
				return []string{tableCold, stateNewUser, stateBothNew}
			}
			return []string{tableCold}
		})
		if err != nil {
			return err
		}
		// Warm users (warm.arrow): the warm and new-item states. Their
		// split is never re-drawn, so a scorer shared by several seeds
		// scores them once.
		cases = r.warmCases()
		if si > 0 && sameScorer(sc, m.scorers[si-1]) && warmRes != nil {
			res = warmRes
		} else if res, err = r.eng.runAll(sc, m.own, cases); err != nil {
			return err
		}
		warmRes = res
		if err := r.consume(m, m.name, si, "warm", "", cases, res, func(*userCase) []string { return []string{"", stateWarm, stateNewItem} }); err != nil {
			return err
		}
		// Cross-domain cold start on the pairs that share users.
		for _, set := range r.data.Cross {
			variants := []struct {
				name  string
				cross bool
			}{{m.name, true}}
			if _, ok := sc.(recommend.CrossScorer); ok {
				variants = append(variants, struct {
					name  string
					cross bool
				}{m.name + noSource, false})
			}
			for _, v := range variants {
				cases := r.coldCases(set.Test, seed, "", r.cfg.CrossKs, false, v.cross)
				res, err := r.eng.runAll(sc, m.own, cases)
				if err != nil {
					return err
				}
				table := crossPrefix + set.Name
				if err := r.consume(m, v.name, si, table, set.Name, cases, res, func(*userCase) []string { return []string{table} }); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sameScorer reports whether a and b are one scorer (equal comparable
// values, in practice the same pointer); a non-comparable scorer never is.
func sameScorer(a, b recommend.Scorer) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta != nil && ta.Comparable() && a == b
}
