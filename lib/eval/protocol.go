package eval

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/crossrec/crossrec/lib/metrics"
	"github.com/crossrec/crossrec/lib/recommend"
	"github.com/crossrec/crossrec/lib/tasks"
)

// view is the part of the catalogue a ranking is over. The MeLU states
// (Lee et al., KDD 2019) split items by whether any meta-train user saw
// them: a warm-item state ranks the domain's warm items and is judged on
// warm query items, a new-item state the same with cold items.
type view uint8

const (
	viewAll       view = iota // the whole catalogue
	viewWarmItems             // items some train.arrow row has
	viewColdItems             // items no train.arrow row has
)

func (v view) keeps(cold bool) bool {
	switch v {
	case viewWarmItems:
		return !cold
	case viewColdItems:
		return cold
	}
	return true
}

// userCase is one user scored once: what the model adapts on, what is left
// out of the ranking, and what the ranking is judged on.
type userCase struct {
	ep      int // episode index in its file: pairs users across models and seeds
	user    string
	domain  int32
	k       int
	support []tasks.Rated // what the scorer adapts on (a prefix of the pool)
	exclude []tasks.Rated // never ranked: the whole support pool, or a warm user's history
	query   []tasks.Rated
	rel     []bool // relevance of each query item
	cross   bool   // call ScoreCross when the scorer has it
	srcDom  int32
	source  []tasks.Rated
	views   []view // rankings to compute; views[0] is always viewAll
	// ranks: compute every query item's rank in views[0] (for the
	// predictions artifact; the metrics need only the top of the list)
	ranks bool
}

// viewResult is a case's ranking within one view.
type viewResult struct {
	top        []int32   // best items, best first (at most topN)
	topScore   []float32 // their ranking scores
	topPred    []float32 // their predictions (views[0] only)
	qRank      []int32   // per query item: 1-based rank in the view (views[0] only, when ranks is set)
	relevant   int       // relevant query items in the view
	inView     int       // query items in the view
	candidates int       // items ranked
}

// caseResult is a case's outcome: the scores of its query items and one
// ranking per requested view.
type caseResult struct {
	qScore     []float32 // predictions of the query items
	qRankScore []float32 // their ranking scores
	views      []viewResult
}

// engine ranks cases. Every model, baseline or trained, goes through the
// same code: candidates are the domain's whole catalogue minus the excluded
// items, never a sample, and the same ordering rule (metrics.Better).
type engine struct {
	data *Data
	topN int
}

type scratch struct {
	excl  []bool
	cands []int32
	vc    []int32
	vs    []float32
	qp    []int
	top   []int
}

func (e *engine) newScratch() *scratch {
	n := 0
	for _, d := range e.data.Domains {
		n = max(n, d.Items)
	}
	return &scratch{excl: make([]bool, n)}
}

// score calls the scorer and returns its predictions and the scores the
// ranking is by: a recommend.Ranker's own ranking scores, else the
// predictions. Candidates are copied for scorers the harness does not
// own, so a model that keeps or reorders its input cannot corrupt the
// ranking.
func score(sc recommend.Scorer, c *userCase, cands []int32, own bool) (pred, rank []float32, err error) {
	if !own {
		cands = slices.Clone(cands)
	}
	if c.cross {
		if cr, ok := sc.(recommend.CrossRanker); ok {
			return cr.ScoreCrossRank(c.srcDom, c.source, c.domain, c.support, cands)
		}
		if cs, ok := sc.(recommend.CrossScorer); ok {
			pred, err = cs.ScoreCross(c.srcDom, c.source, c.domain, c.support, cands)
			return pred, pred, err
		}
	}
	if r, ok := sc.(recommend.Ranker); ok {
		return r.ScoreRank(c.domain, c.support, cands)
	}
	pred, err = sc.Score(c.domain, c.support, cands)
	return pred, pred, err
}

// run scores one case and ranks it in each view.
func (e *engine) run(sc recommend.Scorer, own bool, c *userCase, s *scratch) (caseResult, error) {
	views := c.views
	dom := &e.data.Domains[c.domain]
	for _, x := range c.exclude {
		s.excl[x.Item] = true
	}
	cands := s.cands[:0]
	for i := range dom.Items {
		if !s.excl[i] {
			cands = append(cands, int32(i))
		}
	}
	s.cands = cands
	for _, x := range c.exclude {
		s.excl[x.Item] = false
	}
	preds, scores, err := score(sc, c, cands, own)
	if err != nil {
		return caseResult{}, fmt.Errorf("user %q of %s: %w", c.user, dom.Name, err)
	}
	if len(scores) != len(cands) || len(preds) != len(cands) {
		return caseResult{}, fmt.Errorf("user %q of %s: %d predictions and %d ranking scores for %d candidates", c.user, dom.Name, len(preds), len(scores), len(cands))
	}
	for _, vs := range [][]float32{preds, scores} {
		for j, v := range vs {
			if !(v >= -math.MaxFloat32 && v <= math.MaxFloat32) { // NaN or ±Inf
				return caseResult{}, fmt.Errorf("user %q of %s: score %v for item %d", c.user, dom.Name, v, cands[j])
			}
		}
	}
	res := caseResult{qScore: make([]float32, len(c.query)), qRankScore: make([]float32, len(c.query)), views: make([]viewResult, len(views))}
	for i, x := range c.query {
		j, ok := slices.BinarySearch(cands, x.Item)
		if !ok {
			return caseResult{}, fmt.Errorf("user %q of %s: query item %d is excluded from the ranking", c.user, dom.Name, x.Item)
		}
		res.qScore[i], res.qRankScore[i] = preds[j], scores[j]
	}
	for vi, v := range views {
		vc, vs := cands, scores
		if v != viewAll {
			vc, vs = s.vc[:0], s.vs[:0]
			for j, it := range cands {
				if v.keeps(dom.Cold[it]) {
					vc = append(vc, it)
					vs = append(vs, scores[j])
				}
			}
			s.vc, s.vs = vc, vs
		}
		r := viewResult{qRank: make([]int32, len(c.query)), candidates: len(vc)}
		qp, qi := s.qp[:0], make([]int, 0, len(c.query))
		for i, x := range c.query {
			if !v.keeps(x.Cold) {
				continue
			}
			j, _ := slices.BinarySearch(vc, x.Item)
			qp, qi = append(qp, j), append(qi, i)
			r.inView++
			if c.rel[i] {
				r.relevant++
			}
		}
		s.qp = qp
		s.top = metrics.TopN(vs, vc, e.topN, s.top)
		r.top = make([]int32, len(s.top))
		r.topScore = make([]float32, len(s.top))
		for t, p := range s.top {
			r.top[t], r.topScore[t] = vc[p], vs[p]
		}
		if vi == 0 { // vc is cands: positions index preds too
			r.topPred = make([]float32, len(s.top))
			for t, p := range s.top {
				r.topPred[t] = preds[p]
			}
		}
		if vi == 0 && c.ranks {
			for t, rank := range metrics.Ranks(vs, vc, qp) {
				r.qRank[qi[t]] = rank
			}
		}
		res.views[vi] = r
	}
	return res, nil
}

// runAll scores every case, in parallel when the scorer allows it; results
// are stored by case index, so their order, and every sum taken over them
// afterwards, does not depend on scheduling.
func (e *engine) runAll(sc recommend.Scorer, own bool, cases []userCase) ([]caseResult, error) {
	out := make([]caseResult, len(cases))
	workers := 1
	if c, ok := sc.(Concurrent); ok && c.Concurrent() {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(cases))
	var failed atomic.Bool
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := e.newScratch()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(cases) {
					return
				}
				r, err := e.run(sc, own, &cases[i], s)
				if err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				out[i] = r
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
